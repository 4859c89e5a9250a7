"""Report for `exp1_mnist` (Experiment 1) and `gradient_flow` (Experiment 2): tables with the
tutorial's expected values beside ours (95% CIs, a plain verdict per row), tests against
ReLU, curves, gradient-flow figures, and the numbers the claims ledger reads."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from actbench import activations
from actbench import measurement as ms
from actbench import stats
from actbench.claims import load_claims
from actbench.report.common import (WIDTH_IN, activation_lines, copy_figure, legend_below, legend_right,
                                    machine_tables, quantiles, save_figure, write_table)

ALPHA = 0.05
def pretty(name: str) -> str:
    """Display name from the registry (names outside it are shown as they are)."""
    return activations.label(name)


def output_names(hw: str, first: bool) -> list[str]:
    """File-name suffixes for a machine's tables/figures: the first machine in results/ gets
    the plain names the docs embed, every other machine '_<hw_id>'."""
    return [""] if first else [f"_{hw}"]


def write_tables(df: pd.DataFrame, out_dir: Path, name: str, suffixes: list[str], digits: int = 4) -> None:
    for sfx in suffixes:
        write_table(df, out_dir / "tables" / f"{name}{sfx}.md", digits)


def save_figures(draw, out_dir: Path, name: str, suffixes: list[str]) -> None:
    """Call draw(path) for the first suffix, copy the file (and its CSV and caption data) to the others."""
    draw(out_dir / "figures" / f"{name}{suffixes[0]}.svg")
    for sfx in suffixes[1:]:
        copy_figure(out_dir / "figures", f"{name}{suffixes[0]}", f"{name}{sfx}")


def tutorial_value(study: str, metric: str):
    """The tutorial's claimed value for a metric of a study (from claims.yaml), or None."""
    for claim in load_claims():
        if claim["study"] == study and claim["metric"] == metric:
            return claim["claimed"]
    return None


def ci_text(s: dict, digits: int = 2, scale: float = 1.0) -> str:
    if s["n"] == 0 or not math.isfinite(s["mean"]):
        return "–"
    if s["n"] < 2:
        return f"{s['mean'] * scale:.{digits}f} (n = 1)"
    return f"{s['mean'] * scale:.{digits}f} ± {s['half_width'] * scale:.{digits}f}"


def tolerance_verdict(claimed, s: dict, kind: str, tol: float, unit: str = "") -> str:
    """Plain words: does our mean agree with the tutorial's value within the claim's tolerance?"""
    if claimed is None:
        return "not in the tutorial"
    mean = s["mean"]
    if not math.isfinite(mean):
        return "not measured"
    limit = tol if kind == "abs" else tol * abs(claimed)
    diff = mean - claimed
    if abs(diff) <= limit:
        return "agrees"
    word = "higher" if diff > 0 else "lower"
    size = f"{abs(diff):.2g}{unit}" if kind == "abs" else f"{abs(diff) / abs(claimed) * 100:.0f}%"
    return f"ours {word} by {size}"


# ───────────────────────────── Experiment 1 ─────────────────────────────
def final_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The last record of every (activation, seed) run; diverged runs keep their NaN metrics."""
    last = df.sort_values("epoch").groupby(["activation", "seed"], sort=False).tail(1)
    order = list(dict.fromkeys(df["activation"]))
    return last.assign(order=last["activation"].map(order.index)).sort_values(["order", "seed"])


# The tutorial's table prints 0.0 dead units for tanh and sigmoid (its hook never watches
# them); the ledger has no claim for those two, so the value is written here.
TUTORIAL_DEAD_ZERO = ("tanh", "sigmoid")


def exp1_tables(final: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Accuracy/loss and dead-unit tables (tutorial beside ours) and per-activation summaries."""
    summaries, acc_rows, dead_rows = {}, [], []
    for act, grp in final.groupby("activation", sort=False):
        s = {
            "acc": stats.mean_ci(100 * grp["test_accuracy"]),
            "loss": stats.mean_ci(grp["train_loss"]),
            "dead_tut": stats.mean_ci(grp["dead_pct_tutorial"]),
            "dead_tut_printed": stats.mean_ci(grp["dead_pct_tutorial_as_printed"]),
            "dead_np": stats.mean_ci(grp["dead_pct_never_positive"]),
            "dead_grad": stats.mean_ci(grp["dead_pct_gradient"]),
            "diverged": int(grp["diverged"].sum()),
        }
        summaries[act] = s
        t_acc = tutorial_value("exp1_mnist", f"{act}.final_test_accuracy_pct")
        t_loss = tutorial_value("exp1_mnist", f"{act}.final_train_loss")
        t_dead = tutorial_value("exp1_mnist", f"{act}.final_dead_unit_pct")
        if t_dead is None:
            t_dead = tutorial_value("exp1_mnist", f"{act}.final_dead_unit_pct_never_positive")
        if t_dead is None and act in TUTORIAL_DEAD_ZERO:
            t_dead = 0.0
        acc_rows.append({
            "activation": pretty(act),
            "tutorial acc. %": t_acc if t_acc is not None else "–",
            "ours acc. % (95% CI)": ci_text(s["acc"]),
            "accuracy verdict": tolerance_verdict(t_acc, s["acc"], "abs", 0.3, " pp"),
            "tutorial loss": t_loss if t_loss is not None else "–",
            "ours loss (95% CI)": ci_text(s["loss"], 4),
            "loss verdict": tolerance_verdict(t_loss, s["loss"], "rel", 0.3),
            "runs (diverged)": f"{s['acc']['n'] + s['diverged']} ({s['diverged']})",
        })
        dead_rows.append({
            "activation": pretty(act),
            "tutorial dead %": t_dead if t_dead is not None else "–",
            "ours, tutorial's test %": ci_text(s["dead_tut"], 1),
            "verdict (same test)": tolerance_verdict(t_dead, s["dead_tut"], "abs", 5.0, " pp"),
            "tutorial's script would print %": ci_text(s["dead_tut_printed"], 1),
            "never > 0 on all rows %": ci_text(s["dead_np"], 1),
            "gradient-dead on all rows %": ci_text(s["dead_grad"], 1),
        })
    return pd.DataFrame(acc_rows), pd.DataFrame(dead_rows), summaries


