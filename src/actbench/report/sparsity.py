"""Report for `sparsity`: exact-zero and near-zero activation fractions per activation,
against the tutorial's quoted ranges (§7.3), and what pruning never-active ReLU units saves."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from actbench import measurement as ms
from actbench import activations, stats
from actbench.report.common import WIDTH_IN, legend_right
from actbench.report.ablation_common import ci_text, machines, pretty

STUDY = "sparsity"
TUTORIAL = {"relu": (45, 55), "leaky_relu": (35, 45), "gelu": (30, 40), "silu": (25, 35)}


def _per_seed(layers: pd.DataFrame, column: str) -> pd.DataFrame:
    """Unit-weighted mean over hidden layers, one value per (activation, stage, seed)."""
    w = layers.assign(x=layers[column] * layers["units"])
    g = w.groupby(["activation", "stage", "seed"], sort=False)
    return (g["x"].sum() / g["units"].sum()).rename(column).reset_index()


def _one(m) -> None:
    df = m.df
    layers = df[df["quantity"] == "layer_sparsity"]
    if layers.empty:
        return
    m.add("seeds", int(layers["seed"].nunique()), "d")
    m.add("epochs", int(df["epochs"].iloc[0]), "d")
    m.add("train_rows", int(df["train_subset"].iloc[0]), ",d")
    m.add("test_rows", int(df["test_subset"].iloc[0]), ",d")
    m.add("near_zero_threshold", float(df["near_zero_threshold"].iloc[0]), "g")
    exact = _per_seed(layers, "exact_zero_fraction")
    near = _per_seed(layers, "near_zero_fraction")
    rows, plot = [], []
    for act in dict.fromkeys(layers["activation"]):
        s = {}
        for stage in ("init", "trained"):
            sel = (exact["activation"] == act) & (exact["stage"] == stage)
            s[("exact", stage)] = stats.mean_ci(100 * exact.loc[sel, "exact_zero_fraction"])
            sel = (near["activation"] == act) & (near["stage"] == stage)
            s[("near", stage)] = stats.mean_ci(100 * near.loc[sel, "near_zero_fraction"])
            m.add_ci(f"{act}.exact_zero_pct:{stage}", s[("exact", stage)], ".3g")
            m.add_ci(f"{act}.near_zero_pct:{stage}", s[("near", stage)], ".3g")
        m.add(f"{act}.zero_output_fraction:init", ms.scaled(ms.mean_of(s[("exact", "init")]["values"]), 0.01), ".3f")
        lo, hi = TUTORIAL.get(act, (np.nan, np.nan))
        measured = s[("exact", "trained")]["mean"]
        rows.append({"activation": pretty(act),
                     "tutorial: % zero": f"{lo:g}–{hi:g}" if np.isfinite(lo) else "–",
                     "exactly 0, at init %": ci_text(s[("exact", "init")], 1),
                     "exactly 0, trained %": ci_text(s[("exact", "trained")], 1),
                     "near 0, trained %": ci_text(s[("near", "trained")], 1),
                     "verdict": ("–" if not np.isfinite(lo) else
                                 "inside the range" if lo <= measured <= hi else "outside the range")})
        plot.append({"activation": act, "exact": measured, "near": s[("near", "trained")]["mean"],
                     "lo": lo, "hi": hi})
    m.table("sparsity_summary", pd.DataFrame(rows))

    prune = df[df["quantity"] == "pruning"]
    if not prune.empty:
        prows = []
        for act, grp in prune.groupby("activation", sort=False):
            red = stats.mean_ci(grp["param_reduction_pct"])
            drop = stats.mean_ci(100 * (grp["test_accuracy"] - grp["pruned_test_accuracy"]))
            m.add_ci(f"{act}.pruned_param_reduction_pct", red, ".3g")
            m.add_ci(f"{act}.pruning_accuracy_drop_pp", drop, ".3g")
            m.add(f"{act}.pruned_units_mean", float(grp["units_removed"].mean()), ".1f")
            prows.append({"activation": pretty(act), "units removed (of 384)": ci_text(stats.mean_ci(grp["units_removed"]), 1),
                          "parameters saved %": ci_text(red, 2),
                          "test accuracy before %": ci_text(stats.mean_ci(100 * grp["test_accuracy"]), 2),
                          "after pruning %": ci_text(stats.mean_ci(100 * grp["pruned_test_accuracy"]), 2)})
        m.table("sparsity_pruning", pd.DataFrame(prows))

    p = pd.DataFrame(plot)
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 3.2))
    x = np.arange(len(p))
    colours = [activations.colour(a, "#555555") for a in p["activation"]]
    # bars in the activation's colour: solid = exactly 0, hatched = near zero
    ax.bar(x - 0.2, p["exact"], width=0.4, color=colours, edgecolor="black", lw=0.5, label="exactly 0")
    ax.bar(x + 0.2, p["near"], width=0.4, color=colours, edgecolor="black", lw=0.5, hatch="///",
           label=f"|a| < {float(df['near_zero_threshold'].iloc[0]):g}")
    for i, r in p.iterrows():
        if np.isfinite(r["lo"]):
            ax.fill_between([i - 0.45, i + 0.45], r["lo"], r["hi"], color="black", alpha=0.15, lw=0,
                            label="tutorial's range" if i == p.index[np.isfinite(p["lo"])][0] else None)
    ax.set_xticks(x, [pretty(a) for a in p["activation"]], rotation=45, ha="right")
    ax.set_ylabel("% of hidden activations (test rows)")
    legend_right(ax)
    fig.tight_layout()
    m.figure("sparsity", fig, p.rename(columns={"exact": "exact_zero_pct", "near": "near_zero_pct",
                                                "lo": "tutorial_low", "hi": "tutorial_high"}))


def build(results_dir, out_dir, book) -> None:
    for m in machines(results_dir, STUDY, out_dir, book):
        _one(m)
