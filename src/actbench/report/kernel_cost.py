"""Report for `kernel_cost`: each activation's time relative to ReLU in the compute-bound and
the memory-bound regime, its fraction of the copy roofline, and the numbers the cost claims
are decided on.

The replicate is the block (fresh tensors, its own stretch of the run): each block's
estimate is the geometric mean of its paired rounds, and the 95 % interval is the t-interval
on the log of the block estimates. A file from the one-block design (no ``block`` column)
falls back to the paired interval over rounds, with a note that it is as firm as one run.

Writes ``tables/kernel_cost-machines.md`` (one content tab per machine) for docs/kernels.md.
Rows whose interval lies wholly above the copy bandwidth out of cache are physically
implausible (Methodology): they are flagged ``within_roofline = false`` and the claims
that read the memory-bound regime do not use them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats as st

from actbench import activations
from actbench import measurement as ms
from actbench.report.common import WIDTH_IN, copy_figure, markdown_table, save_figure
from actbench.report.kernels import _indent, claimed_relative_costs, tab_figure
from actbench.results import atomic_write_text, read_parquet
from actbench.verdicts import fmt

STUDY = "kernel_cost"
REGIMES = ("compute-bound", "memory-bound")
BASELINE, COPY, RELU_OUT = "relu", "copy", "relu_aten_out"
MODE_METRIC = {"forward": "fwd_time_ratio_vs_relu", "forward+backward": "fwd_bwd_time_ratio_vs_relu"}
# Head-to-head ratios the claims make (a over b), besides every activation over ReLU.
PAIRS = (("silu", "hardswish"), ("gelu", "gelu_tanh"), ("mish", "gelu"))
ABOVE_COPY = 1.05  # a copy fraction whose interval lies wholly above this is implausible out of cache


def by_round(df: pd.DataFrame, activation: str, mode: str) -> pd.Series:
    sel = df[(df["activation"] == activation) & (df["mode"] == mode)]
    return sel.set_index("round")["median_s"]


def paired(a: pd.Series, b: pd.Series) -> tuple[pd.Series, pd.Series]:
    both = pd.concat([a.rename("a"), b.rename("b")], axis=1, join="inner").dropna()
    return both["a"], both["b"]


def within_block(df: pd.DataFrame) -> dict[tuple[str, str, str], ms.Measurement]:
    """(activation, quantity, mode) -> paired measurement over the rounds of one block."""
    out = {}
    copy = by_round(df, COPY, COPY)
    numel, size = int(df["numel"].iloc[0]), int(df["element_size"].iloc[0])
    for mode, metric in MODE_METRIC.items():
        relu = by_round(df, BASELINE, mode)
        for act in dict.fromkeys(df.loc[df["mode"] == mode, "activation"]):
            t = by_round(df, act, mode)
            if act != BASELINE and len(relu):
                out[(act, metric, mode)] = ms.ratio_of_paired(*paired(t, relu))
            t_act, t_copy = paired(t, copy)
            moved = df.loc[(df["activation"] == act) & (df["mode"] == mode), "bytes_moved"].iloc[0]
            # fraction of copy bandwidth = (bytes / t) / (2·N·s / t_copy)
            out[(act, "copy_fraction", mode)] = ms.scaled(ms.ratio_of_paired(t_copy, t_act), moved / (2 * numel * size))
    for a, b in PAIRS:
        for mode, metric in MODE_METRIC.items():
            t_a, t_b = paired(by_round(df, a, mode), by_round(df, b, mode))
            if len(t_a):
                out[(a, metric.replace("_vs_relu", f"_vs_{b}"), mode)] = ms.ratio_of_paired(t_a, t_b)
    relu_out, relu_fwd = paired(by_round(df, RELU_OUT, "forward"), by_round(df, BASELINE, "forward"))
    if len(relu_out):
        out[(RELU_OUT, "time_ratio_vs_clamp_min", "forward")] = ms.ratio_of_paired(relu_out, relu_fwd)
    return out


def across_blocks(per_block: list[dict]) -> dict[tuple[str, str, str], ms.Measurement]:
    """Each quantity's block estimates -> geometric mean with the t-interval over blocks."""
    keys = [k for k in per_block[0] if all(k in b for b in per_block)]
    rounds = per_block[0][keys[0]].n if keys else 0
    note = f"across {len(per_block)} blocks (fresh tensors each), each the geometric mean of {rounds} paired rounds"
    out = {}
    for k in keys:
        values = [b[k].estimate for b in per_block]
        m = ms.geo_mean_of(values, note=note)
        if "_vs_" in k[1] and m.n and m.n > 1:  # a ratio: the t-test of its log against 0 (no difference)
            m = replace(m, p=float(st.ttest_1samp(np.log(values), 0.0).pvalue))
        out[k] = m
    return out


