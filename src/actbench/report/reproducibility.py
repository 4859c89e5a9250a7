"""Do the timing studies reproduce? Numbers for the Methodology and Kernels pages.

A machine's folder may hold a second, later run of a timing study in
``results/<hw_id>/rerun/<study>.parquet`` (run by hand, alone, with the same settings:
``python -m actbench kernels --results /tmp/rerun ...`` then copy the file there). This
module compares it with the committed run exactly as ``python -m actbench rerun-check``
does and records, per quantity, how many same-run ratios moved by at most 10 % and the
median change, so that the pages state how far a single measurement can be trusted.

``rerun/kernel_cost.one-block.{first,second}.parquet`` are two runs of the earlier
one-block design of ``kernel_cost`` (15 rounds sharing one set of buffers); their
comparison (prefix ``kernel_cost.<hw>.rerun_one_block``) is the finding that made the
block the replicate, and stays on the pages as the reason.

``rerun/kernels.blocks.{first,second}.parquet`` are two runs of a subset of the sweep
timed in several blocks (the command is on the Kernels page): does replication make the
sweep's rows reproduce, and how many blocks would it take? Besides the counts above they
give, per size, the median half-width of the rows' 95 % intervals and the number of
blocks a row would need for two runs to agree within 10 % (:func:`blocks_needed`).

``rerun/kernel_cost.blocks10.{first,second}.parquet`` are two runs of ``kernel_cost``
with twice its default blocks (``--blocks 10``): what more replication buys the study
the cost claims are decided on.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd

from actbench import rerun
from actbench.claims import load_claims
from actbench.report.common import markdown_table
from actbench.results import atomic_write_text, hardware_ids, read_parquet

TOLERANCE = 0.10
# (study, prefix, first run, second run), paths relative to the machine's folder
PAIRS = (("kernels", "rerun", "kernels.parquet", "rerun/kernels.parquet"),
         ("kernel_cost", "rerun", "kernel_cost.parquet", "rerun/kernel_cost.parquet"),
         ("kernel_cost", "rerun_one_block", "rerun/kernel_cost.one-block.first.parquet",
          "rerun/kernel_cost.one-block.second.parquet"),
         ("kernels", "rerun_blocks", "rerun/kernels.blocks.first.parquet", "rerun/kernels.blocks.second.parquet"),
         ("kernel_cost", "rerun_blocks10", "rerun/kernel_cost.blocks10.first.parquet",
          "rerun/kernel_cost.blocks10.second.parquet"))


def block_sd(ci_low: pd.Series, ci_high: pd.Series, blocks: pd.Series) -> pd.Series:
    """The spread of one block on the log scale, from a row's 95 % t-interval across its k
    blocks (``kernels.combine_blocks``): ln(high/low) / 2 · sqrt(k) / t(0.975, k-1); NaN
    for a row of one block."""
    from scipy.stats import t as t_dist

    k = blocks.astype(float)
    return (np.log(ci_high / ci_low) / 2 * np.sqrt(k) / t_dist.ppf(0.975, (k - 1).clip(lower=1))).where(k >= 2)


def blocks_needed(ci_low: pd.Series, ci_high: pd.Series, blocks: pd.Series, tolerance: float = TOLERANCE) -> pd.Series:
    """Blocks a row would need for two runs to agree within ``tolerance`` 95 % of the time.

    Two runs of n blocks each differ (on the log scale) by sd · sqrt(2/n), with sd the
    spread of one block (:func:`block_sd`); that stays within ln(1 + tolerance) with 95 %
    probability when 1.96 · sd · sqrt(2/n) <= ln(1 + tolerance). (The symmetric band
    ±ln(1 + tolerance) is a little narrower than the check's |new/old - 1| <= tolerance,
    so the count errs high.) The model is that both runs' blocks are draws from one
    distribution; variation that a whole run shares is not in it, and the spread comes
    from a few blocks, so the count is an estimate for a typical row, and an optimistic
    one if such shared variation exists."""
    return np.ceil(2 * (1.96 * block_sd(ci_low, ci_high, blocks) / np.log1p(tolerance)) ** 2).clip(lower=1)


def _interval_count(df: pd.DataFrame, q: str) -> pd.Series:
    """Blocks behind each row's interval of ``q`` (older files: the row's block count)."""
    return df[f"{q}_ci_n"] if f"{q}_ci_n" in df.columns else df["blocks"]


def paired_intervals(pair: pd.DataFrame, old: pd.DataFrame, new: pd.DataFrame, q: str,
                     tolerance: float = TOLERANCE) -> pd.DataFrame:
    """The rows of ``pair`` (``rerun.compare``'s, for ``q``) that carry an interval in both
    runs, with each run's interval and block count, and ``p_within``: the chance that the
    two runs agree within ``tolerance`` if they differed only by the scatter of their
    blocks (normal on the log scale, a run's mean of k blocks having sd/sqrt(k)). Observed
    agreement well below it points at variation that a whole run shares."""
    from scipy.stats import norm

    low, high = f"{q}_ci_low", f"{q}_ci_high"
    sides = [df[rerun.KEY + [low, high]].assign(k=_interval_count(df, q)) for df in (old, new)]
    pair = pair.merge(sides[0], on=rerun.KEY).merge(sides[1], on=rerun.KEY, suffixes=("_old", "_new"))
    pair = pair[pair[f"{low}_old"].notna() & pair[f"{low}_new"].notna()].copy()
    sd = {r: block_sd(pair[f"{low}_{r}"], pair[f"{high}_{r}"], pair[f"k_{r}"]) for r in ("old", "new")}
    spread = np.sqrt(sum(sd[r] ** 2 / pair[f"k_{r}"] for r in sd))
    pair["p_within"] = 2 * norm.cdf(np.log1p(tolerance) / spread) - 1
    return pair


def record_block_intervals(pair: pd.DataFrame, old: pd.DataFrame, new: pd.DataFrame, prefix: str, add) -> None:
    """Per quantity and size, on the compared rows (``pair``) both runs timed in blocks: the
    median half-width of the rows' 95 % intervals and the median number of blocks a row
    would need (both runs' rows), the agreement expected from the blocks' scatter alone,
    and in how many (quantity, size) slices the runs agreed less often than that."""
    slices = []
    for q in rerun.DEFAULT_QUANTITIES:
        low, high = f"{q}_ci_low", f"{q}_ci_high"
        if low not in old.columns or low not in new.columns:
            continue
        rows = paired_intervals(pair[pair["quantity"] == q], old, new, q)
        for log2, grp in rows.groupby(rerun.log2_size(rows["numel"])):
            key = f"{prefix}.{q}.log2_{log2}"
            lows = pd.concat([grp[f"{low}_old"], grp[f"{low}_new"]])
            highs = pd.concat([grp[f"{high}_old"], grp[f"{high}_new"]])
            half = 100 * (np.sqrt(highs / lows) - 1)  # geometric half-width, in %
            need = blocks_needed(lows, highs, pd.concat([grp["k_old"], grp["k_new"]]))
            add(f"{key}.half_width_pct", float(half.median()), ".0f")
            add(f"{key}.blocks_needed", float(need.median()), ".0f")
            add(f"{key}.expected_within_pct", 100 * float(grp["p_within"].mean()), ".0f")
            slices.append(grp["within"].mean() < grp["p_within"].mean())
    if slices:
        add(f"{prefix}.slices", len(slices), "d")
        add(f"{prefix}.slices_below_expected", int(sum(slices)), "d")


def record_pair(grp: pd.DataFrame, prefix: str, add) -> None:
    """Rows compared, % within the tolerance, median |change| and % of overlapping intervals."""
    add(f"{prefix}.compared", len(grp), "d")
    add(f"{prefix}.within_pct", 100 * float(grp["within"].mean()), ".0f")
    add(f"{prefix}.median_change_pct", 100 * float(grp["change"].abs().median()), ".1f")
    if "overlap" in grp and grp["overlap"].notna().any():  # runs with intervals on both sides
        add(f"{prefix}.overlap_pct", 100 * float(grp["overlap"].mean()), ".0f")


NEAR_COPY = 0.6  # an activation at >= 60 % of the copy bandwidth is bound by memory like the copy and ReLU


def balance_shift(pair: pd.DataFrame, prefix: str, add) -> None:
    """How the out-of-cache ratios of two runs moved (``kernel_cost``'s memory-bound
    regime; the sweep's largest size), split by whether the
    activation runs near the copy bandwidth (memory-bound like ReLU) or well below it (its
    own arithmetic dominates even out of cache). Same-run ratios cancel a drift that slows
    every kernel alike; a change in the machine's balance of arithmetic to memory speed
    moves the second group against ReLU, all in one direction, which no replication within
    a run averages away. Records, per group, the rows, the median, smallest and largest
    change, and how many moved in the median's direction. (``add``: the book's ``add``
    with the pair's source.)"""
    if "regime" in pair.columns:  # kernel_cost
        mem, name = pair[pair["regime"] == "memory-bound"], "memory-bound"
    else:  # the sweep: its largest size, out of cache
        mem = pair[pair["numel"] == pair["numel"].max()]
        name = f"log2_{rerun.log2_size(mem['numel']).iloc[0]}" if len(mem) else "none"
    config = [c for c in rerun.KEY if c != "numel"]
    level = mem[mem["quantity"] == "copy_fraction"].set_index(config)["old"]
    for q in ("ratio_vs_relu", "copy_fraction"):
        rows = mem[mem["quantity"] == q].join(level.rename("copy_fraction_old"), on=config)
        rows = rows[rows["copy_fraction_old"].notna()]
        for group, part in rows.groupby(np.where(rows["copy_fraction_old"] >= NEAR_COPY, "near_copy", "below_copy")):
            key = f"{prefix}.{name}.{q}.{group}"
            median = float(part["change"].median())
            add(f"{key}.n", len(part), "d")
            for stat, value in (("median", median), ("min", part["change"].min()), ("max", part["change"].max())):
                add(f"{key}.{stat}_change_pct", 100 * float(value), "+.0f")
            add(f"{key}.same_direction", int((np.sign(part["change"]) == np.sign(median)).sum()), "d")


def cost_verdicts(df, hw: str) -> dict[str, str]:
    """claim id -> the verdict one ``kernel_cost`` run alone gives each cost claim, decided by
    the ledger's own rules on a scratch book holding only that run's numbers."""
    from actbench.report import kernel_cost
    from actbench.report.ledger import decide
    from actbench.report.numbers import NumberBook

    scratch = NumberBook()
    scratch.use_machine(hw)
    kernel_cost.record(df, hw, scratch, source="")
    return {c["id"]: decide(c, hw, scratch)["verdict"] for c in load_claims() if c["study"] == "kernel_cost"
            and c["rule"]["kind"] != "not_testable" and not c.get("context")}


def verdict_agreement(old, new, hw: str, label: str, book, source: str, out_dir: Path) -> None:
    """Do two runs decide the cost claims alike? Counts, and a table of the claims they split."""
    a, b = cost_verdicts(old, hw), cost_verdicts(new, hw)
    prefix = f"kernel_cost.{hw}.{label}.verdicts"
    same = [cid for cid in a if a[cid] == b.get(cid)]
    book.add(f"{prefix}.compared", len(a), "d", source=source, hw=hw, exact=True)
    book.add(f"{prefix}.agree", len(same), "d", source=source, hw=hw, exact=True)
    split = [{"claim": f"[{cid}](ledger.md#claim-{cid})", "first run": a[cid], "second run": b.get(cid, "–")}
             for cid in a if cid not in same]
    text = markdown_table(pd.DataFrame(split)) if split else "Both runs give every cost claim the same verdict.\n"
    atomic_write_text(out_dir / "tables" / f"kernel_cost-{label}-verdicts-{hw}.md", text)


def build(results_dir: Path, out_dir: Path, book) -> None:
    for hw in hardware_ids(results_dir):
        if not book.use_machine(hw):
            continue
        for study, label, first_name, second_name in PAIRS:
            first, second = results_dir / hw / first_name, results_dir / hw / second_name
            if not (first.exists() and second.exists()):
                continue
            old, new = read_parquet(first), read_parquet(second)
            pair = rerun.compare_cost(old, new, TOLERANCE) if study == "kernel_cost" else \
                rerun.compare(old, new, tolerance=TOLERANCE)
            source = f"{first} vs {second}"
            add = functools.partial(book.add, source=source, hw=hw, exact=True)
            prefix = f"{study}.{hw}.{label}"
            if study == "kernel_cost":
                verdict_agreement(old, new, hw, label, book, source, out_dir)
            balance_shift(pair, prefix, add)
            groups = pair.groupby(["regime", "quantity"]) if study == "kernel_cost" else pair.groupby("quantity")
            for key, grp in groups:
                record_pair(grp, f"{prefix}." + (".".join(key) if isinstance(key, tuple) else key), add)
            if study == "kernels":  # per size too: the DRAM size and the cache sizes behave differently
                for (q, log2), grp in pair.groupby(["quantity", rerun.log2_size(pair["numel"])]):
                    record_pair(grp, f"{prefix}.{q}.log2_{log2}", add)
                if all("blocks" in df.columns and df["blocks"].max() > 1 for df in (old, new)):
                    add(f"{prefix}.blocks", int(old["blocks"].max()), "d")
                    record_block_intervals(pair, old, new, prefix, add)
