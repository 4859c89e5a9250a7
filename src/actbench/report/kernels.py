"""Report for the `kernels` study: per machine, time vs size per provider, bandwidth vs the
copy roofline, allocating vs preallocated, relative cost vs ReLU beside the tutorial's
tables; the tutorial's "1 billion activations on an A100" beside the physical floor.

Writes ``tables/kernels-machines.md``: one content tab per machine found in results/
(figures, tables and numbers inside), which docs/kernels.md includes, so a new machine
appears on the page without editing it.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from actbench import activations, devices
from actbench import measurement as ms
from actbench.claims import load_claims
from actbench.providers import CANONICAL, PREALLOCATED, PROVIDERS
from actbench.report.common import (WIDTH_IN, copy_figure, legend_below, markdown_table, panel_grid, save_figure,
                                    write_table)
from actbench.report.figure_block import figure_block, figure_meta
from actbench.results import atomic_write_text, read_parquet
from actbench.timing import ROOFLINE_TARGET_MIN_LOG2, ROOFLINE_TARGETS

STUDY = "kernels"
COPY = "copy"
BASELINE = "relu"
# CANONICAL (providers): what a PyTorch user runs, F.gelu etc.
# Columns of the cost-vs-ReLU table, and the providers held to the roofline targets with
# the compiling ones they are compared with: from the providers' declarations.
COST_COLUMNS = [n for n, p in PROVIDERS.items() if p.cost_column]
TARGETED = [n for n, p in PROVIDERS.items() if p.roofline_target]
COMPILED = [n for n, p in PROVIDERS.items() if p.compiles and not p.roofline_target]
TARGET_DTYPES = ("float32", "bfloat16")  # the dtypes the targets are stated for
CACHE_RESIDENT_LOG2 = 16
BILLION = 1e9

# HBM bandwidth in TB/s from NVIDIA's datasheets: "NVIDIA A100 Tensor Core GPU" datasheet
# (2021: 40GB 1,555 GB/s; 80GB SXM 2,039 GB/s), "NVIDIA H100 Tensor Core GPU" datasheet
# (H100 SXM 3.35 TB/s), NVIDIA H200 Tensor Core GPU datasheet (2024: 4.8 TB/s).
DATASHEET_TBPS = {"A100 40GB": 1.555, "A100 80GB SXM": 2.039, "H100 SXM": 3.35, "H200": 4.8}

# The tutorial's operation counts (its §2.2 table and the per-activation cost boxes of §3).
# Its claimed relative costs are read from claims.yaml, not repeated here.
TUTORIAL_OPS = {
    "2.2": {"relu": 2, "leaky_relu": 3, "tanh": 15, "sigmoid": 12, "elu": 10, "gelu": 25, "silu": 18},
    "3": {"sigmoid": 15, "tanh": 18, "leaky_relu": 3, "prelu": 4, "elu": 18, "gelu": 40, "gelu_tanh": 25,
          "silu": 25, "mish": 35},
}
ABOVE_COPY = 1.05  # fractions of copy bandwidth above this are counted on the page
MODE_SHORT = {"forward": "fwd", "backward": "bwd", "forward+backward": "fwd+bwd"}


# --- selections ---------------------------------------------------------------------------
def timed(df: pd.DataFrame) -> pd.DataFrame:
    return df[(df["status"] == "ok") & df["median_s"].notna()]


def reference_slice(df: pd.DataFrame) -> dict:
    """The slice the headline numbers come from: float32 (else the first dtype), the most
    threads, the largest size."""
    ok = timed(df)
    dtype = "float32" if (ok["dtype"] == "float32").any() else ok["dtype"].iloc[0]
    ok = ok[ok["dtype"] == dtype]
    return {"dtype": dtype, "threads": int(ok["threads"].max()), "numel": int(ok["numel"].max())}


def cell(df, **where) -> pd.DataFrame:
    mask = np.ones(len(df), dtype=bool)
    for k, v in where.items():
        mask &= (df[k] == v).to_numpy()
    return df[mask]


def claimed_relative_costs() -> dict[str, dict[str, float]]:
    """activation -> {tutorial section: claimed fwd+bwd cost relative to ReLU} from claims.yaml."""
    out: dict[str, dict[str, float]] = {}
    for claim in load_claims():
        metric = claim["metric"]
        if not metric.endswith(".fwd_bwd_time_ratio_vs_relu") or isinstance(claim["claimed"], (list, str)):
            continue
        # the cost claims are decided by kernel_cost ("<regime>.<activation>.<quantity>")
        if claim["study"] in (STUDY, "kernel_cost"):
            act = metric.split(".")[1 if claim["study"] == "kernel_cost" else 0]
            out.setdefault(act, {})[claim["section"]] = float(claim["claimed"])
    return out


def a100_claims() -> dict[str, float]:
    """The tutorial's A100 forward times for 1e9 values (ms): ReLU's time times each ratio."""
    relu_ms, ratios = None, {}
    for claim in load_claims():
        metric = claim["metric"]
        if claim["study"] != STUDY:
            continue
        if metric.endswith("relu.fwd_ms_floor:1e9"):
            relu_ms = float(claim["claimed"])
        elif metric.endswith(".fwd_time_ratio_vs_relu:1e9_fp32"):
            ratios[metric.split(".")[0]] = float(claim["claimed"])
    if relu_ms is None:
        return {}
    return {BASELINE: relu_ms, **{name: relu_ms * r for name, r in ratios.items()}}


# --- numbers for the ledger and the page ---------------------------------------------------
def record_numbers(df: pd.DataFrame, hw: str, book, source: str) -> None:
    ok = timed(df)
    ref = reference_slice(df)
    on_gpu = devices.any_gpu(ok["device"].unique())
    base = cell(ok, dtype=ref["dtype"], threads=ref["threads"], numel=ref["numel"])
    add = lambda key, value, fmt=".3g": book.add(f"{STUDY}.{hw}.{key}", value, fmt=fmt, source=source, hw=hw)  # noqa: E731
    add("reference.dtype", ref["dtype"])
    add("reference.threads", ref["threads"], "d")
    add("reference.log2_numel", int(np.log2(ref["numel"])), "d")
    add("timings", int(len(ok)), "d")
    add("blocks", int(ok["blocks"].max()) if "blocks" in ok.columns else 1, "d")  # runs before blocks: one
    add("noisy_pct", 100 * float(ok["noisy"].mean()), ".0f")
    above = ok[(ok["activation"] != COPY) & (ok["copy_fraction"] > ABOVE_COPY)]
    add("above_copy_pct", 100 * len(above) / max(len(ok), 1), ".0f")
    copy = cell(base, activation=COPY)
    if len(copy):
        add("copy_gbps", float(copy["copy_gbps"].iloc[0]), ".0f")
    eager = cell(base, provider=CANONICAL)
    for mode, metric in (("forward+backward", "fwd_bwd_time_ratio_vs_relu"), ("forward", "fwd_time_ratio_vs_relu")):
        for _, r in cell(eager, mode=mode).iterrows():
            add(f"{r['activation']}.{metric}", float(r["ratio_vs_relu"]), ".2f")
    for _, r in cell(base, mode="forward").iterrows():
        add(f"{r['activation']}.{r['provider']}.fwd_copy_pct", 100 * float(r["copy_fraction"]), ".0f")
    # Allocating (eager) over preallocated (eager_out) forward time: the page-fault lesson.
    alloc = cell(base, mode="forward").pivot_table(index="activation", columns="provider", values="median_s")
    if {CANONICAL, PREALLOCATED} <= set(alloc.columns):
        ratio = (alloc[CANONICAL] / alloc[PREALLOCATED]).dropna()
        if len(ratio):
            add("alloc_over_prealloc.median", float(ratio.median()), ".1f")
            add("alloc_over_prealloc.max", float(ratio.max()), ".1f")
    if on_gpu:  # the tutorial's A100 claims compare only with GPUs
        scale = BILLION / ref["numel"]
        for _, r in cell(eager, mode="forward").iterrows():
            if r["activation"] == BASELINE:
                add(f"{BASELINE}.fwd_ms:1e9_fp32", 1e3 * float(r["median_s"]) * scale, ".2f")
            add(f"{r['activation']}.fwd_time_ratio_vs_relu:1e9_fp32", float(r["ratio_vs_relu"]), ".2f")


# --- figures ------------------------------------------------------------------------------
def _log2_axis(ax) -> None:
    ax.set_xscale("log", base=2)


PROVIDER_GREYS = ("#000000", "#555555", "#999999", "#bbbbbb", "#dddddd")  # providers are not activations


def figure_time(df: pd.DataFrame, hw: str, ref: dict, path: Path) -> None:
    """Forward time against size, one small panel per activation, providers in greys."""
    same = cell(timed(df), dtype=ref["dtype"], threads=ref["threads"])
    sel, copy = cell(same, mode="forward"), cell(same, activation=COPY)
    acts = list(dict.fromkeys(sel["activation"]))
    providers = list(dict.fromkeys(sel["provider"]))
    styles = dict(zip(providers, PROVIDER_GREYS))
    fig, axes = panel_grid(len(acts), 4, 1.5, "elements", "forward time (s)", width=WIDTH_IN - 0.3, sharex=True,
                           sharey=True)
    for ax, act in zip(axes, acts):
        for provider, grp in cell(sel, activation=act).groupby("provider", sort=False):
            ax.plot(grp["numel"], grp["median_s"], marker=".", lw=1, color=styles[provider], label=provider)
        ax.plot(copy["numel"], copy["median_s"], color="black", ls="--", lw=1, label="copy")
        _log2_axis(ax)
        ax.set_yscale("log")
        ax.set_title(activations.label(act))
    fig.tight_layout()
    legend_below(fig, *axes[0].get_legend_handles_labels(), ncol=len(providers) + 1)
    points = pd.concat([sel, copy])[["activation", "provider", "mode", "numel", "median_s"]]
    save_figure(fig, path, data=points, source=df)


def figure_roofline(df: pd.DataFrame, hw: str, ref: dict, figures: Path) -> list[str]:
    """Effective bandwidth against size beside the copy roofline: one figure per provider
    (one panel per mode), activations in their registry colours. Returns the figure names."""
    sel = cell(timed(df), dtype=ref["dtype"], threads=ref["threads"])
    copy = cell(sel, activation=COPY)
    data = sel[sel["activation"] != COPY]
    modes = [m for m in MODE_SHORT if m in set(data["mode"])]
    names = []
    for provider in dict.fromkeys(data["provider"]):
        fig, axes = plt.subplots(1, len(modes), figsize=(WIDTH_IN, 3.0), sharex=True, sharey=True, squeeze=False)
        for ax, mode in zip(axes[0], modes):
            for name, grp in cell(data, provider=provider, mode=mode).groupby("activation", sort=False):
                ax.plot(grp["numel"], grp["gbps"], marker=".", lw=1, color=activations.colour(name, "#555555"),
                        label=activations.label(name))
            ax.plot(copy["numel"], copy["copy_gbps"], color="black", lw=2, ls="--", label="copy")
            _log2_axis(ax)
            ax.set_yscale("log")
            ax.set(title=MODE_SHORT[mode], xlabel="elements")
        axes[0][0].set_ylabel("effective GB/s")
        fig.tight_layout()
        legend_below(fig, *axes[0][0].get_legend_handles_labels(), ncol=5)
        points = pd.concat([cell(data, provider=provider), copy.assign(gbps=copy["copy_gbps"])])
        name = f"kernels-roofline-{hw}-{provider}"
        save_figure(fig, figures / f"{name}.svg", source=df,
                    data=points[["activation", "provider", "mode", "numel", "gbps"]])
        names.append(name)
    return names


def figure_allocation(df: pd.DataFrame, hw: str, ref: dict, path: Path) -> bool:
    sel = cell(timed(df), dtype=ref["dtype"], mode="forward")
    wide = sel[sel["provider"].isin([CANONICAL, PREALLOCATED])].pivot_table(
        index=["activation", "threads", "numel"], columns="provider", values="median_s")
    if not {CANONICAL, PREALLOCATED} <= set(wide.columns):
        return False
    ratio = (wide[CANONICAL] / wide[PREALLOCATED]).dropna().rename("ratio").reset_index()
    threads = list(dict.fromkeys(ratio["threads"]))
    fig, axes = plt.subplots(1, len(threads), figsize=(WIDTH_IN, 3.0), sharey=True, squeeze=False)
    for ax, t in zip(axes[0], threads):
        for act, grp in ratio[ratio["threads"] == t].groupby("activation", sort=False):
            ax.plot(grp["numel"], grp["ratio"], marker="o", ms=3, color=activations.colour(act, "#555555"),
                    label=activations.label(act))
        _log2_axis(ax)
        ax.axhline(1.0, color="black", lw=1, ls="--")
        ax.set(title=f"threads = {t}", xlabel="elements")
    axes[0][0].set_ylabel("allocating / preallocated time")
    fig.tight_layout()
    legend_below(fig, *axes[0][0].get_legend_handles_labels(), ncol=5)
    save_figure(fig, path, data=ratio, source=df)
    return True


def figure_relative_cost(table: pd.DataFrame, hw: str, path: Path, source: pd.DataFrame) -> None:
    """The tutorial's relative costs (black) beside the measured ones (registry colour): points
    on a log axis, since these are ratios (bars would start at an arbitrary 'zero')."""
    cols = [c for c in table.columns if c.startswith("claimed") or c.startswith("measured")]
    long = table.melt(id_vars="activation", value_vars=cols, var_name="source", value_name="cost vs ReLU").dropna()
    cols = [c for c in cols if c in set(long["source"])]  # a source without values gets no legend entry
    acts = list(dict.fromkeys(long["activation"]))
    markers = dict(zip(cols, ("x", "+", "o", "s", "D", "^")))
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 3.2))
    offsets = dict(zip(cols, np.linspace(-0.25, 0.25, len(cols))))
    for col in cols:
        sub = long[long["source"] == col]
        x = np.array([acts.index(a) for a in sub["activation"]]) + offsets[col]
        colours = ["black" if col.startswith("claimed") else activations.colour(a, "#555555") for a in sub["activation"]]
        ax.scatter(x, sub["cost vs ReLU"], marker=markers[col], c=colours, s=30, label=col)
    ax.axhline(1.0, color="black", lw=1)
    ax.set_yscale("log")
    ax.set_xticks(range(len(acts)), [activations.label(a) for a in acts], rotation=40, ha="right")
    ax.set_ylabel("fwd + bwd cost / ReLU's")
    fig.tight_layout()
    # proxies in grey: the plotted markers carry the activations' colours
    handles = [plt.Line2D([], [], marker=markers[c], ls="", color="black" if c.startswith("claimed") else "#555555")
               for c in cols]
    legend_below(fig, handles, cols, ncol=2)
    save_figure(fig, path, data=long, source=source)


# --- tables -------------------------------------------------------------------------------
def relative_cost_table(df: pd.DataFrame, ref: dict) -> pd.DataFrame:
    ok = cell(timed(df), dtype=ref["dtype"], threads=ref["threads"], mode="forward+backward")
    claimed = claimed_relative_costs()
    acts = [a for a in dict.fromkeys(ok["activation"]) if a != COPY]
    small = ok[ok["numel"] == 2**CACHE_RESIDENT_LOG2]
    rows = []
    for name in acts:
        row = {"activation": name,
               "ops (tutorial §2.2)": TUTORIAL_OPS["2.2"].get(name),
               "claimed (§2.2)": claimed.get(name, {}).get("2.2"),
               "ops (tutorial §3)": TUTORIAL_OPS["3"].get(name),
               "claimed (§3)": next((v for s, v in claimed.get(name, {}).items() if s.startswith("3")), None)}
        for provider in COST_COLUMNS:
            top = cell(ok, activation=name, provider=provider, numel=ref["numel"])
            if provider in set(ok["provider"]):
                row[f"measured {provider}, 2^{int(np.log2(ref['numel']))}"] = (
                    float(top["ratio_vs_relu"].iloc[0]) if len(top) else None)
        res = cell(small, activation=name, provider=CANONICAL)
        if len(small):
            row[f"measured eager, 2^{CACHE_RESIDENT_LOG2}"] = float(res["ratio_vs_relu"].iloc[0]) if len(res) else None
        rows.append(row)
    return pd.DataFrame(rows)


def _spread(r) -> str:
    ms = 1e3
    return f"{r['median_s'] * ms:.3g} [{r['p20_s'] * ms:.3g}–{r['p80_s'] * ms:.3g}]{' ⚠' if r['noisy'] else ''}"


def detail_table(df: pd.DataFrame, ref: dict) -> pd.DataFrame:
    ok = cell(timed(df), dtype=ref["dtype"], threads=ref["threads"], numel=ref["numel"])
    rows = []
    for (name, provider), grp in ok[ok["activation"] != COPY].groupby(["activation", "provider"], sort=False):
        row = {"activation": name, "provider": provider}
        by_mode = grp.set_index("mode")
        for mode, short in MODE_SHORT.items():
            if mode in by_mode.index:
                r = by_mode.loc[mode]
                row[f"{short} ms [p20–p80]"] = _spread(r)
                row[f"{short} % copy"] = 100 * float(r["copy_fraction"])
        if "forward+backward" in by_mode.index:
            row["fwd+bwd vs ReLU"] = float(by_mode.loc["forward+backward", "ratio_vs_relu"])
        rows.append(row)
    return pd.DataFrame(rows)


def copy_table(df: pd.DataFrame) -> pd.DataFrame:
    copy = timed(df)
    copy = copy[copy["activation"] == COPY]
    top = copy[copy["numel"] == copy["numel"].max()]
    return pd.DataFrame({"dtype": top["dtype"], "threads": top["threads"],
                         "elements": [f"2^{int(np.log2(n))}" for n in top["numel"]],
                         "copy ms [p20–p80]": [_spread(r) for _, r in top.iterrows()],
                         "copy GB/s": top["copy_gbps"]})


def gpu_target_table(df: pd.DataFrame) -> pd.DataFrame:
    """The roofline targets (timing.ROOFLINE_TARGETS) for the providers held to them (our
    Triton kernels), at the largest size >= 2^ROOFLINE_TARGET_MIN_LOG2, beside the
    compiling providers (torch.compile)."""
    ok = timed(df)
    ok = ok[(ok["numel"] >= 2**ROOFLINE_TARGET_MIN_LOG2) & ok["dtype"].isin(TARGET_DTYPES)]
    if not ok["provider"].isin(TARGETED).any():
        return pd.DataFrame()
    top = ok[ok["numel"] == ok["numel"].max()]
    rows = []
    for (name, dtype), grp in top[top["activation"] != COPY].groupby(["activation", "dtype"], sort=False):
        g = grp.set_index(["provider", "mode"])
        get = lambda p, m, c: float(g[c].get((p, m), np.nan))  # noqa: E731
        row = {"activation": name, "dtype": dtype}
        met = True
        for ours in TARGETED:
            fraction = {m: get(ours, m, "copy_fraction") for m in ROOFLINE_TARGETS}
            row.update({f"{ours} {MODE_SHORT[m]} % copy": 100 * f for m, f in fraction.items()})
            met &= all(fraction[m] >= target for m, target in ROOFLINE_TARGETS.items())
        row["target met"] = bool(met)
        for ours in TARGETED:
            for other in COMPILED:
                row.update({f"{ours}/{other} {MODE_SHORT[m]}": get(ours, m, "median_s") / get(other, m, "median_s")
                            for m in ROOFLINE_TARGETS})
        rows.append(row)
    return pd.DataFrame(rows)


def target_words() -> str:
    """The targets in words, e.g. 'forward ≥ 90 %, backward ≥ 85 %'."""
    return ", ".join(f"{mode} ≥ {100 * t:.0f} %" for mode, t in ROOFLINE_TARGETS.items())


def a100_floor() -> ms.Measurement:
    """The least time any A100 can take for an elementwise forward over 1e9 values: read
    and write every value once at the fastest A100's datasheet bandwidth, in the smallest
    floating-point type an activation is run in (2 bytes). The time lies in [floor, ∞)."""
    floor_ms = 2 * BILLION * 2 / (DATASHEET_TBPS["A100 80GB SXM"] * 1e12) * 1e3
    return ms.Measurement(floor_ms, floor_ms, math.inf, None, "physical lower bound",
                          note="A100 80GB SXM, 2.039 TB/s, 2 bytes per value read and written")


def billion_table(machines: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The tutorial's A100 times for 1e9 float32 values, the bandwidth floor on datasheet GPUs,
    and each machine's measured forward time extrapolated from its largest size."""
    claims = a100_claims()
    n_bytes = 2 * BILLION * 4  # forward: read 4 B and write 4 B per value
    rows = []
    for name, claimed_ms in claims.items():
        row = {"activation": name, "tutorial, A100 (ms)": claimed_ms}
        for gpu, tbps in DATASHEET_TBPS.items():
            row[f"floor {gpu} (ms)"] = n_bytes / (tbps * 1e12) * 1e3
        for hw, df in machines.items():
            ref = reference_slice(df)
            same = cell(timed(df), dtype="float32", threads=ref["threads"], numel=ref["numel"])
            best = cell(same, activation=name, mode="forward")
            copy = cell(same, activation=COPY)
            if len(best):
                scale = BILLION / ref["numel"]
                row[f"{hw}: best provider (ms)"] = 1e3 * float(best["median_s"].min()) * scale
                if len(copy):
                    row[f"{hw}: copy floor (ms)"] = 1e3 * float(copy["median_s"].iloc[0]) * scale
        rows.append(row)
    return pd.DataFrame(rows)


