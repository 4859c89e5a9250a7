"""Report for `leaky_slope`: accuracy and dead units against LeakyReLU's negative slope,
on the Experiment 1 MLP and on a deep MLP."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from actbench import measurement as ms
from actbench import stats
from actbench.report.ablation_common import ci_text, last_epoch, machines, p_text, verdict_word

STUDY = "leaky_slope"
NETS = {"shallow": "Experiment 1 MLP (784-256-128-10)", "deep": "deep MLP"}


def _slope_label(s: float) -> str:
    return "0 (ReLU)" if s == 0 else f"{s:g}"


def _one(m) -> None:
    df = m.df
    final = last_epoch(df, ["net", "slope", "seed"])
    m.add("seeds", int(final["seed"].nunique()), "d")
    m.add("epochs", int(df["epoch"].max()), "d")
    m.add("train_rows", int(df["train_subset"].iloc[0]), ",d")
    m.add("deep_depth", int(df.loc[df["net"] == "deep", "depth"].iloc[0]), "d")
    rows = []
    for (net, slope), grp in final.groupby(["net", "slope"], sort=False):
        acc = stats.mean_ci(100 * grp["test_accuracy"])
        never = stats.mean_ci(100 * grp["never_positive_fraction"])
        grad = stats.mean_ci(100 * grp["gradient_dead_fraction"])
        tag = f"{net}.slope:{slope:g}"
        m.add_ci(f"{tag}.test_accuracy_pct", 100 * grp["test_accuracy"], ".2f")
        m.add_ci(f"{tag}.never_positive_pct", 100 * grp["never_positive_fraction"], ".1f")
        m.add_ci(f"{tag}.gradient_dead_pct", 100 * grp["gradient_dead_fraction"], ".1f")
        rows.append({"network": net, "slope α": _slope_label(slope), "test accuracy % (95% CI)": ci_text(acc),
                     "never-positive units %": ci_text(never, 1), "gradient-dead units %": ci_text(grad, 1),
                     "diverged runs": int(grp["diverged"].sum())})
    m.table("leaky_slope_summary", pd.DataFrame(rows))

    tests = []
    for net, a, b, metric in (("shallow", 0.01, 0.3, "shallow.test_accuracy_pct:0.01-0.3"),
                              ("deep", 0.1, 0.01, "deep.test_accuracy_pct:0.1-0.01"),
                              ("shallow", 0.1, 0.01, "shallow.test_accuracy_pct:0.1-0.01"),
                              ("deep", 0.01, 0.3, "deep.test_accuracy_pct:0.01-0.3"),
                              ("deep", 0.01, 0.0, "deep.test_accuracy_pct:0.01-0")):
        sub = final[final["net"] == net]
        if not {a, b} <= set(sub["slope"]):
            continue
        w = ms.difference(100 * sub.loc[sub["slope"] == a, "test_accuracy"],
                          100 * sub.loc[sub["slope"] == b, "test_accuracy"])
        m.add_comparison(metric, w, ".2f")
        tests.append({"network": net, "comparison": f"α = {a:g} minus α = {b:g}", "difference (pp)": w.estimate,
                      "95% CI low": w.ci_low, "95% CI high": w.ci_high, "p (Welch)": p_text(w.p),
                      "verdict": verdict_word(w.estimate, w.p, f"α = {a:g} better", f"α = {b:g} better")})
    if tests:
        m.table("leaky_slope_tests", pd.DataFrame(tests), digits=3)

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    slopes = sorted(final["slope"].unique())
    pos = {s: i for i, s in enumerate(slopes)}
    for net, style in (("shallow", "o-"), ("deep", "s--")):
        sub = final[final["net"] == net]
        if sub.empty:
            continue
        for ax, col, scale in ((axes[0], "test_accuracy", 100), (axes[1], "never_positive_fraction", 100)):
            summ = stats.summarize(sub.assign(v=sub[col] * scale), "slope", "v").sort_values("slope")
            x = summ["slope"].map(pos)
            ax.errorbar(x, summ["mean"], yerr=summ["half_width"], fmt=style, capsize=3, label=NETS[net])
    for ax, label in ((axes[0], "test accuracy % (mean, 95% CI)"), (axes[1], "units never positive % (mean, 95% CI)")):
        ax.set_xticks(range(len(slopes)), [_slope_label(s) for s in slopes])
        ax.set_xlabel("negative slope α")
        ax.set_ylabel(label)
    axes[0].legend(fontsize=8)
    fig.suptitle("LeakyReLU slope on MNIST: accuracy and units that never turn on")
    fig.tight_layout()
    m.figure("leaky_slope", fig)


def build(results_dir, out_dir, book) -> None:
    for m in machines(results_dir, STUDY, out_dir, book):
        _one(m)