# The comparisons Experiment 1's "key observations" make, one family each (Holm within it):
# modern activations beat ReLU; tanh and sigmoid are worse than ReLU; ReLU has the most
# dead units and LeakyReLU fewer.
EXP1_FAMILIES = {
    "final_test_accuracy_pct": {
        "Exp. 1: modern activations beat ReLU": [("gelu", "relu"), ("silu", "relu"), ("mish", "relu")],
        "Exp. 1: tanh and sigmoid are worse than ReLU": [("relu", "tanh"), ("relu", "sigmoid")],
    },
    "final_dead_unit_pct": {"Exp. 1: LeakyReLU has fewer dead units": [("relu", "leaky_relu")]},
    "final_dead_unit_pct_never_positive": {"Exp. 1: LeakyReLU has fewer dead units (never positive)":
                                           [("relu", "leaky_relu")]},
    "final_dead_unit_pct_tutorial_test": {"Exp. 1: LeakyReLU has fewer dead units (tutorial's test)":
                                          [("relu", "leaky_relu")]},
}


def exp1_comparisons(final: pd.DataFrame) -> dict[str, dict[str, ms.Measurement]]:
    """Welch differences a − b for the comparisons the tutorial makes, Holm-adjusted per family,
    plus every activation against ReLU (unadjusted, for the table)."""
    values = {"final_test_accuracy_pct": 100 * final["test_accuracy"], "final_train_loss": final["train_loss"],
              "final_dead_unit_pct": final["dead_pct_gradient"],
              "final_dead_unit_pct_never_positive": final["dead_pct_never_positive"],
              "final_dead_unit_pct_tutorial_test": final["dead_pct_tutorial"]}
    present = set(final["activation"])
    out = {}
    for metric, v in values.items():
        group = lambda act: v[final["activation"] == act]  # noqa: E731
        comps = {f"{act}-relu": ms.difference(group(act), group("relu"))
                 for act in dict.fromkeys(final["activation"]) if act != "relu" and "relu" in present}
        for family, pairs in EXP1_FAMILIES.get(metric, {}).items():
            pairs = [(a, b) for a, b in pairs if {a, b} <= present]
            fam = {f"{a}-{b}": ms.difference(group(a), group(b)) for a, b in pairs}
            comps.update(ms.with_family(fam, family))
        out[metric] = comps
    return out


CURVES = {"exp1_loss": ("train_loss", "training loss (log scale)", 1.0),
          "exp1_accuracy": ("test_accuracy", "test accuracy (%)", 100.0),
          "exp1_dead_gradient": ("dead_pct_gradient", "gradient-dead units (%)", 1.0)}


def curve_figure(df: pd.DataFrame, column: str, label: str, scale: float, path: Path) -> None:
    """One Experiment 1 metric per epoch: mean over seeds and 95 % interval per activation.
    Loss and accuracy start at epoch 1 (epoch 0, at initialisation, would squash the axis)."""
    sub = df[df["epoch"] > 0] if column in ("train_loss", "test_accuracy") else df
    summary = stats.summarize(sub.assign(v=sub[column] * scale), ["activation", "epoch"], "v")
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 3.2))
    activation_lines(ax, summary, "epoch")
    ax.set(xlabel="epoch", ylabel=label)
    if column == "train_loss":
        ax.set_yscale("log")
    legend_right(ax)
    fig.tight_layout()
    data = summary[["activation", "epoch", "mean", "ci_low", "ci_high", "n"]].rename(columns={"mean": column})
    save_figure(fig, path, data=data, source=df)


