"""Shared plotting and table helpers for the report modules."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: the report runs in CI and on cluster nodes
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from actbench.results import atomic_write_bytes, atomic_write_text  # noqa: E402
from actbench.verdicts import fmt  # noqa: E402

# Reproducible SVGs: fixed hash salt and no date, so unchanged figures give unchanged files.
matplotlib.rcParams.update({"svg.hashsalt": "actbench", "svg.fonttype": "none"})
sns.set_theme(style="whitegrid", context="notebook")


def save_figure(fig, path: Path) -> None:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format=Path(path).suffix.lstrip("."), bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def fmt_value(value, digits: int = 4) -> str:
    """A table cell: numbers with ``digits`` significant digits, never 0 for a non-zero
    value (1e-20 stays 1e−20), typographic minus; strings as they are."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return fmt(value, digits)


def markdown_table(df: pd.DataFrame, digits: int = 4) -> str:
    cols = list(df.columns)
    bad = [c for c in cols if "|" in str(c)]
    if bad:
        raise ValueError(f"column names {bad} contain '|', which breaks Markdown tables")
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, row in df.iterrows():
        lines.append("| " + " | ".join(fmt_value(row[c], digits) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def write_table(df: pd.DataFrame, path: Path, digits: int = 4) -> None:
    atomic_write_text(path, markdown_table(df, digits))


def machine_tables(results_dir: Path, study: str, book) -> dict[str, pd.DataFrame]:
    """hw_id -> that machine's table for a study (only machines the book reports)."""
    from actbench.results import read_parquet

    tables = {}
    for path in sorted(Path(results_dir).glob(f"*/{study}.parquet")):
        hw = path.parent.name
        if book.use_machine(hw):
            tables[hw] = read_parquet(path)
    return tables