def regime_measurements(df: pd.DataFrame) -> dict[tuple[str, str, str], ms.Measurement]:
    """(activation, quantity, mode) -> Measurement for one regime of one machine."""
    if "block" in df.columns and df["block"].nunique() >= 2:
        out = across_blocks([within_block(blk) for _, blk in df.groupby("block", sort=True)])
    else:  # the one-block design: rounds are the only replicates
        out = {k: replace(m, note="one block: paired rounds share their buffers, so this interval is as firm as "
                                  "one run (narrower than the spread between runs)")
               for k, m in within_block(df).items()}
    # "ReLU is the fastest": the cheapest other activation against ReLU (its own interval)
    for mode, metric in MODE_METRIC.items():
        others = {k: m for k, m in out.items() if k[1] == metric and k[2] == mode and k[0] not in (COPY, RELU_OUT)}
        if others:
            (act, _, _), cheapest = min(others.items(), key=lambda kv: kv[1].estimate)
            out[("min_other", metric, mode)] = replace(cheapest, note=f"the cheapest other activation: {act}")
    return out


def claimed_costs() -> dict[str, float]:
    """activation -> the §2.2 table's relative cost (claims.yaml), for the table and figure."""
    return {act: by_section["2.2"] for act, by_section in claimed_relative_costs().items() if "2.2" in by_section}


def record(df: pd.DataFrame, hw: str, book, source: str) -> dict[str, dict]:
    """Record every regime's numbers; return regime -> measurements for the table."""
    add = lambda key, value, fmt=".3g", **kw: book.add(f"{STUDY}.{hw}.{key}", value, fmt=fmt, source=source,  # noqa: E731
                                                       hw=hw, **kw)
    tables = {}
    for regime in [r for r in REGIMES if r in set(df["regime"])]:
        sub = df[df["regime"] == regime]
        found = regime_measurements(sub)
        tables[regime] = found
        add(f"{regime}.log2_numel", int(sub["log2_numel"].iloc[0]), "d", exact=True)
        add(f"{regime}.threads", int(sub["threads"].iloc[0]), "d", exact=True)
        add(f"{regime}.rounds", int(sub["round"].nunique()), "d", exact=True)
        add(f"{regime}.blocks", int(sub["block"].nunique()) if "block" in sub.columns else 1, "d", exact=True)
        add(f"{regime}.mib_per_tensor", float(sub["numel"].iloc[0] * sub["element_size"].iloc[0] / 2**20), ".3g")
        for (act, quantity, mode), m in found.items():
            suffix = "" if quantity != "copy_fraction" else f".{'fwd' if mode == 'forward' else 'fwd_bwd'}"
            add(f"{regime}.{act}.{quantity}{suffix}", m, ".3g")
        if regime == "memory-bound":
            for act in dict.fromkeys(sub["activation"]):
                fracs = [found[k] for k in found if k[0] == act and k[1] == "copy_fraction"]
                above = [f for f in fracs if f.ci_low > ABOVE_COPY]
                add(f"{regime}.{act}.within_roofline", not above, exact=True)
                add(f"{regime}.{act}.within_roofline.why",
                    "within the copy roofline" if not above else
                    f"its fraction of copy bandwidth {fmt(above[0].estimate)} [{fmt(above[0].ci_low)}, "
                    f"{fmt(above[0].ci_high)}] lies above {ABOVE_COPY}: physically implausible out of cache, "
                    "so the timing is excluded")
    return tables


def table(found: dict, regime: str, claimed: dict[str, float], providers: dict[str, str]) -> pd.DataFrame:
    rows = []
    acts = list(dict.fromkeys(k[0] for k in found if k[0] not in (COPY, RELU_OUT, "min_other")))
    for act in acts:
        fwd = found.get((act, MODE_METRIC["forward"], "forward"))
        fb = found.get((act, MODE_METRIC["forward+backward"], "forward+backward"))
        cf = found.get((act, "copy_fraction", "forward+backward"))
        text = lambda m: "1 (baseline)" if act == BASELINE else ("–" if m is None else  # noqa: E731
                                                                 f"{fmt(m.estimate, 3)} [{fmt(m.ci_low, 3)}, {fmt(m.ci_high, 3)}]")
        row = {"activation": act, "kernel": providers.get(act, "–"), "forward / ReLU [95% CI]": text(fwd),
               "fwd+bwd / ReLU [95% CI]": text(fb), "tutorial §2.2": claimed.get(act, "–")}
        if regime == "memory-bound" and cf is not None:
            row["fwd+bwd % of copy"] = f"{100 * cf.estimate:.0f}"
        rows.append(row)
    return pd.DataFrame(rows)