def final_accuracy_figure(final: pd.DataFrame, path: Path) -> None:
    """Final test accuracy per activation, zoomed to the spread: seeds as dots, the mean with
    its 95 % interval, the tutorial's table value as a black cross."""
    rows = []
    for act, grp in final.groupby("activation", sort=False):
        s = stats.mean_ci(100 * grp["test_accuracy"])
        claimed = tutorial_value("exp1_mnist", f"{act}.final_test_accuracy_pct")
        rows.append({"activation": act, "mean": s["mean"], "ci_low": s["ci_low"], "ci_high": s["ci_high"],
                     "n": s["n"], "tutorial": claimed if claimed is not None else math.nan})
    summary = pd.DataFrame(rows).sort_values("mean")
    fig, ax = plt.subplots(figsize=(4.8, 0.3 * len(summary) + 1.2))
    for i, r in enumerate(summary.itertuples()):
        c = activations.colour(r.activation, "#555555")
        seeds = 100 * final.loc[final["activation"] == r.activation, "test_accuracy"]
        ax.plot(seeds, np.full(len(seeds), i), "|", color=c, ms=9, alpha=0.7)
        ax.errorbar([r.mean], [i], xerr=[[r.mean - r.ci_low], [r.ci_high - r.mean]], fmt="o", color=c, capsize=3)
    # Zoom to our runs; a tutorial value outside that range is drawn at the edge, with its value.
    ours = pd.concat([100 * final["test_accuracy"], summary["ci_low"], summary["ci_high"]]).dropna()
    pad = 0.08 * max(float(ours.max() - ours.min()), 0.1)
    low, high = float(ours.min()) - pad, float(ours.max()) + pad
    for i, r in enumerate(summary.itertuples()):
        if not math.isfinite(r.tutorial):
            continue
        if low <= r.tutorial <= high:
            ax.plot([r.tutorial], [i], "x", color="black", ms=7)
        else:  # named in a column right of the axes, with an arrow for its side
            arrow = "◂" if r.tutorial < low else "▸"
            ax.annotate(f"{arrow} tutorial {r.tutorial:g}", (1.02, i), xycoords=("axes fraction", "data"),
                        va="center", fontsize=9)
    ax.set_xlim(low, high)
    ax.set_yticks(range(len(summary)), [pretty(a) for a in summary["activation"]])
    ax.set_xlabel("final test accuracy (%)")
    handles = [plt.Line2D([], [], marker="|", ls="", color="#555555", ms=9, label="one seed"),
               plt.Line2D([], [], marker="o", ls="", color="#555555", label="mean, 95 % interval"),
               plt.Line2D([], [], marker="x", ls="", color="black", label="tutorial's table")]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False)
    fig.tight_layout()
    seeds = final.assign(accuracy_pct=100 * final["test_accuracy"])[["activation", "seed", "accuracy_pct"]]
    seeds = seeds.dropna(subset=["accuracy_pct"])  # a diverged run has no accuracy to plot
    data = pd.concat([seeds.assign(kind="seed"), summary.rename(columns={"mean": "accuracy_pct"}).assign(kind="mean")])
    save_figure(fig, path, data=data[["kind", "activation", "seed", "accuracy_pct", "ci_low", "ci_high", "n",
                                      "tutorial"]], source=final)


DEAD_WAYS = {"dead_pct_tutorial": ("tutorial: one batch of 128, never > 0", ""),
             "dead_pct_never_positive": ("never > 0 on every training row", "///"),
             "dead_pct_gradient": ("|f′(z)| < threshold on every training row", "...")}


