"""Which runs each study's results come from: tables/provenance-<study>.md, one row per
machine, read from the provenance columns every parquet row carries (hw_id,
timestamp_utc, project_commit).

Result pages show these through the ``provenance()`` macro (docs/macros.py), so the
machine, date and commit a page reports are never typed by hand. Every study of
actbench.studies.study_names() gets a table, with a "no results yet" row when no machine has
run it, so a page can name its studies before the pipeline has produced them.
Runs last in the report: a study's ``<study>.shown_hw`` number (the machine whose
results a page's prose quotes) marks that machine's row.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from actbench.report.common import write_table
from actbench.studies import study_names

COLUMNS = ("hw_id", "timestamp_utc", "project_commit")
HEADER = ("study", "machine", "run (UTC)", "commit", "rows")


def run_span(timestamps: pd.Series) -> str:
    """First and last timestamp as "YYYY-MM-DD HH:MM" (the second date only when it differs)."""
    stamps = pd.to_datetime(timestamps.dropna(), utc=True)
    if stamps.empty:
        return "–"
    first, last = stamps.min(), stamps.max()
    start = first.strftime("%Y-%m-%d %H:%M")
    if last.floor("min") == first.floor("min"):
        return start
    end = last.strftime("%H:%M") if last.date() == first.date() else last.strftime("%Y-%m-%d %H:%M")
    return f"{start} – {end}"


def commits(values: pd.Series) -> str:
    """The distinct commits, in order of first appearance ("-dirty": uncommitted changes)."""
    seen = [str(v) for v in dict.fromkeys(values.dropna())]
    return ", ".join(seen) or "–"


def study_rows(results_dir: Path, study: str, book) -> list[dict]:
    rows = []
    for path in sorted(Path(results_dir).glob(f"*/{study}.parquet")):
        hw = path.parent.name
        if not book.use_machine(hw):
            continue
        names = set(pq.read_schema(path).names)
        table = pq.read_table(path, columns=[c for c in COLUMNS if c in names]).to_pandas()
        rows.append({"study": f"`{study}`", "machine": f"`{hw}`", "hw": hw,
                     "run (UTC)": run_span(table["timestamp_utc"]) if "timestamp_utc" in table else "–",
                     "commit": commits(table["project_commit"]) if "project_commit" in table else "–",
                     "rows": str(len(table))})
    shown = book.get(f"{study}.shown_hw")
    if len(rows) > 1 and shown is not None:  # say which machine the prose quotes
        for row in rows:
            if row["hw"] == shown["value"]:
                row["machine"] += " (numbers in the text)"
    return [{k: v for k, v in row.items() if k != "hw"} for row in rows]


def build(results_dir: Path, out_dir: Path, book) -> None:
    for study in study_names():
        rows = study_rows(results_dir, study, book) or [
            {"study": f"`{study}`", "machine": "–", "run (UTC)": "no results yet", "commit": "–", "rows": "0"}]
        write_table(pd.DataFrame(rows, columns=list(HEADER)), Path(out_dir) / "tables" / f"provenance-{study}.md")