def _indent(text: str, spaces: int = 4) -> str:
    pad = " " * spaces
    return "\n".join(pad + line if line.strip() else "" for line in text.splitlines()) + "\n"


def tab_figure(figures: Path, name: str, alt: str, caption: str) -> str:
    """A figure in a machine's tab (kernels.md is at the top of docs/), with its data link."""
    return figure_block(figure_meta(figures, name), "generated/figures", alt, caption)


def machine_tab(hw: str, df: pd.DataFrame, out_dir: Path) -> str:
    """The Markdown of one machine's tab (figures and tables generated from its results)."""
    ref = reference_slice(df)
    figures = out_dir / "figures"
    figure_time(df, hw, ref, figures / f"kernels-time-{hw}.svg")
    rooflines = figure_roofline(df, hw, ref, figures)
    has_alloc = figure_allocation(df, hw, ref, figures / f"kernels-alloc-{hw}.svg")
    relative = relative_cost_table(df, ref)
    figure_relative_cost(relative, hw, figures / f"kernels-relative-{hw}.svg", df)
    ok = timed(df)
    device = devices.label_of(ok["device"].unique())
    method = ok["method"].iloc[0]
    above = ok[(ok["activation"] != COPY) & (ok["copy_fraction"] > ABOVE_COPY)]
    parts = [
        f"**{device}**, timed with `{method}`; {len(ok)} timings, "
        f"{100 * ok['noisy'].mean():.0f}% of them noisy (IQR/median > 10%, marked ⚠); "
        f"{len(above)} report more than {ABOVE_COPY:.0%} of the copy bandwidth. "
        f"Headline slice: {ref['dtype']}, threads = {ref['threads']} (0 = GPU), "
        f"2^{int(np.log2(ref['numel']))} elements.",
        "**Copy bandwidth (the roofline), largest size:**", markdown_table(copy_table(df)),
        tab_figure(figures, f"kernels-time-{hw}", f"Forward time vs size per provider on {hw}",
                   "Forward time against size, one panel per activation; greys: providers, dashed: copy."),
        *[tab_figure(figures, name, f"Effective bandwidth vs the copy roofline on {hw}",
                     f"Effective bandwidth of the `{name.rsplit('-', 1)[-1]}` provider against size, beside the "
                     "copy roofline (dashed).") for name in rooflines],
    ]
    if has_alloc:
        parts.append(tab_figure(figures, f"kernels-alloc-{hw}", f"Allocating over preallocated forward time on {hw}",
                                "Forward time of the allocating call over the preallocated (`out=`) one."))
    parts += [
        "**Forward+backward cost relative to ReLU**: the tutorial's operation counts and claimed "
        "relative costs beside the measured time ratios (same provider, dtype, size, threads):",
        markdown_table(relative, digits=3),
        tab_figure(figures, f"kernels-relative-{hw}", f"Relative cost vs ReLU on {hw}",
                   "Forward + backward time over ReLU's per activation (colour), one marker per provider and "
                   "size; the tutorial's values, where the claims give one, in black."),
    ]
    targets = gpu_target_table(df)
    if len(targets):
        missed = targets[~targets["target met"]]
        parts += [f"**Triton kernels against the targets** ({target_words()} of copy "
                  f"bandwidth at the largest size ≥ 2^{ROOFLINE_TARGET_MIN_LOG2}):",
                  markdown_table(targets, digits=3),
                  ("Missed: " + ", ".join(f"{r.activation} ({r.dtype})" for r in missed.itertuples()) + "."
                   if len(missed) else "Every activation meets both targets.")]
    details = markdown_table(detail_table(df, ref), digits=3)
    parts.append(f'??? note "Every provider at 2^{int(np.log2(ref["numel"]))} elements: median [p20–p80] '
                 f'and fraction of copy bandwidth"\n\n' + _indent(details))
    return f'=== "{hw}"\n\n' + "".join(_indent(p) + "\n" for p in parts)