def dead_ways_figure(final: pd.DataFrame, path: Path) -> None:
    """Dead hidden units after the last epoch by three definitions: bars in the activation's
    colour, the definition by hatching; whiskers are 95 % intervals over seeds."""
    acts = list(dict.fromkeys(final["activation"]))
    width = 0.8 / len(DEAD_WAYS)
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 3.0))
    rows = []
    for j, (column, (label, hatch)) in enumerate(DEAD_WAYS.items()):
        for i, act in enumerate(acts):
            s = stats.mean_ci(final.loc[final["activation"] == act, column])
            x = i - 0.4 + (j + 0.5) * width
            err = [[s["mean"] - s["ci_low"]], [s["ci_high"] - s["mean"]]] if s["n"] > 1 else None
            ax.bar([x], [s["mean"]], width, color=activations.colour(act, "#555555"), hatch=hatch,
                   edgecolor="black", lw=0.5, yerr=err, capsize=2, error_kw={"lw": 0.8})
            rows.append({"activation": act, "definition": label, "dead_pct": s["mean"], "ci_low": s["ci_low"],
                         "ci_high": s["ci_high"], "n": s["n"]})
    ax.set_xticks(range(len(acts)), [pretty(a) for a in acts], rotation=30, ha="right")
    ax.set_ylabel("dead hidden units (%)")
    from matplotlib.patches import Patch

    handles = [Patch(facecolor="white", edgecolor="black", hatch=h, label=lab) for lab, h in DEAD_WAYS.values()]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2, frameon=False)
    fig.tight_layout()
    save_figure(fig, path, data=pd.DataFrame(rows), source=final)


def build_exp1(results_dir: Path, out_dir: Path, book) -> None:
    for i, (hw, df) in enumerate(machine_tables(results_dir, "exp1_mnist", book).items()):
        source = f"results/{hw}/exp1_mnist.parquet"
        suffixes = output_names(hw, i == 0)
        if i == 0:  # the machine whose tables and figures the docs show
            book.add("exp1_mnist.shown_hw", hw, source=source, hw=hw)
        final = final_rows(df)
        acc_table, dead_table, summaries = exp1_tables(final)
        write_tables(acc_table, out_dir, "exp1_summary", suffixes)
        write_tables(dead_table, out_dir, "exp1_dead_units", suffixes)
        key = f"exp1_mnist.{hw}"
        columns = {"final_test_accuracy_pct": (100 * final["test_accuracy"], ".2f"),
                   "final_train_loss": (final["train_loss"], ".4f"),
                   "final_dead_unit_pct": (final["dead_pct_gradient"], ".1f"),
                   "final_dead_unit_pct_never_positive": (final["dead_pct_never_positive"], ".1f"),
                   "final_dead_unit_pct_tutorial_test": (final["dead_pct_tutorial"], ".1f"),
                   "final_dead_unit_pct_tutorial_as_printed": (final["dead_pct_tutorial_as_printed"], ".1f")}
        for act, s in summaries.items():
            rows_of = final["activation"] == act
            for name, (values, fmt) in columns.items():
                m = ms.mean_of(values[rows_of])
                book.add(f"{key}.{act}.{name}", m, fmt=fmt, source=source, hw=hw)
                book.add(f"{key}.{act}.{name}_ci95", m.half_width, fmt=fmt, source=source, hw=hw)
            book.add(f"{key}.{act}.diverged_runs", s["diverged"], fmt="d", source=source, hw=hw)
        rows = []
        for metric, comparisons in exp1_comparisons(final).items():
            for name, m in comparisons.items():
                rows.append({"metric": metric, "comparison": name, "difference": m.estimate,
                             "95% CI low": m.ci_low, "95% CI high": m.ci_high, "p (Welch)": m.p,
                             "p (Holm)": m.p_adjusted, "family": m.family or "–"})
                book.add(f"{key}.{metric}:{name}", m, fmt=".3g", source=source, hw=hw)
        if rows:
            write_tables(pd.DataFrame(rows), out_dir, "exp1_vs_relu", suffixes, digits=3)
        book.add(f"{key}.seeds", int(final["seed"].nunique()), fmt="d", source=source, hw=hw)
        book.add(f"{key}.epochs", int(df["epoch"].max()), fmt="d", source=source, hw=hw)
        book.add(f"{key}.train_rows", int(df["train_rows"].iloc[0]), fmt=",d", source=source, hw=hw)
        book.add(f"{key}.test_rows", int(df["test_rows"].iloc[0]), fmt=",d", source=source, hw=hw)
        book.add(f"{key}.dead_rows", int(df["dead_rows"].max()), fmt=",d", source=source, hw=hw)
        book.add(f"{key}.threshold", float(df["threshold"].iloc[0]), fmt="g", source=source, hw=hw)
        book.add(f"{key}.runs", int(len(final)), fmt="d", source=source, hw=hw)
        book.add(f"{key}.diverged_runs", int(final["diverged"].sum()), fmt="d", source=source, hw=hw)
        book.add(f"{key}.median_epoch_wall_s", float(df.loc[df["epoch"] > 0, "epoch_wall_s"].median()),
                 fmt=".2f", source=source, hw=hw)
        book.add(f"{key}.wall_time_comparable", bool(df["wall_time_comparable"].all()), source=source, hw=hw)
        cpu = df.loc[df["epoch"] > 0, "epoch_cpu_s"] if "epoch_cpu_s" in df.columns else pd.Series(dtype=float)
        book.add(f"{key}.median_epoch_cpu_s", float(cpu.median()) if cpu.notna().any() else math.nan,
                 fmt=".2f", source=source, hw=hw)
        for name, (column, label, scale) in CURVES.items():
            save_figures(lambda path: curve_figure(df, column, label, scale, path), out_dir, name, suffixes)
        save_figures(lambda path: final_accuracy_figure(final, path), out_dir, "exp1_final_accuracy", suffixes)
        save_figures(lambda path: dead_ways_figure(final, path), out_dir, "exp1_dead_units", suffixes)


