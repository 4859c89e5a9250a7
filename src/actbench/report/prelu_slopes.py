"""Report for `prelu_slopes`: learned PReLU slopes per layer against the tutorial's quoted
ranges, and the final beta of a learnable Swish."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from actbench import measurement as ms
from actbench import stats
from actbench.report.ablation_common import ci_text, machines

STUDY = "prelu_slopes"
TUTORIAL_RANGES = {"early": (0.01, 0.05), "middle": (0.1, 0.3), "late": (0.05, 0.15)}
NET_LABEL = {"cnn": "CNN, one α per channel", "mlp": "MLP, one α per unit"}


def _prelu(m) -> None:
    p = m.df[m.df["activation"] == "prelu"]
    if p.empty:
        return
    m.add("seeds", int(p["seed"].nunique()), "d")
    m.add("epochs", int(p["epochs"].iloc[0]), "d")
    m.add("train_rows", int(p["train_subset"].iloc[0]), ",d")
    rows = []
    for (net, layer, position), grp in p.groupby(["net", "layer", "layer_position"], sort=True):
        per_seed = grp.groupby("seed")["value"].median()
        s = stats.mean_ci(per_seed)
        m.add_ci(f"{net}.prelu.learned_alpha_median:{position}", s, ".3f")
        lo, hi = TUTORIAL_RANGES.get(position, (float("nan"), float("nan")))
        rows.append({"network": NET_LABEL[net], "layer": f"{layer + 1} ({position})", "units": int(len(grp) / len(per_seed)),
                     "median α (mean over seeds, 95% CI)": ci_text(s, 3),
                     "α 10th–90th percentile": f"{grp['value'].quantile(0.1):.3f} – {grp['value'].quantile(0.9):.3f}",
                     "tutorial's range": f"{lo:g} – {hi:g}",
                     "median inside the range": "yes" if lo <= s["mean"] <= hi else "no",
                     "test accuracy %": ci_text(stats.mean_ci(100 * grp.groupby('seed')['test_accuracy'].first()), 1)})
    m.table("prelu_slopes_summary", pd.DataFrame(rows))
    closest = p.loc[(p["value"] - 1).abs().idxmin(), "value"]
    m.add("prelu.learned_alpha_closest_to_1", float(closest), ".3f")
    # "some units learn α ≈ 1": per seed, how many units end within 0.1 of 1 (a bound on every seed)
    near_one = p.assign(near=(p["value"] - 1).abs() <= 0.1).groupby("seed")["near"].sum()
    m.add("prelu.units_alpha_near_1_per_seed", ms.mean_of(near_one.astype(float)), ".3g")
    m.add("prelu.learned_alpha_max", float(p["value"].max()), ".3f")
    m.add("prelu.learned_alpha_min", float(p["value"].min()), ".3f")
    m.add("prelu.share_alpha_near_1_pct", 100 * float(((p["value"] - 1).abs() <= 0.1).mean()), ".2g")
    m.add("prelu.share_alpha_negative_pct", 100 * float((p["value"] < 0).mean()), ".2g")
    m.add("prelu.units", int(len(p)), ",d")

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, net in zip(axes, ("cnn", "mlp")):
        sub = p[p["net"] == net].copy()
        if sub.empty:
            continue
        sub["layer"] = (sub["layer"] + 1).astype(str) + " (" + sub["layer_position"] + ")"
        order = sorted(sub["layer"].unique())
        for i, name in enumerate(order):
            position = name.split("(")[1].rstrip(")")
            if position in TUTORIAL_RANGES:
                lo, hi = TUTORIAL_RANGES[position]
                ax.fill_between([i - 0.45, i + 0.45], lo, hi, color="tab:orange", alpha=0.25, lw=0,
                                label="tutorial's range" if i == 0 else None)
        ax.boxplot([sub.loc[sub["layer"] == name, "value"].to_numpy() for name in order], positions=range(len(order)),
                   widths=0.5, flierprops={"markersize": 1.5})
        ax.set_xticks(range(len(order)), order)
        ax.axhline(0.25, color="grey", ls=":", lw=0.8)
        ax.set(title=NET_LABEL[net], xlabel="layer", ylabel="learned α (all seeds)")
        ax.legend(fontsize=8, loc="upper right")
    fig.suptitle("PReLU slopes after training on MNIST (dotted: the initial 0.25)")
    fig.tight_layout()
    m.figure("prelu_slopes", fig)


def _swish(m) -> None:
    s = m.df[m.df["activation"] == "swish_beta"]
    if s.empty:
        return
    per_seed = s.groupby("seed")["value"].mean()
    m.add_ci("swish_beta.learned_beta_mean", per_seed, ".3f")
    m.add("swish_beta.learned_beta_min", float(s["value"].min()), ".3f")
    m.add("swish_beta.learned_beta_max", float(s["value"].max()), ".3f")
    rows = []
    for (net, layer, position), grp in s.groupby(["net", "layer", "layer_position"], sort=True):
        rows.append({"network": net.upper(), "layer": f"{layer + 1} ({position})",
                     "β (mean over seeds, 95% CI)": ci_text(stats.mean_ci(grp["value"]), 3)})
    m.table("prelu_slopes_swish_beta", pd.DataFrame(rows))


def build(results_dir, out_dir, book) -> None:
    for m in machines(results_dir, STUDY, out_dir, book):
        _prelu(m)
        _swish(m)
