"""The data dictionary: what every column of every results file means.

For each study file found under results/<hw_id>/ this lists the columns (over every
machine's copy of the file), their stored types and their meanings, which come from one
place, ``src/actbench/columns.yaml``. The provenance columns every row carries are listed
once. Writes ``tables/data-dictionary-<study>.md`` per study,
``tables/data-dictionary-provenance.md`` and ``tables/data-dictionary.md`` (all of it, one
section per study), which docs/data-dictionary.md shows. Reads only the files' schemas.
"""

from __future__ import annotations

import functools
import re
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import yaml

from actbench.report.common import markdown_table
from actbench.results import atomic_write_text, is_provenance_column

COLUMNS_FILE = Path(__file__).resolve().parents[1] / "columns.yaml"
NO_MEANING = "(no meaning recorded: add one to src/actbench/columns.yaml)"
# Arrow's type names, as a reader of the tables would write them.
TYPE_NAMES = {"large_string": "string", "string": "string", "double": "float64", "float": "float32",
              "int64": "int64", "int32": "int32", "bool": "bool", "null": "empty (no value in any row)"}


@functools.cache
def meanings() -> dict:
    """{"shared": {column: meaning}, "studies": {study: {column: meaning}}}, checked."""
    data = yaml.safe_load(COLUMNS_FILE.read_text())
    if not isinstance(data, dict) or set(data) != {"shared", "studies"}:
        raise ValueError(f"{COLUMNS_FILE}: expected exactly the sections 'shared' and 'studies'")
    tables = {"shared": data["shared"], **{f"studies.{s}": t for s, t in data["studies"].items()}}
    for where, table in tables.items():
        for column, text in table.items():
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"{COLUMNS_FILE}: {where}.{column} needs a one-line meaning, got {text!r}")
    return data


def _match(table: dict, column: str) -> str | None:
    if column in table:
        return table[column]
    for name, text in table.items():  # names with <n>: one entry for a numbered family of columns
        if "<n>" in name and re.fullmatch(re.escape(name).replace(re.escape("<n>"), r"\d+"), column):
            return text
    return None


def meaning(study: str, column: str) -> str | None:
    """The column's meaning in that study's file (its own entry first, then the shared one)."""
    data = meanings()
    return _match(data["studies"].get(study) or {}, column) or _match(data["shared"], column)


def _type_name(arrow_type) -> str:
    name = str(arrow_type)
    return TYPE_NAMES.get(name, name)


def study_columns(results_dir: Path, use_machine=lambda hw: True) -> dict[str, dict[str, list[str]]]:
    """study -> column -> its types, over every machine's results/<hw_id>/<study>.parquet
    (columns in file order; a column only one machine has is still listed)."""
    studies: dict[str, dict[str, list[str]]] = {}
    for path in sorted(Path(results_dir).glob("*/*.parquet")):
        if not use_machine(path.parent.name):
            continue
        schema = pq.read_schema(path)
        columns = studies.setdefault(path.stem, {})
        for field in schema:
            types = columns.setdefault(field.name, [])
            name = _type_name(field.type)
            if name not in types:
                types.append(name)
    return dict(sorted(studies.items()))


def _unexplained(studies: dict[str, dict]) -> list[tuple[str, str]]:
    return [(study, column) for study, columns in studies.items() for column in columns
            if meaning(study, column) is None]


def missing_meanings(results_dir: Path) -> list[tuple[str, str]]:
    """(study, column) pairs in the results that columns.yaml does not explain."""
    return _unexplained(study_columns(results_dir))


def _table(study: str, columns: dict[str, list[str]]) -> pd.DataFrame:
    # Several types: machines or runs stored the column differently (e.g. int64 here, float64
    # where a missing value made pandas widen it).
    rows = [{"column": f"`{c}`", "type": " or ".join(types),
             "meaning": (meaning(study, c) or NO_MEANING).replace("|", "\\|")}  # |x| inside a table cell
            for c, types in columns.items()]
    return pd.DataFrame(rows, columns=["column", "type", "meaning"])


def build(results_dir: Path, out_dir: Path, book) -> None:
    studies = study_columns(results_dir, book.use_machine)
    if not studies:
        return
    tables = Path(out_dir) / "tables"
    provenance: dict[str, list[str]] = {}
    sections = []
    for study, columns in studies.items():
        own = {c: t for c, t in columns.items() if not is_provenance_column(c)}
        for c, types in columns.items():
            if is_provenance_column(c):
                provenance.setdefault(c, [])
                provenance[c] += [t for t in types if t not in provenance[c]]
        text = markdown_table(_table(study, own))
        atomic_write_text(tables / f"data-dictionary-{study}.md", text)
        sections.append(f"## `{study}` {{ #{study} }}\n\n`{study}.parquet`, {len(own)} columns plus the "
                        f"[provenance columns](#provenance).\n\n{text}")
    text = markdown_table(_table("", provenance))
    atomic_write_text(tables / "data-dictionary-provenance.md", text)
    sections.append("## Provenance columns { #provenance }\n\nEvery row of every file also carries these "
                    "(added when the row is written: machine, library versions, commit, time).\n\n" + text)
    atomic_write_text(tables / "data-dictionary.md", "\n".join(sections))
    unexplained = _unexplained(studies)
    if unexplained:
        print(f"report: {len(unexplained)} result column(s) without a meaning in {COLUMNS_FILE.name}: "
              + ", ".join(f"{s}.{c}" for s, c in unexplained), file=sys.stderr)