def build(results_dir: Path, out_dir: Path, book) -> None:
    machines = {}
    for path in sorted(Path(results_dir).glob(f"*/{STUDY}.parquet")):
        hw = path.parent.name
        if not book.use_machine(hw):
            continue
        df = read_parquet(path)
        if timed(df).empty:
            continue
        machines[hw] = df
        record_numbers(df, hw, book, f"results/{hw}/{STUDY}.parquet")
    if not machines:
        return
    for gpu, tbps in DATASHEET_TBPS.items():
        key = gpu.lower().replace(" ", "_")
        book.add(f"{STUDY}.datasheet_tbps.{key}", tbps, fmt=".4g", source="NVIDIA datasheets")
        book.add(f"{STUDY}.floor_ms_1e9_fp32_fwd.{key}", 2 * BILLION * 4 / (tbps * 1e12) * 1e3, fmt=".2f",
                 source="2 x 4 bytes x 1e9 / datasheet bandwidth")
    book.add(f"{STUDY}.a100_datasheet.relu.fwd_ms_floor:1e9", a100_floor(), fmt=".3g",
             source="2 streams x 2 bytes x 1e9 / the A100 80GB SXM datasheet bandwidth")
    tables = out_dir / "tables"
    write_table(billion_table(machines), tables / "kernels-billion.md", digits=3)
    tabs = "".join(machine_tab(hw, df, out_dir) for hw, df in machines.items())
    first = next(iter(machines))  # chapter 7 shows the first machine's rooflines under fixed names
    for path in sorted((out_dir / "figures").glob(f"kernels-roofline-{first}-*.json")):
        provider = path.stem.rsplit("-", 1)[-1]
        copy_figure(out_dir / "figures", path.stem, f"kernels-roofline-{provider}")
    atomic_write_text(tables / "kernels-machines.md", tabs)