# ───────────────────────────── Experiment 2 ─────────────────────────────
def per_net_ratios(g: pd.DataFrame) -> pd.DataFrame:
    """One row per net: first (input) layer and last (output) layer mean |dL/dW| and their ratio."""
    g = g.sort_values("layer_index")
    keys = ["activation", "init_choice", "init", "depth", "seed"]
    first = g.groupby(keys, sort=False)["mean_abs_grad"].first()
    last = g.groupby(keys, sort=False)["mean_abs_grad"].last()
    out = pd.concat([first.rename("input_grad"), last.rename("output_grad")], axis=1).reset_index()
    out["ratio"] = out["input_grad"] / out["output_grad"]
    order = list(dict.fromkeys(g.sort_index()["activation"]))  # the study's activation order
    return out.sort_values("activation", key=lambda col: col.map(order.index), kind="stable")


def depth_ticks(ax, depths) -> None:
    """Plain tick labels at the depths measured (a log axis would print 3x10^1 etc.)."""
    from matplotlib.ticker import NullLocator

    depths = sorted(int(d) for d in set(depths))
    ax.set_xticks(depths)
    ax.set_xticklabels([str(d) for d in depths])
    ax.xaxis.set_minor_locator(NullLocator())


def ratio_text(s: dict) -> str:
    if not s["n"] or not math.isfinite(s["geo_mean"]):
        return "–"
    if s["n"] < 2:
        return f"{s['geo_mean']:.2g}"
    return f"{s['geo_mean']:.2g} [{s['geo_ci_low']:.2g}, {s['geo_ci_high']:.2g}]"


def ratio_verdict(claimed, s: dict) -> str:
    if claimed is None:
        return "not in the tutorial"
    gm = s["geo_mean"]
    if isinstance(claimed, list):  # a range
        lo, hi = claimed
        return "agrees" if lo <= gm <= hi else f"ours {gm / hi:.2g}x the upper bound"
    off = gm / claimed
    if 0.75 <= off <= 1.25:
        return "agrees"
    return f"ours {off:.2g}x the tutorial's"


def exp2_table(ratios: pd.DataFrame, depth: int) -> tuple[pd.DataFrame, dict]:
    at = ratios[ratios["depth"] == depth]
    rows, summaries = [], {}
    for act, grp in at.groupby("activation", sort=False):
        tut = grp[grp["init_choice"] == "tutorial"]
        mat = grp[grp["init_choice"] == "matched"]
        s_t, s_m = stats.log10_summary(tut["ratio"]), stats.log10_summary(mat["ratio"])
        summaries[act] = (s_t, s_m, tut, mat)
        claimed = tutorial_value("gradient_flow", f"{act}.input_to_output_weight_grad_ratio")
        rows.append({
            "activation": pretty(act),
            "tutorial ratio": ("–" if claimed is None else
                               f"below {claimed[1]:g}" if isinstance(claimed, list) else claimed),
            "tutorial init": tut["init"].iloc[0] if len(tut) else "–",
            "ours, tutorial init: geo. mean [95% CI]": ratio_text(s_t),
            "verdict": ratio_verdict(claimed, s_t),
            "registry init": mat["init"].iloc[0] if len(mat) else "–",
            "ours, registry init": ratio_text(s_m),
            "median input-layer grad": float(tut["input_grad"].median()),
            "median output-layer grad": float(tut["output_grad"].median()),
        })
    return pd.DataFrame(rows), summaries


INIT_TITLES = {"tutorial": "tutorial's init", "matched": "registry's init"}


def gradient_figure(g: pd.DataFrame, depth: int, path: Path) -> None:
    """Mean |dL/dW| per layer at one depth, one panel per initialisation (shared log axis)."""
    sub = g[g["depth"] == depth]
    summary = quantiles(sub, ["init_choice", "activation", "layer_index"], "mean_abs_grad")
    inits = [i for i in INIT_TITLES if i in set(summary["init_choice"])]
    fig, axes = plt.subplots(1, len(inits), figsize=(WIDTH_IN, 3.3), sharey=True, squeeze=False)
    for ax, init in zip(axes[0], inits):
        activation_lines(ax, summary[summary["init_choice"] == init], "layer_index", "median", "p10", "p90")
        ax.set(yscale="log", xlabel="layer (0 = input layer)", title=INIT_TITLES[init])
    axes[0][0].set_ylabel("mean |dL/dW|, median of seeds")
    fig.tight_layout()
    handles, labels = axes[0][0].get_legend_handles_labels()
    legend_below(fig, handles, labels, ncol=5)
    save_figure(fig, path, data=summary, source=sub)


