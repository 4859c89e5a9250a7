"""Report step: results/ -> docs/generated/ (figures, Markdown tables, numbers.json, claims.json).

Cheap by design: no training, no timing. Each module in REPORTS has
``build(results_dir, out_dir, book)`` and skips quietly when its study has no results
yet (so a partial pipeline still renders); numbers it records go to numbers.json,
which the docs read through mkdocs-macros.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from actbench.report.numbers import NumberBook, json_safe
from actbench.results import ResultsError, atomic_write_text, hardware_ids

REPORTS = [
    "actbench.report.shapes",
    "actbench.report.machines",
    "actbench.report.training",
    "actbench.report.dead_units",
    "actbench.report.necessity",
    "actbench.report.kernels",
    "actbench.report.kernel_cost",
    "actbench.report.training_step",
    "actbench.report.ablations",
    "actbench.report.ledger",
    "actbench.report.ledger_table",  # after the ledger: renders its claims.json
    "actbench.report.provenance",  # last: marks the machine each study's prose quotes (<study>.shown_hw)
]


def run(args) -> None:
    results_dir, out_dir = Path(args.results), Path(args.out)
    if not results_dir.is_dir():  # a mistyped --results would otherwise give an empty site
        raise ResultsError(f"results folder {results_dir} does not exist; pass --results with the folder "
                           "that holds <hw_id>/<study>.parquet (default: results)")
    known = hardware_ids(results_dir)
    if args.hw is not None and args.hw not in known:
        raise ResultsError(
            f"unknown hardware id {args.hw!r}; results exist for: {', '.join(known) or 'none'} (in {results_dir})"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    book = NumberBook(hw_filter=args.hw)
    for name in REPORTS:
        importlib.import_module(name).build(results_dir, out_dir, book)
    atomic_write_text(out_dir / "numbers.json",
                      json.dumps(json_safe(book.as_dict()), indent=1, sort_keys=True, allow_nan=False))
    print(f"report: {len(book)} numbers, machines: {', '.join(book.machines) or 'none'} -> {out_dir}")
