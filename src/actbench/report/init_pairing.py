"""Report for `init_pairing`: the variances torch.nn.init draws, the §7.1 one-layer example,
activation statistics through depth at initialisation, and MNIST accuracy per activation x init."""

from __future__ import annotations

import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
import seaborn as sns

from actbench import activations, stats
from actbench import measurement as ms
from actbench.report.ablation_common import ci_text, last_epoch, machines, paired_by_seed, pretty
from actbench.report.common import activation_lines, legend_below, panel_grid, quantiles

STUDY = "init_pairing"
INITS = ["xavier", "he", "lecun", "torch_default"]
WEIGHT_QUANTITIES = {
    "xavier_uniform.weight_var:100x256": ("Xavier-uniform Var(W), Linear(100, 256)", 2 / 356),
    "xavier_uniform.weight_var_times_fan_in:square": ("Xavier-uniform Var(W)·fan_in, square layer", 1.0),
    "xavier_uniform.weight_var_times_fan_in:100x256": ("Xavier-uniform Var(W)·fan_in, Linear(100, 256)", 200 / 356),
    "xavier_uniform.weight_var_times_fan_in:256x128": ("Xavier-uniform Var(W)·fan_in, Linear(256, 128)", 512 / 384),
    "kaiming_normal_relu.weight_var_times_fan_in": ("He-normal (ReLU) Var(W)·fan_in", 2.0),
    "kaiming_normal_leaky:0.01.weight_var_times_fan_in": ("He-normal (LeakyReLU 0.01) Var(W)·fan_in", 2 / 1.0001),
    "torch.nn.Linear.default_weight_var:100x256": ("PyTorch default Var(W), Linear(100, 256)", 1 / 300),
}
# the tutorial's §7.1 pairing table, as "this init beats that one" comparisons (one family)
PAIRINGS = (("sigmoid", "xavier", "he"), ("tanh", "xavier", "he"), ("relu", "he", "xavier"))
PAIRING_FAMILY = "§7.1 pairings"
PLOTTED = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "silu", "mish", "softplus"]


def _variances(m) -> None:
    df = m.df
    rows = []
    for q, (label, formula) in WEIGHT_QUANTITIES.items():
        values = df.loc[df["quantity"] == q, "value"]
        if values.empty:  # results from before the quantity existed
            continue
        s = stats.mean_ci(values)
        m.add_ci(q, values, ".4g")
        rows.append({"quantity": label, "formula": formula, "measured (95% CI)": ci_text(s, 5)})
    for init in ("xavier", "he"):
        for q in ("pre_activation_var", "activation_var", "activation_second_moment"):
            key = f"relu_{init}_100x100.{q}"
            values = df.loc[df["quantity"] == key, "value"]
            s = stats.mean_ci(values)
            m.add_ci(key, values, ".3g")
            rows.append({"quantity": f"§7.1 example, {init}: {q.replace('_', ' ')}", "formula": float("nan"),
                         "measured (95% CI)": ci_text(s, 4)})
    m.table("init_pairing_variances", pd.DataFrame(rows), digits=4)


def _depth(m) -> None:
    f = m.df[m.df["quantity"] == "forward"].copy()
    if f.empty:
        return
    depth = int(f["layer"].max())
    m.add("depth", depth, "d")
    m.add("width", int(f["width"].iloc[0]), "d")
    m.add("stat_seeds", int(f["seed"].nunique()), "d")
    last = f[f["layer"] == depth]
    # geometric mean over seeds of the last layer's second moment
    table = {}
    for (act, init), grp in last.groupby(["activation", "init"], sort=False):
        g = stats.log10_summary(grp["second_moment"])
        table.setdefault(act, {})[init] = g["geo_mean"]
        m.add(f"{act}_{init}.depth:{depth}.activation_second_moment", ms.geo_mean_of(grp["second_moment"]), ".3g")
    rows = []
    for act, by_init in table.items():
        row = {"activation": pretty(act), "registry init": activations.get(act).init}
        row.update({i: by_init.get(i, float("nan")) for i in INITS})
        rows.append(row)
    m.table("init_pairing_depth", pd.DataFrame(rows), digits=3)

    # Claim: with ReLU, Xavier shrinks the signal with depth, He keeps it.
    relu = last[last["activation"] == "relu"]
    he = np.log10(relu.loc[relu["init"] == "he", "second_moment"].clip(lower=1e-300))
    xa = np.log10(relu.loc[relu["init"] == "xavier", "second_moment"].clip(lower=1e-300))
    m.add_comparison(f"depth:{depth}.relu_second_moment_log10_he_minus_xavier", ms.difference(he, xa))
    # Claim: GELU under He init keeps the statistics "like ReLU": per-layer ratio of second
    # moments, as the geometric mean over all layers and for the first layer alone (unit-scale
    # input; the ratio depends on the scale), and GELU's minus ReLU's at the same seed (same
    # weights and input).
    ratios = {}
    for act in ("gelu", "relu", "silu"):
        sub = f[(f["activation"] == act) & (f["init"] == "he")]
        per_seed, first = {}, {}
        for seed, grp in sub.groupby("seed"):
            grp = grp.sort_values("layer")
            m0, m1, mL = (grp["second_moment"].iloc[i] for i in (0, 1, -1))
            per_seed[seed] = (mL / m0) ** (1 / depth) if m0 > 0 and mL > 0 else np.nan
            first[seed] = m1 / m0 if m0 > 0 else np.nan
        ratios[act] = (pd.Series(per_seed), pd.Series(first))
        m.add_ci(f"{act}_he.activation_second_moment_ratio_per_layer", list(per_seed.values()), ".3g")
        m.add_ci(f"{act}_he.activation_second_moment_ratio:layer1", list(first.values()), ".3g")
    for i, name in ((0, "ratio_per_layer"), (1, "ratio:layer1")):
        gelu, relu = ratios["gelu"][i], ratios["relu"][i]
        seeds = gelu.index.intersection(relu.index)
        m.add_comparison(f"gelu_he-relu_he.activation_second_moment_{name}",
                         ms.difference(gelu[seeds].to_numpy(), relu[seeds].to_numpy(), paired=True), ".3g")

    # §7.1: "Xavier keeps [sigmoid] inputs in the linear region (-2, 2)": share of all
    # pre-activations of all layers inside (-2, 2), per seed
    if "pre_within_2" in f.columns:
        for act in ("sigmoid", "tanh"):
            for init in ("xavier", "he"):
                sub = f[(f["activation"] == act) & (f["init"] == init) & (f["layer"] > 0)]
                if not sub.empty:
                    m.add_ci(f"{act}_{init}.pre_activation_within_2_fraction",
                             sub.groupby("seed")["pre_within_2"].mean(), ".3g")

    plot = f[f["activation"].isin(PLOTTED)].copy()
    plot["second_moment"] = plot["second_moment"].where(np.isfinite(plot["second_moment"]) &
                                                        (plot["second_moment"] > 0))
    summary = quantiles(plot, ["init", "activation", "layer"], "second_moment")
    inits = [i for i in INITS if i in set(summary["init"])]
    fig, axes = panel_grid(len(inits), 2, 2.4, "layer", "E[a²], median of seeds", sharex=True, sharey=True)
    for ax, init in zip(axes, inits):
        activation_lines(ax, summary[summary["init"] == init], "layer", "median", "p10", "p90")
        ax.set(yscale="log", title=init)
    fig.tight_layout()
    legend_below(fig, *axes[0].get_legend_handles_labels(), ncol=5)
    m.figure("init_pairing_depth", fig, summary)