def depth_figure(ratios: pd.DataFrame, path: Path, source: pd.DataFrame) -> None:
    """Input-layer over output-layer gradient against depth, registry init: geometric mean
    and 10-90 % of seeds per activation."""
    sub = ratios[ratios["init_choice"] == "matched"].assign(log_ratio=lambda d: np.log(d["ratio"]))
    summary = quantiles(sub, ["activation", "depth"], "log_ratio")
    summary = summary.assign(**{c: np.exp(summary[c]) for c in ("median", "p10", "p90")})
    summary["geo_mean"] = np.exp(sub.groupby(["activation", "depth"], sort=False)["log_ratio"].mean().to_numpy())
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 3.4))
    activation_lines(ax, summary, "depth", "geo_mean", "p10", "p90", marker="o")
    ax.set(xscale="log", yscale="log", xlabel="depth (Linear layers)",
           ylabel="input / output layer mean |dL/dW|")
    depth_ticks(ax, sub["depth"])
    legend_right(ax)
    fig.tight_layout()
    save_figure(fig, path, data=summary[["activation", "depth", "geo_mean", "p10", "p90", "n"]], source=source)


def _leading(flags) -> int:
    """How many of the first layers (in order) are all flagged."""
    n = 0
    for f in flags:
        if not f:
            break
        n += 1
    return n


def trainability(t: pd.DataFrame, threshold: float = 0.9) -> pd.DataFrame:
    """One row per trained net: accuracy, adequacy status, frozen layers (all, and the leading
    run from the input layer, at 1 % and 0.1 % weight movement).

    ``reached``: final test accuracy >= the study's threshold; ``stalled``: below it and its
    test accuracy stopped rising (plateaued); ``not_stalled``: reached, or still improving
    when the budget ended. Results from before the adequacy columns fall back on
    ``threshold`` and count every net that missed it as stalled."""
    t = t.sort_values("layer_index")
    strict = "frozen_strict" if "frozen_strict" in t.columns else "frozen"
    extra = {c: (c, "first") for c in ("reached_threshold", "plateaued", "epochs_run", "stopped",
                                       "adequacy_threshold", "max_epochs") if c in t.columns}
    order = list(dict.fromkeys(t.sort_index()["activation"]))  # the study's activation order
    nets = t.groupby(["activation", "depth", "seed"], sort=False).agg(
        test_accuracy=("test_accuracy", "first"), frozen=("frozen", "sum"), layers=("layer_index", "count"),
        leading_frozen=("frozen", _leading), leading_frozen_strict=(strict, _leading),
        diverged=("diverged", "first"), **extra).reset_index()
    nets = nets.sort_values(["activation", "depth", "seed"], kind="stable",
                            key=lambda c: c.map(order.index) if c.name == "activation" else c).reset_index(drop=True)
    if "reached_threshold" not in nets.columns:
        nets["reached_threshold"] = nets["test_accuracy"] >= threshold
        nets["plateaued"] = True
    nets["reached_threshold"] = nets["reached_threshold"].fillna(False).astype(bool)
    nets["plateaued"] = nets["plateaued"].fillna(False).astype(bool)
    nets["stalled"] = ~nets["reached_threshold"] & nets["plateaued"]
    nets["not_stalled"] = ~nets["stalled"] & ~nets["diverged"].fillna(False).astype(bool)
    return nets


def max_trainable_depths(nets: pd.DataFrame, column: str = "reached_threshold") -> list[float]:
    """Per seed (one sweep over depths each): the largest depth d such that the net of every
    depth <= d counts as trainable by ``column`` (``reached_threshold``: reached the accuracy
    threshold within the budget; ``not_stalled``: did not stall below it); NaN if even the
    shallowest does not."""
    out = []
    for _, sweep in nets.groupby("seed"):
        best = math.nan
        for _, r in sweep.sort_values("depth").iterrows():
            if not bool(r[column]):
                break
            best = float(r["depth"])
        out.append(best)
    return out


def trainability_flags(sub: pd.DataFrame) -> tuple[bool, str]:
    """Adequacy of one activation's depth sweep: every seed's shallowest net reaches the
    threshold (the set-up trains this activation at all) and no net diverged."""
    shallowest = sub[sub["depth"] == sub["depth"].min()]
    k, n = int(shallowest["reached_threshold"].sum()), len(shallowest)
    diverged = int(sub["diverged"].fillna(False).astype(bool).sum())
    ok = k == n and n > 0 and diverged == 0
    return ok, (f"{k} of {n} seeds' {int(sub['depth'].min())}-layer nets reach the accuracy threshold, "
                f"{diverged} nets diverged; criterion: every seed's shallowest net reaches it and none diverges")


