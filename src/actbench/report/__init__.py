"""Report step: results/ -> docs/generated/ (figures, Markdown tables, numbers.json, claims.json).

Cheap by design: no training, no timing. Each module in report_modules() has
``build(results_dir, out_dir, book)`` and skips quietly when its study has no results
yet (so a partial pipeline still renders); numbers it records go to numbers.json,
which the docs read through mkdocs-macros.

The output folder is replaced as a whole (``replace_folder``): the report builds into a
hidden sibling and swaps it in only when every module has succeeded, so a failing or
killed report leaves the previous folder as it was, never a mix of old and new files.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
from pathlib import Path

from actbench.report.numbers import NumberBook, json_safe
from actbench.results import ResultsError, atomic_write_text, hardware_ids

def report_modules() -> list:
    """The machines table, then each study's report module in study order (one module may
    render several studies: training renders exp1_mnist and gradient_flow), then the
    ledger, which reads every number the others recorded."""
    from actbench.studies import units

    studies = [u.report for u in units().values() if u.report]
    return ["actbench.report.machines", *dict.fromkeys(studies),
            "actbench.report.explorer",  # the explorer page's grid of registry values (needs no results)
            "actbench.report.reproducibility",  # a second run of a timing study, where one is committed
            "actbench.report.ledger", "actbench.report.ledger_table",  # the table renders claims.json
            "actbench.report.data_dictionary",
            "actbench.report.provenance"]  # last: marks the machine each study's prose quotes (<study>.shown_hw)


def check_results_folder(results_dir: Path, hw: str | None) -> None:
    """Refuse a results folder without the <hw_id>/<study>.parquet layout before any work.

    An empty folder, or one machine's folder passed instead of its parent, would otherwise
    give a site without numbers (and a confusing KeyError in the docs build).
    """
    layout = f"{results_dir}/<hw_id>/<study>.parquet"
    if not results_dir.is_dir():  # a mistyped --results would otherwise give an empty site
        raise ResultsError(f"results folder {results_dir} does not exist; pass --results with the folder "
                           "that holds <hw_id>/<study>.parquet (default: results)")
    if any(results_dir.glob("*.parquet")):
        raise ResultsError(f"results folder {results_dir} holds study files itself, as one machine's folder "
                           f"does; expected {layout}: pass --results {results_dir.parent}")
    known = hardware_ids(results_dir)
    if hw is not None and hw not in known:
        raise ResultsError(
            f"unknown hardware id {hw!r}; results exist for: {', '.join(known) or 'none'} (in {results_dir})"
        )
    if not any(any((results_dir / m).glob("*.parquet")) for m in ([hw] if hw else known)):
        where = f"{results_dir}/{hw}/<study>.parquet" if hw else layout
        raise ResultsError(f"results folder {results_dir} holds no results; expected {where}: "
                           "run the pipeline (`make`) or a study (e.g. `python -m actbench shapes`) first")


def replace_folder(new: Path, target: Path) -> None:
    """Put the complete folder ``new`` at ``target``, replacing what was there.

    Entries at the top of the old folder that ``new`` lacks were written by someone else
    (experiments.ipynb, by actbench.notebook) and are copied in first, so they survive.
    The two renames are each atomic; between them (microseconds) ``target`` is absent,
    which looks missing, not complete.
    """
    if target.exists():
        for entry in target.iterdir():
            if entry.name.startswith(".") or (new / entry.name).exists():
                continue
            if entry.is_dir():
                shutil.copytree(entry, new / entry.name, symlinks=True)
            else:
                shutil.copy2(entry, new / entry.name, follow_symlinks=False)
        old = target.with_name(f".{target.name}.{os.getpid()}.old.tmp")
        shutil.rmtree(old, ignore_errors=True)  # left by a killed report that had this pid
        os.replace(target, old)
        os.replace(new, target)
        shutil.rmtree(old)
    else:
        os.replace(new, target)


def run(args) -> None:
    results_dir, out_dir = Path(args.results), Path(args.out)
    check_results_folder(results_dir, args.hw)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # Hidden and ending in .tmp: mkdocs skips it (docs/ is its source folder), git ignores it.
    # Named by process id (mkdtemp's 0700 would hide the site's inputs from other users).
    staging = out_dir.parent / f".{out_dir.name}.{os.getpid()}.tmp"
    shutil.rmtree(staging, ignore_errors=True)  # left by a killed report that had this pid
    staging.mkdir()
    try:
        book = NumberBook(hw_filter=args.hw)
        for name in report_modules():
            build = name if callable(name) else importlib.import_module(name).build
            build(results_dir, staging, book)
        atomic_write_text(staging / "numbers.json",
                          json.dumps(json_safe(book.as_dict()), indent=1, sort_keys=True, allow_nan=False))
        replace_folder(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already after a successful swap
    print(f"report: {len(book)} numbers, machines: {', '.join(book.machines) or 'none'} -> {out_dir}")

