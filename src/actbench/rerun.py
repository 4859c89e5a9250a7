"""Does a timing study reproduce? Compare two runs of the same study on the same machine.

``python -m actbench rerun-check OLD.parquet NEW.parquet`` matches the rows of two runs
on the study's upsert key and reports, for the large sizes (at least ``--min-log2``
elements, where a timing is dominated by memory traffic rather than call overhead),
how far each new value is from the old one.

By default it compares the *same-run ratios*, the fraction of copy bandwidth and the
ratio to ReLU, because this VM's absolute memory bandwidth drifts by tens of percent
between runs while the ratios measured within one run do not; ``--quantities median_s``
compares absolute medians instead. Rows that were not timed in both runs (unavailable
providers, failed checks) are left out, and so are ratios that are 1 by construction
(the copy against itself, ReLU against itself). The kernel study promises that a rerun
reproduces the large-size ratios within 10 %; this is the command that checks it.

Two runs of ``kernel_cost`` (the study the cost claims are decided on) are compared per
regime: each ratio is the run's estimate as the report computes it (across the run's
blocks), and the summary also says for how many the two runs' 95 % intervals overlap.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pandas as pd

from actbench.results import read_parquet

# The kernel study's upsert key without hw_id (two runs of one machine share it anyway).
KEY = ["activation", "provider", "mode", "dtype", "numel", "threads"]
QUANTITIES = ("copy_fraction", "ratio_vs_relu", "median_s")
DEFAULT_QUANTITIES = ("copy_fraction", "ratio_vs_relu")
TRIVIAL = {"copy_fraction": ("copy",), "ratio_vs_relu": ("copy", "relu")}  # 1 by construction


def log2_size(numel: pd.Series) -> pd.Series:
    """log2 of each (power-of-two) element count."""
    return numel.map(lambda n: int(n).bit_length() - 1)


def _timed(df: pd.DataFrame, quantity: str, big: int) -> pd.DataFrame:
    rows = df[(df["numel"] >= big) & df[quantity].notna()]
    if "status" in rows:
        rows = rows[rows["status"] == "ok"]
    return rows[~rows["activation"].isin(TRIVIAL.get(quantity, ()))]


def compare(old: pd.DataFrame, new: pd.DataFrame, min_log2: int = 20, tolerance: float = 0.10,
            quantities=DEFAULT_QUANTITIES) -> pd.DataFrame:
    """One row per configuration and quantity timed in both runs at >= 2**min_log2
    elements: both values, their relative change (new/old - 1) and whether it is within
    ``tolerance``."""
    if not 0 < tolerance < 1:
        raise ValueError(f"tolerance must be between 0 and 1 (a fraction, 0.10 = 10 %), got {tolerance}")
    bad = [q for q in quantities if q not in QUANTITIES]
    if bad or not quantities:
        raise ValueError(f"unknown quantities {bad}; allowed: {', '.join(QUANTITIES)}")
    for name, df in (("old", old), ("new", new)):
        missing = [c for c in KEY + list(quantities) if c not in df.columns]
        if missing:
            raise ValueError(f"the {name} run has no column(s) {missing}: is it a kernel-timing result?")
    if old["hw_id"].nunique() > 1 or new["hw_id"].nunique() > 1 or set(old["hw_id"]) != set(new["hw_id"]):
        raise ValueError(f"runs from different machines ({sorted(set(old['hw_id']) | set(new['hw_id']))}) "
                         "say nothing about reproducibility: compare two runs of one machine")
    big = 2 ** min_log2
    frames = []
    for q in quantities:
        # runs timed in blocks carry a 95 % interval per ratio; older runs do not
        ci = [c for c in (f"{q}_ci_low", f"{q}_ci_high") if c in old.columns and c in new.columns]
        pair = _timed(old, q, big)[KEY + [q, *ci]].merge(_timed(new, q, big)[KEY + [q, *ci]], on=KEY,
                                                        suffixes=("_old", "_new"))
        pair = pair.rename(columns={f"{q}_old": "old", f"{q}_new": "new"}).assign(quantity=q)
        if len(ci) == 2:
            lo_old, hi_old, lo_new, hi_new = (pair[f"{q}_ci_{e}_{r}"] for r in ("old", "new") for e in ("low", "high"))
            both = lo_old.notna() & lo_new.notna()
            pair["overlap"] = ((lo_old <= hi_new) & (lo_new <= hi_old)).astype(float).where(both)  # 1, 0, or NaN
            pair = pair.drop(columns=[c for c in pair.columns if "_ci_" in c])
        frames.append(pair)
    pair = pd.concat(frames, ignore_index=True)
    pair["change"] = pair["new"] / pair["old"] - 1
    pair["within"] = pair["change"].abs() <= tolerance
    return pair.sort_values("change", key=lambda s: -s.abs()).reset_index(drop=True)


def compare_cost(old: pd.DataFrame, new: pd.DataFrame, tolerance: float = 0.10) -> pd.DataFrame:
    """Two runs of the ``kernel_cost`` study: per regime, every activation's ratio to ReLU
    and fraction of copy bandwidth (as the report computes them: across the run's blocks),
    side by side, with whether the two 95 % intervals overlap."""
    from actbench.report.kernel_cost import regime_measurements

    if not 0 < tolerance < 1:
        raise ValueError(f"tolerance must be between 0 and 1 (a fraction, 0.10 = 10 %), got {tolerance}")
    rows = []
    for regime in sorted(set(old["regime"]) & set(new["regime"])):
        a = regime_measurements(old[old["regime"] == regime])
        b = regime_measurements(new[new["regime"] == regime])
        for key in sorted(set(a) & set(b)):
            act, quantity, mode = key
            if act in ("copy", "min_other") or not ("ratio_vs_relu" in quantity or quantity == "copy_fraction"):
                continue
            m_old, m_new = a[key], b[key]
            rows.append({"regime": regime, "activation": act, "provider": "eager_out", "mode": mode, "dtype": "float32",
                         "numel": int(old.loc[old["regime"] == regime, "numel"].iloc[0]),
                         "threads": int(old.loc[old["regime"] == regime, "threads"].iloc[0]),
                         "quantity": quantity.replace("fwd_bwd_time_", "").replace("fwd_time_", ""),
                         "old": m_old.estimate, "new": m_new.estimate,
                         "overlap": m_old.ci_low <= m_new.ci_high and m_new.ci_low <= m_old.ci_high})
    pair = pd.DataFrame(rows)
    if pair.empty:
        return pair
    pair["change"] = pair["new"] / pair["old"] - 1
    pair["within"] = pair["change"].abs() <= tolerance
    return pair.sort_values("change", key=lambda s: -s.abs()).reset_index(drop=True)


def summary(pair: pd.DataFrame, tolerance: float, what: str = "large-size values") -> str:
    """A line per quantity; where the runs share several sizes, an indented line per size
    too (a cache-resident size and one out of cache reproduce differently)."""
    if pair.empty:
        return "no configuration was timed at a large size in both runs"
    lines = []
    for q, grp in pair.groupby("quantity", sort=False):
        lines.append(f"{q}: " + _line(grp, tolerance, what))
        sizes = log2_size(grp["numel"])
        if sizes.nunique() > 1:
            lines += [f"  at 2^{log2}: " + _line(part, tolerance, what) for log2, part in grp.groupby(sizes)]
    return "\n".join(lines)


def _line(grp: pd.DataFrame, tolerance: float, what: str) -> str:
    inside = int(grp["within"].sum())
    worst = grp.iloc[0]
    med = float(grp["change"].abs().median())
    return (f"{inside} of {len(grp)} {what} within {tolerance:.0%} "
            f"(median |change| {med:.1%}; worst {worst['change']:+.1%}: {worst['activation']} "
            f"{worst['provider']} {worst['mode']} {worst['dtype']} 2^{int(round(math.log2(worst['numel'])))} "
            f"{int(worst['threads'])} thread(s))" + _overlap(grp))


def _overlap(grp: pd.DataFrame) -> str:
    """"; 95 % intervals overlap for k of n" where both runs gave intervals, else ""."""
    if "overlap" not in grp.columns or grp["overlap"].isna().all():
        return ""
    known = grp["overlap"].dropna().astype(bool)
    return f"; 95 % intervals overlap for {int(known.sum())} of {len(known)}"


def add_subparser(sub) -> None:
    p = sub.add_parser("rerun-check", help="Compare two runs of the kernel study: do the large-size ratios reproduce?",
                       description=__doc__.split("\n\n")[1])
    p.add_argument("old", type=Path, help="the first run's parquet (e.g. a saved copy of kernels.parquet)")
    p.add_argument("new", type=Path, help="the rerun's parquet")
    p.add_argument("--min-log2", type=int, default=20, help="smallest size compared, as log2 of elements (default 20)")
    p.add_argument("--tolerance", type=float, default=0.10, help="allowed relative change (default 0.10)")
    p.add_argument("--quantities", nargs="+", choices=QUANTITIES, default=list(DEFAULT_QUANTITIES),
                   help="what to compare (default: the same-run ratios copy_fraction ratio_vs_relu)")
    p.add_argument("--show", type=int, default=10, help="print the N largest changes (default 10)")
    p.set_defaults(handler=run)


def run(args) -> None:
    old, new = read_parquet(args.old), read_parquet(args.new)
    if "regime" in old.columns and "regime" in new.columns:  # two kernel_cost runs
        pair = compare_cost(old, new, args.tolerance)
        if args.show and not pair.empty:
            print(pair.head(args.show).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        for regime, grp in pair.groupby("regime"):
            print(f"{regime}: " + summary(grp, args.tolerance, "values").replace("\n", f"\n{regime}: "))
        return
    pair = compare(old, new, args.min_log2, args.tolerance, args.quantities)
    if args.show and not pair.empty:
        print(pair.head(args.show).to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(summary(pair, args.tolerance))