def frozen_flag(grp: pd.DataFrame) -> tuple[bool, str]:
    """Frozen layers are read after training to a plateau: every net of the depth reached
    the threshold or stopped improving (a net still improving could still move its layers)."""
    settled = grp["reached_threshold"] | grp["plateaued"]
    k, n = int(settled.sum()), len(grp)
    acc = ", ".join(f"{100 * a:.1f}" for a in grp["test_accuracy"])
    return k == n and n > 0, (f"{k} of {n} nets were trained to a plateau or to the threshold (test accuracies "
                              f"{acc} %); criterion: every net")


TRAINABILITY = {"trainability_accuracy": ("test_accuracy_pct", "MNIST test accuracy (%)"),
                "trainability_frozen": ("leading_frozen", "leading layers that moved < 1 %")}


def trainability_figure(nets: pd.DataFrame, column: str, label: str, path: Path, threshold: float,
                        source: pd.DataFrame) -> None:
    """Test accuracy, or frozen layers from the input side, against depth: mean and 95 %
    interval over seeds per activation (dotted: the accuracy threshold)."""
    sub = nets.assign(test_accuracy_pct=100 * nets["test_accuracy"])
    summary = stats.summarize(sub, ["activation", "depth"], column)
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 3.2))
    activation_lines(ax, summary, "depth", marker="o")
    if column == "test_accuracy_pct":
        ax.axhline(100 * threshold, color="grey", ls=":", lw=1)
    ax.set(ylabel=label, xlabel="depth (Linear layers)")
    depth_ticks(ax, nets["depth"])
    legend_right(ax)
    fig.tight_layout()
    data = summary[["activation", "depth", "mean", "ci_low", "ci_high", "n"]].rename(columns={"mean": column})
    save_figure(fig, path, data=data, source=source)