def _training(m) -> None:
    t = m.df[m.df["quantity"] == "train"]
    if t.empty:
        return
    final = last_epoch(t, ["activation", "init", "seed"])
    m.add("train_seeds", int(final["seed"].nunique()), "d")
    m.add("train_epochs", int(t["epoch"].max()), "d")
    m.add("train_depth", int(t["train_depth"].iloc[0]), "d")
    m.add("train_width", int(t["train_width"].iloc[0]), "d")
    m.add("train_rows", int(t["train_subset"].iloc[0]), ",d")
    m.add("test_rows", int(t["test_subset"].iloc[0]), ",d")
    rows, heat = [], {}
    for act, grp in final.groupby("activation", sort=False):
        rec = activations.get(act).init
        row = {"activation": pretty(act), "registry init": rec}
        means = {}
        for init in INITS:
            values = 100 * grp.loc[grp["init"] == init, "test_accuracy"]
            s = stats.mean_ci(values)
            m.add_ci(f"{act}_{init}.test_accuracy_pct", values, ".1f")
            row[init] = ci_text(s, 1)
            means[init] = s["mean"]
        heat[pretty(act)] = means
        best = max(means, key=lambda k: means[k] if np.isfinite(means[k]) else -1)
        # Is the registry's init significantly worse than the best init for this activation?
        w = stats.welch(grp.loc[grp["init"] == best, "test_accuracy"], grp.loc[grp["init"] == rec, "test_accuracy"])
        row["best init"] = best
        row["registry init vs best"] = ("is the best" if best == rec else
                                        "worse (p < 0.05)" if w["p"] < 0.05 else "no significant difference")
        row["diverged runs"] = int(grp["diverged"].sum())
        rows.append(row)
    m.table("init_pairing_accuracy", pd.DataFrame(rows))
    # §7.1's pairings as comparisons at the same seed (same data order; only the init differs)
    pairs = {(act, a, b): paired_by_seed(final[final["activation"] == act].assign(acc=lambda d: 100 * d["test_accuracy"]),
                                         "init", "acc", a, b)
             for act, a, b in PAIRINGS if act in set(final["activation"])}
    for (act, a, b), d in ms.with_family(pairs, PAIRING_FAMILY).items():
        m.add_comparison(f"{act}.test_accuracy_pct:{a}-{b}", d, ".2f")
    fig, ax = plt.subplots(figsize=(6.2, 0.36 * len(heat) + 1.2))
    grid = pd.DataFrame(heat).T[INITS]
    # the colour scale spans the measured accuracies (not 0-100 %), so the differences show
    sns.heatmap(grid, annot=True, fmt=".1f", cmap="viridis", ax=ax, annot_kws={"size": 9},
                cbar_kws={"label": "test accuracy %, mean of seeds"})
    ax.set_xlabel("initialisation")
    ax.set_ylabel("")
    ax.set_title(f"MNIST, {int(t['train_depth'].iloc[0])} hidden layers, {int(t['epoch'].max())} epochs")
    fig.tight_layout()
    data = grid.rename_axis("activation").reset_index().melt(id_vars="activation", var_name="init",
                                                              value_name="test_accuracy_pct")
    m.figure("init_pairing_accuracy", fig, data)


def build(results_dir, out_dir, book) -> None:
    for m in machines(results_dir, STUDY, out_dir, book):
        _variances(m)
        _depth(m)
        _training(m)