def figure(tables: dict, claimed: dict[str, float], df: pd.DataFrame, path: Path) -> None:
    """Forward + backward time over ReLU's per activation (registry colour), both regimes side
    by side on one log axis (ratios), the tutorial's §2.2 figure as a black cross."""
    regimes = list(tables)
    metric = MODE_METRIC["forward+backward"]
    acts = [k[0] for k in tables[regimes[0]] if k[1] == metric and k[0] != "min_other"]
    acts = sorted(dict.fromkeys(acts), key=lambda a: tables[regimes[0]][(a, metric, "forward+backward")].estimate)
    fig, axes = plt.subplots(1, len(regimes), figsize=(WIDTH_IN, 0.28 * len(acts) + 1.4), squeeze=False,
                             sharey=True, sharex=True)
    rows = []
    for ax, regime in zip(axes[0], regimes):
        found = tables[regime]
        for i, act in enumerate(acts):
            m = found.get((act, metric, "forward+backward"))
            if m is None:
                continue
            ax.errorbar([m.estimate], [i], xerr=[[m.estimate - m.ci_low], [m.ci_high - m.estimate]], fmt="o",
                        color=activations.colour(act, "#555555"), capsize=3)
            if act in claimed:
                ax.plot([claimed[act]], [i], "x", color="black", ms=7)
            rows.append({"regime": regime, "activation": act, "ratio_vs_relu": m.estimate, "ci_low": m.ci_low,
                         "ci_high": m.ci_high, "tutorial_ratio": claimed.get(act, np.nan)})
        ax.axvline(1.0, color="black", lw=0.8)
        ax.set_yticks(np.arange(len(acts)), [activations.label(a) for a in acts])
        ax.set_xscale("log")  # ratios: 2x slower and 2x faster are the same distance from 1
        ax.set_xlabel("fwd + bwd time / ReLU's")
        ax.set_title(regime)
    handles = [plt.Line2D([], [], marker="o", ls="", color="#555555", label="measured, 95 % interval"),
               plt.Line2D([], [], marker="x", ls="", color="black", label="tutorial §2.2")]
    fig.legend(handles=handles, loc="upper center", ncol=2, frameon=False, bbox_to_anchor=(0.5, 1.0))
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    save_figure(fig, path, data=pd.DataFrame(rows), source=df)


def build(results_dir: Path, out_dir: Path, book) -> None:
    tabs = []
    claimed = claimed_costs()
    for path in sorted(Path(results_dir).glob(f"*/{STUDY}.parquet")):
        hw = path.parent.name
        if not book.use_machine(hw):
            continue
        df = read_parquet(path)
        source = f"results/{hw}/{STUDY}.parquet"
        if not tabs:  # the machine whose numbers the page's prose quotes
            book.add(f"{STUDY}.shown_hw", hw, source=source, hw=hw)
        tables = record(df, hw, book, source)
        providers = df.drop_duplicates("activation").set_index("activation")["provider"].to_dict()
        body = []
        for regime, found in tables.items():
            sub = df[df["regime"] == regime]
            blocks = int(sub["block"].nunique()) if "block" in sub.columns else 1
            body.append(f"**{regime}**: 2^{int(sub['log2_numel'].iloc[0])} float32 elements, "
                        f"{int(sub['threads'].iloc[0])} thread(s), {blocks} block(s) of {sub['round'].nunique()} "
                        "interleaved rounds; intervals across blocks.")
            body.append(markdown_table(table(found, regime, claimed, providers), digits=3))
        figure(tables, claimed, df, out_dir / "figures" / f"kernel-cost-{hw}.svg")
        if not tabs:  # the chapters show the first machine's chart under a fixed name
            copy_figure(out_dir / "figures", f"kernel-cost-{hw}", "kernel_cost")
        body.append(tab_figure(out_dir / "figures", f"kernel-cost-{hw}", f"Cost relative to ReLU on {hw}",
                               "Forward + backward time over ReLU's per activation, with the tutorial's §2.2 "
                               "figure (black cross)."))
        tabs.append(f'=== "{hw}"\n\n' + "".join(_indent(p) + "\n" for p in body))
    if tabs:
        atomic_write_text(out_dir / "tables" / "kernel_cost-machines.md", "".join(tabs))
