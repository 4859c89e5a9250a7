"""Report for `selu_norm`: activation mean and variance through a deep SELU network
(LeCun vs He vs Xavier weights; no dropout, Dropout, AlphaDropout) and the fixed point of
the variance map."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from actbench import measurement as ms
from actbench import activations, stats
from actbench.report.common import WIDTH_IN
from actbench.report.ablation_common import ci_text, machines, p_text, verdict_word

STUDY = "selu_norm"
CLAIM_DEPTH = 32  # the layer the claims ledger reads (the tutorial gives no depth)
DROPOUT_LABEL = {"none": "no dropout", "dropout": "nn.Dropout", "alpha_dropout": "nn.AlphaDropout"}


def _forward(m) -> None:
    f = m.df[m.df["quantity"] == "forward"]
    if f.empty:
        return
    depth = int(f["layer"].max())
    at = min(CLAIM_DEPTH, depth)
    m.add("depth", depth, "d")
    m.add("claim_layer", at, "d")
    m.add("width", int(f["width"].iloc[0]), "d")
    m.add("seeds", int(f["seed"].nunique()), "d")
    m.add("dropout_p", float(f["dropout_p"].iloc[0]), "g")
    rows = []
    for (init, dropout), grp in f.groupby(["init", "dropout"], sort=False):
        row = {"init": init, "dropout": DROPOUT_LABEL[dropout]}
        for layer in sorted({10, at, depth}):
            sub = grp[grp["layer"] == layer]
            mean, var = stats.mean_ci(sub["mean"]), stats.mean_ci(sub["var"])
            row[f"mean @ {layer}"] = ci_text(mean, 3)
            row[f"variance @ {layer}"] = ci_text(var, 3)
            m.add_ci(f"selu.{init}.{dropout}.layer:{layer}.activation_mean", mean, ".3g")
            m.add_ci(f"selu.{init}.{dropout}.layer:{layer}.activation_var", var, ".3g")
        rows.append(row)
    m.table("selu_norm_summary", pd.DataFrame(rows))

    lecun = f[(f["init"] == "lecun") & (f["layer"] == at)]
    none = lecun[lecun["dropout"] == "none"]
    m.add_ci(f"selu.lecun_normal.depth:{CLAIM_DEPTH}.activation_mean", none["mean"], ".3g")
    m.add_ci(f"selu.lecun_normal.depth:{CLAIM_DEPTH}.activation_var", none["var"], ".3g")
    dev = lambda d: (lecun.loc[lecun["dropout"] == d, "var"] - 1).abs()  # noqa: E731
    w = stats.welch(dev("dropout"), dev("alpha_dropout"))
    m.add_comparison(f"selu.depth:{CLAIM_DEPTH}.abs_var_deviation_from_1:dropout-alpha_dropout",
                     ms.difference(dev("dropout"), dev("alpha_dropout")))
    m.add_ci(f"selu.depth:{CLAIM_DEPTH}.abs_var_deviation_from_1:dropout", dev("dropout"), ".3g")
    m.add_ci(f"selu.depth:{CLAIM_DEPTH}.abs_var_deviation_from_1:alpha_dropout",
             stats.mean_ci(dev("alpha_dropout")), ".3g")
    m.table("selu_norm_dropout_test", pd.DataFrame([{
        "comparison": f"distance of the variance from 1 at layer {at}, Dropout minus AlphaDropout (LeCun init)",
        "difference": w["diff"], "95% CI low": w["ci_low"], "95% CI high": w["ci_high"], "p (Welch)": p_text(w["p"]),
        "verdict": verdict_word(w["diff"], w["p"], "Dropout drifts further from 1", "AlphaDropout drifts further")}]),
        digits=3)


def _fixed_point(m) -> None:
    fp = m.df[m.df["part"] == "fixed_point"]
    if fp.empty:
        return
    one = fp.set_index("quantity")
    m.add("map_mean_at_1", float(one.loc["map_mean_at_1", "mean"]), ".2g")
    m.add("map_var_at_1", float(one.loc["map_var_at_1", "var"]), ".6f")
    m.add("map_second_moment_slope_at_1", float(one.loc["map_second_moment_slope_at_1", "var"]), ".3f")


def _figure(m) -> None:
    f = m.df[m.df["quantity"] == "forward"]
    it = m.df[m.df["quantity"] == "fixed_point_iterate"]
    if f.empty:
        return
    inits = list(dict.fromkeys(f["init"]))
    fig, axes = plt.subplots(1, len(inits) + 1, figsize=(WIDTH_IN, 3.0), sharey=False)
    points = []
    for ax, init in zip(axes, inits):
        for (dropout, grp), style in zip(f[f["init"] == init].groupby("dropout", sort=False), ("-", "--", ":", "-.")):
            summ = stats.summarize(grp, "layer", "var")
            ax.plot(summ["layer"], summ["mean"], style, color=activations.colour("selu") if style == "-" else "black",
                    label=DROPOUT_LABEL[dropout])
            ax.fill_between(summ["layer"], summ["ci_low"], summ["ci_high"], color="grey", alpha=0.2)
            points.append(summ[["layer", "mean", "ci_low", "ci_high", "n"]].assign(panel=f"{init} weights",
                                                                                    series=DROPOUT_LABEL[dropout]))
        ax.axhline(1, color="grey", lw=0.8, ls=":")
        ax.set(yscale="log", xlabel="layer", title=f"{init} weights")
        ax.legend(frameon=False)
    axes[0].set_ylabel("activation variance")
    ax = axes[-1]
    for start, grp in it.groupby("start_var"):
        grp = grp.sort_values("layer")
        ax.plot(grp["layer"], grp["var"], label=f"start {start:g}")
        points.append(pd.DataFrame({"layer": grp["layer"], "mean": grp["var"]}).assign(
            panel="variance map", series=f"start variance {start:g}"))
    ax.axhline(1, color="grey", lw=0.8, ls=":")
    ax.set(yscale="log", xlabel="layer", title="variance map")
    ax.legend(frameon=False)
    fig.tight_layout()
    data = pd.concat(points)
    m.figure("selu_norm", fig, data[["panel", "series", "layer", "mean", "ci_low", "ci_high", "n"]].rename(
        columns={"mean": "variance"}))


def build(results_dir, out_dir, book) -> None:
    for m in machines(results_dir, STUDY, out_dir, book):
        _forward(m)
        _fixed_point(m)
        _figure(m)