def build_gradient_flow(results_dir: Path, out_dir: Path, book) -> None:
    for i, (hw, df) in enumerate(machine_tables(results_dir, "gradient_flow", book).items()):
        source = f"results/{hw}/gradient_flow.parquet"
        suffixes = output_names(hw, i == 0)
        if i == 0:
            book.add("gradient_flow.shown_hw", hw, source=source, hw=hw)
        key = f"gradient_flow.{hw}"
        g = df[df["part"] == "gradient"]
        ratios = per_net_ratios(g)
        depth = 20 if 20 in set(ratios["depth"]) else int(ratios["depth"].max())
        table, summaries = exp2_table(ratios, depth)
        write_tables(table, out_dir, "exp2_summary", suffixes, digits=3)
        book.add(f"{key}.exp2_depth", depth, fmt="d", source=source, hw=hw)
        book.add(f"{key}.seeds", int(g["seed"].nunique()), fmt="d", source=source, hw=hw)
        book.add(f"{key}.width", int(df["width"].iloc[0]), fmt="d", source=source, hw=hw)
        for act, (s_t, s_m, tut, mat) in summaries.items():
            book.add(f"{key}.{act}.input_to_output_weight_grad_ratio", ms.geo_mean_of(tut["ratio"]), fmt=".3g",
                     source=source, hw=hw)
            book.add(f"{key}.{act}.input_to_output_weight_grad_ratio:registry_init", ms.geo_mean_of(mat["ratio"]),
                     fmt=".3g", source=source, hw=hw)
            # what the tutorial's script actually prints: gradients[-1] / gradients[0] (output over input)
            book.add(f"{key}.{act}.tutorial_script_ratio", ms.geo_mean_of(1 / tut["ratio"]), fmt=".3g",
                     source=source, hw=hw)
        tutorial_init = ratios[ratios["init_choice"] == "tutorial"]
        for (act, d), grp in tutorial_init.groupby(["activation", "depth"]):
            book.add(f"{key}.{act}.depth:{d}.first_to_last_weight_grad_ratio", ms.geo_mean_of(grp["ratio"]),
                     fmt=".3g", source=source, hw=hw)
        # GELU against ReLU at the deepest depth, paired by seed (same weights): log10 of the ratios
        deepest = int(tutorial_init["depth"].max())
        wide = tutorial_init[tutorial_init["depth"] == deepest].pivot_table(index="seed", columns="activation",
                                                                           values="ratio")
        if {"gelu", "relu"} <= set(wide.columns):
            book.add(f"{key}.depth:{deepest}.log10_first_to_last_ratio:gelu-relu",
                     ms.difference(np.log10(wide["gelu"]), np.log10(wide["relu"]), paired=True), fmt=".3g",
                     source=source, hw=hw)
        save_figures(lambda path: gradient_figure(g, depth, path), out_dir, "exp2_gradient_flow", suffixes)
        save_figures(lambda path: depth_figure(ratios, path, g), out_dir, "exp2_gradient_vs_depth", suffixes)
        t = df[df["part"] == "trainability"]
        if not t.empty:
            threshold = float(t["adequacy_threshold"].iloc[0]) if "adequacy_threshold" in t.columns else 0.5
            nets = trainability(t, threshold)
            rows = []
            for (act, d), grp in nets.groupby(["activation", "depth"], sort=False):
                s = stats.mean_ci(100 * grp["test_accuracy"])
                rows.append({"activation": pretty(act), "depth": d, "test acc. % (95% CI)": ci_text(s, 1),
                             "reached threshold": f"{int(grp['reached_threshold'].sum())} of {len(grp)}",
                             "stalled below": int(grp["stalled"].sum()),
                             "still improving": int((~grp["reached_threshold"] & ~grp["plateaued"]).sum()),
                             "epochs (median)": float(grp["epochs_run"].median()) if "epochs_run" in grp else math.nan,
                             "frozen layers (mean)": float(grp["frozen"].mean()),
                             "leading frozen, < 1 %": ci_text(stats.mean_ci(grp["leading_frozen"]), 1),
                             "leading frozen, < 0.1 %": ci_text(stats.mean_ci(grp["leading_frozen_strict"]), 1),
                             "layers": int(grp["layers"].iloc[0])})
            write_tables(pd.DataFrame(rows), out_dir, "trainability", suffixes, digits=3)

            def add(name, value, fmt=".3g", exact=False):
                book.add(f"{key}.{name}", value, fmt=fmt, source=source, hw=hw, exact=exact)

            for act in nets["activation"].unique():
                sub = nets[nets["activation"] == act]
                # depths form a grid, so the per-seed maxima are discrete: median with a bootstrap interval
                add(f"{act}.max_trainable_depth", ms.median_of(max_trainable_depths(sub, "reached_threshold")))
                add(f"{act}.max_trainable_depth:not_stalled", ms.median_of(max_trainable_depths(sub, "not_stalled")))
                ok, why = trainability_flags(sub)
                add(f"adequate.{act}.trainability", ok, exact=True)
                add(f"adequate.{act}.trainability.why", why)
                for d, grp in sub.groupby("depth"):
                    add(f"{act}.depth:{d}.frozen_layer_count", ms.mean_of(grp["frozen"]), fmt=".1f")
                    add(f"{act}.depth:{d}.leading_frozen_layers", ms.mean_of(grp["leading_frozen"]), fmt=".1f")
                    add(f"{act}.depth:{d}.leading_frozen_layers:strict", ms.mean_of(grp["leading_frozen_strict"]),
                        fmt=".1f")
                    add(f"{act}.depth:{d}.test_accuracy_pct", ms.mean_of(100 * grp["test_accuracy"]), fmt=".1f")
                    add(f"{act}.depth:{d}.reached_nets", int(grp["reached_threshold"].sum()), fmt="d")
                    ok, why = frozen_flag(grp)
                    add(f"adequate.{act}.depth:{d}.frozen", ok, exact=True)
                    add(f"adequate.{act}.depth:{d}.frozen.why", why)
            add("train_threshold_pct", 100 * threshold, fmt="g")
            add("train_seeds", int(nets["seed"].nunique()), fmt="d")
            if "max_epochs" in nets.columns:
                add("train_max_epochs", int(nets["max_epochs"].iloc[0]), fmt="d")
                add("train_patience", int(t["plateau_patience"].iloc[0]), fmt="d")
                add("train_min_delta_pp", 100 * float(t["plateau_min_delta"].iloc[0]), fmt="g")
            add("train_rows", int(t["train_rows"].iloc[0]), fmt=",d")
            add("frozen_threshold_pct", 100 * float(t["frozen_threshold"].iloc[0]) if "frozen_threshold" in t else 1.0,
                fmt="g")
            add("frozen_threshold_strict_pct", 100 * float(t["frozen_threshold_strict"].iloc[0])
                if "frozen_threshold_strict" in t else math.nan, fmt="g")
            for name, (column, label) in TRAINABILITY.items():
                save_figures(lambda path: trainability_figure(nets, column, label, path, threshold, t), out_dir, name,
                             suffixes)


def build(results_dir: Path, out_dir: Path, book) -> None:
    build_exp1(results_dir, out_dir, book)
    build_gradient_flow(results_dir, out_dir, book)
