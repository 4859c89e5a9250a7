"""Which machines the results come from: one row per results/<hw_id>/ folder, taken
from the provenance columns every parquet row carries (tables/machines.md)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from actbench.report.common import write_table
from actbench.results import hardware_ids, read_arrow

# Provenance columns shown, in order; GPU columns exist only for results taken with CUDA.
COLUMNS = {
    "hw_cpu_model": "CPU", "hw_logical_cores": "logical cores", "hw_ram_bytes": "RAM (GiB)",
    "hw_gpu_name": "GPU", "torch_version": "torch", "triton_version": "triton",
    "cuda_version": "CUDA", "project_commit": "commit",
}


def _provenance(path: Path) -> dict:
    """The provenance of a study file's last row (reads only those columns)."""
    table = read_arrow(path, columns=[*COLUMNS, "timestamp_utc"])
    if table.num_rows == 0:
        return {}
    return {c: table.column(c)[table.num_rows - 1].as_py() for c in table.column_names}


def build(results_dir: Path, out_dir: Path, book) -> None:
    rows = []
    for hw in hardware_ids(results_dir):
        folder = Path(results_dir) / hw
        studies = sorted(folder.glob("*.parquet"))
        if not studies or not book.use_machine(hw):
            continue
        latest = max((_provenance(p) for p in studies), key=lambda d: d.get("timestamp_utc") or "")
        row = {"machine": hw}
        for column, label in COLUMNS.items():
            value = latest.get(column)
            if column == "hw_ram_bytes" and value is not None:
                value = f"{value / 2**30:.0f}"
            row[label] = "–" if value is None else str(value)
        row["studies"] = str(len(studies))
        row["last run"] = (latest.get("timestamp_utc") or "–")[:10]  # the date is enough here
        rows.append(row)
    if not rows:
        return
    table = pd.DataFrame(rows)
    # Drop columns that say nothing on any machine (e.g. GPU on CPU-only results).
    table = table[[c for c in table.columns if (table[c] != "–").any()]]
    write_table(table, Path(out_dir) / "tables" / "machines.md")
