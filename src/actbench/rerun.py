"""Does a timing study reproduce? Compare two runs of the same study on the same machine.

``python -m actbench rerun-check OLD.parquet NEW.parquet`` matches the rows of two runs
on the study's upsert key and reports, for the large sizes (at least ``--min-log2``
elements, where a timing is dominated by memory traffic rather than call overhead),
how far each new median is from the old one. The kernel study promises that a rerun
reproduces every large-size median within 10 %; this is the command that checks it.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pandas as pd

from actbench.results import read_parquet

# The kernel study's upsert key without hw_id (two runs of one machine share it anyway).
KEY = ["activation", "provider", "mode", "dtype", "numel", "threads"]


def compare(old: pd.DataFrame, new: pd.DataFrame, min_log2: int = 20, tolerance: float = 0.10) -> pd.DataFrame:
    """One row per configuration timed in both runs at >= 2**min_log2 elements: both
    medians, their relative change (new/old - 1) and whether it is within ``tolerance``."""
    if not 0 < tolerance < 1:
        raise ValueError(f"tolerance must be between 0 and 1 (a fraction, 0.10 = 10 %), got {tolerance}")
    for name, df in (("old", old), ("new", new)):
        missing = [c for c in KEY + ["median_s"] if c not in df.columns]
        if missing:
            raise ValueError(f"the {name} run has no column(s) {missing}: is it a kernel-timing result?")
    if old["hw_id"].nunique() > 1 or new["hw_id"].nunique() > 1 or set(old["hw_id"]) != set(new["hw_id"]):
        raise ValueError(f"runs from different machines ({sorted(set(old['hw_id']) | set(new['hw_id']))}) "
                         "say nothing about reproducibility: compare two runs of one machine")
    big = 2 ** min_log2
    pair = old[old["numel"] >= big][KEY + ["median_s"]].merge(
        new[new["numel"] >= big][KEY + ["median_s"]], on=KEY, suffixes=("_old", "_new"))
    pair["change"] = pair["median_s_new"] / pair["median_s_old"] - 1
    pair["within"] = pair["change"].abs() <= tolerance
    return pair.sort_values("change", key=lambda s: -s.abs()).reset_index(drop=True)


def summary(pair: pd.DataFrame, tolerance: float) -> str:
    if pair.empty:
        return "no configuration was timed at a large size in both runs"
    inside = int(pair["within"].sum())
    worst = pair.iloc[0]
    med = float(pair["change"].abs().median())
    return (f"{inside} of {len(pair)} large-size medians within {tolerance:.0%} "
            f"(median |change| {med:.1%}; worst {worst['change']:+.1%}: {worst['activation']} "
            f"{worst['provider']} {worst['mode']} {worst['dtype']} 2^{int(round(math.log2(worst['numel'])))} "
            f"{int(worst['threads'])} thread(s))")


def add_subparser(sub) -> None:
    p = sub.add_parser("rerun-check", help="compare two runs of a timing study: do large-size medians reproduce?")
    p.add_argument("old", type=Path, help="the first run's parquet (e.g. a saved copy of kernels.parquet)")
    p.add_argument("new", type=Path, help="the rerun's parquet")
    p.add_argument("--min-log2", type=int, default=20, help="smallest size compared, as log2 of elements (default 20)")
    p.add_argument("--tolerance", type=float, default=0.10, help="allowed relative change (default 0.10)")
    p.add_argument("--show", type=int, default=10, help="print the N largest changes (default 10)")
    p.set_defaults(handler=run)


def run(args) -> None:
    pair = compare(read_parquet(args.old), read_parquet(args.new), args.min_log2, args.tolerance)
    if args.show and not pair.empty:
        print(pair.head(args.show).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(summary(pair, args.tolerance))
