"""Report for `prelu_slopes`: learned PReLU slopes per layer against the tutorial's quoted
(ImageNet) ranges, and the final beta of a learnable Swish started away from 1.

The tutorial's numbers are about ImageNet-scale training; these are MNIST-scale proxies,
read only where the setup is adequate. Adequacy (recorded as flags that the claims
require, each with the criterion and the measured value in ``<flag>.why``):

* *trained*: every run's final test accuracy is at least ``MIN_ACCURACY_PCT``;
* *moved*: the parameter travelled at least ``MOVED_FRACTION`` of the distance from its
  start to the claimed value (either direction: a parameter that moves away from the
  claim is trained too), and at least ``MIN_MOVE``; in every seed;
* *settled*: its change over the last epoch is at most ``SETTLED_FRACTION`` of its total
  change, in every seed (it is no longer drifting).
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from actbench import measurement as ms
from actbench import activations, stats
from actbench.report.common import WIDTH_IN, legend_below
from actbench.report.ablation_common import ci_text, machines
from actbench.verdicts import fmt

STUDY = "prelu_slopes"
TUTORIAL_RANGES = {"early": (0.01, 0.05), "middle": (0.1, 0.3), "late": (0.05, 0.15)}
NET_LABEL = {"cnn": "CNN, one α per channel", "mlp": "MLP, one α per unit"}
NETS = ("cnn", "mlp")
MIN_ACCURACY_PCT = 90.0
MOVED_FRACTION = 0.5
MIN_MOVE = 0.05
SETTLED_FRACTION = 0.25
NEAR_ONE = 0.1  # "α ≈ 1": within 0.1 of 1
BETA_CLAIMED, BETA_TOL = 1.0, 0.2  # "β ≈ 1.0": within ±20 %


def _distance_to_range(x: float, lo: float, hi: float) -> float:
    return 0.0 if lo <= x <= hi else min(abs(x - lo), abs(x - hi))


def needed_move(start: float, target) -> float:
    """The smallest movement that counts as trained for a claimed value or range."""
    lo, hi = (target, target) if np.isscalar(target) else target
    return max(MIN_MOVE, MOVED_FRACTION * _distance_to_range(start, lo, hi))


def _runs(df: pd.DataFrame, quantity: str) -> pd.DataFrame:
    return df[df["quantity"] == quantity]


def _accuracy_check(final: pd.DataFrame) -> tuple[bool, str]:
    acc = 100 * final.groupby(["net", "seed", "init"])["test_accuracy"].first()
    if acc.empty:
        return False, "no finished runs"
    worst = float(acc.min())
    ok = bool(worst >= MIN_ACCURACY_PCT) and not bool(final["diverged"].any())
    return ok, f"final test accuracy ≥ {fmt(MIN_ACCURACY_PCT)} % in every run: lowest {fmt(worst, 3)} %"


def _layer_path(traj: pd.DataFrame, layer: int) -> pd.DataFrame:
    """Per (seed, init): the layer's median slope at the start, the last epoch and the one before."""
    rows = []
    for (seed, init), grp in traj[traj["layer"] == layer].groupby(["seed", "init"]):
        grp = grp.sort_values("epoch")
        rows.append({"seed": seed, "init": init, "start": float(grp["value"].iloc[0]),
                     "last": float(grp["value"].iloc[-1]),
                     "before": float(grp["value"].iloc[-2]) if len(grp) > 1 else math.nan})
    return pd.DataFrame(rows)


def prelu_checks(df: pd.DataFrame, net: str, position: str) -> dict[str, tuple[bool, str]]:
    """The adequacy checks of one net's PReLU layer at ``position`` (early/middle/late)."""
    p = df[(df["activation"] == "prelu") & (df["net"] == net)]
    final, traj = _runs(p, "final"), _runs(p, "trajectory")
    out = {"trained": _accuracy_check(final)}
    layers = final.loc[final["layer_position"] == position, "layer"].unique()
    if len(layers) != 1 or traj.empty:
        out["moved"] = out["settled"] = (False, f"no {position} layer recorded")
        return out
    path = _layer_path(traj, int(layers[0]))
    need = needed_move(float(path["start"].iloc[0]), TUTORIAL_RANGES[position])
    moved = (path["last"] - path["start"]).abs()
    out["moved"] = (bool((moved >= need).all()),
                    f"median α moved ≥ {fmt(need, 3)} from its start {fmt(path['start'].iloc[0], 3)} in every seed "
                    f"(half the distance to the tutorial's range, at least {fmt(MIN_MOVE)}): smallest move "
                    f"{fmt(moved.min(), 3)}")
    drift = (path["last"] - path["before"]).abs()
    ratio = drift / moved.where(moved > 0)
    worst = float(ratio.max()) if ratio.notna().all() else math.inf
    out["settled"] = (bool(worst <= SETTLED_FRACTION),
                      f"the last epoch changed the median α by ≤ {fmt(SETTLED_FRACTION)} of its total change in "
                      f"every seed: largest share {fmt(worst, 2)}")
    return out


def linear_checks(df: pd.DataFrame, net: str) -> dict[str, tuple[bool, str]]:
    """Adequacy for "some units learn α ≈ 1": trained, and some unit could travel half way to 1."""
    p = df[(df["activation"] == "prelu") & (df["net"] == net)]
    final = _runs(p, "final")
    out = {"trained": _accuracy_check(final)}
    if final.empty:
        out["moved"] = (False, "no finished runs")
        return out
    start = float(final["init"].iloc[0])
    need = needed_move(start, 1.0)
    far = final.assign(d=(final["value"] - start).abs()).groupby("seed")["d"].max()
    out["moved"] = (bool((far >= need).all()),
                    f"in every seed some unit's α moved ≥ {fmt(need, 3)} from {fmt(start, 3)} (half the way to 1): "
                    f"smallest farthest move {fmt(far.min(), 3)}")
    return out


def beta_checks(df: pd.DataFrame) -> dict[str, tuple[bool, str]]:
    """Adequacy of the Swish-β runs (every net and start)."""
    s = df[df["activation"] == "swish_beta"]
    final, traj = _runs(s, "final"), _runs(s, "trajectory")
    out = {"trained": _accuracy_check(final)}
    if final.empty or traj.empty:
        out["moved"] = out["settled"] = (False, "no finished runs")
        return out
    moves, drifts, needs = [], [], {}
    for (net, seed, init), grp in traj.groupby(["net", "seed", "init"]):
        paths = [_layer_path(grp, int(layer)).iloc[0] for layer in sorted(grp["layer"].unique())]
        moved = float(np.mean([abs(r["last"] - r["start"]) for r in paths]))
        drift = float(np.mean([abs(r["last"] - r["before"]) for r in paths]))
        need = needed_move(float(init), BETA_CLAIMED)
        needs[float(init)] = need
        moves.append({"net": net, "init": float(init), "moved": moved, "need": need})
        drifts.append(drift / moved if moved > 0 else math.inf)
    mv = pd.DataFrame(moves)
    worst = mv.assign(r=mv["moved"] / mv["need"]).sort_values("r").iloc[0]
    out["moved"] = (bool((mv["moved"] >= mv["need"]).all()),
                    "β moved (mean over layers) at least half the way from its start to 1 in every run ("
                    + ", ".join(f"≥ {fmt(n, 3)} from {fmt(b, 3)}" for b, n in sorted(needs.items()))
                    + f"): least {fmt(worst['moved'], 3)} from {fmt(worst['init'], 3)} ({worst['net'].upper()})")
    share = max(drifts)
    out["settled"] = (bool(share <= SETTLED_FRACTION),
                      f"the last epoch changed β by ≤ {fmt(SETTLED_FRACTION)} of its total change (mean over layers) "
                      f"in every run: largest share {fmt(share, 2)}")
    return out


def _flag(m, name: str, checks: dict[str, tuple[bool, str]], prefix: str = "") -> bool:
    ok = all(v[0] for v in checks.values())
    failing = [f"{prefix}{k}: {v[1]}" for k, v in checks.items() if not v[0]]
    shown = failing if failing else [f"{prefix}{k}: {v[1]}" for k, v in checks.items()]
    m.add(name, ok, exact=True)
    m.add(f"{name}.why", "; ".join(shown))
    return ok


def _prelu(m) -> None:
    p = m.df[m.df["activation"] == "prelu"]
    final = _runs(p, "final")
    if final.empty:
        return
    m.add("seeds", int(final["seed"].nunique()), "d")
    for net in NETS:
        sub = final[final["net"] == net]
        if sub.empty:
            continue
        m.add(f"{net}.epochs", int(sub["epochs"].iloc[0]), "d")
        m.add(f"{net}.train_rows", int(sub["train_subset"].iloc[0]), ",d")
        m.add_ci(f"{net}.prelu.test_accuracy_pct", 100 * sub.groupby("seed")["test_accuracy"].first(), ".1f")
    m.add("alpha_init", float(final["init"].iloc[0]), ".3g")
    m.add("lr", float(final["lr"].iloc[0]), ".3g")
    m.add("param_lr", float(final["param_lr"].iloc[0]), ".3g")
    m.add("min_accuracy_pct", MIN_ACCURACY_PCT, ".3g")
    m.add("moved_fraction_pct", 100 * MOVED_FRACTION, ".3g")
    m.add("settled_fraction_pct", 100 * SETTLED_FRACTION, ".3g")

    rows = []
    for (net, layer, position), grp in final.groupby(["net", "layer", "layer_position"], sort=True):
        per_seed = grp.groupby("seed")["value"].median()
        s = stats.mean_ci(per_seed)
        m.add_ci(f"{net}.prelu.learned_alpha_median:{position}", s, ".3f")
        checks = prelu_checks(m.df, net, position)
        m.add(f"{net}.prelu.alpha_moved:{position}", checks["moved"][0], exact=True)
        m.add(f"{net}.prelu.alpha_settled:{position}", checks["settled"][0], exact=True)
        lo, hi = TUTORIAL_RANGES.get(position, (float("nan"), float("nan")))
        rows.append({"network": NET_LABEL[net], "layer": f"{layer + 1} ({position})",
                     "units": int(len(grp) / len(per_seed)),
                     "median α (mean over seeds, 95% CI)": ci_text(s, 3),
                     "α 10th–90th percentile": f"{grp['value'].quantile(0.1):.3f} – {grp['value'].quantile(0.9):.3f}",
                     "tutorial's range (ImageNet)": f"{lo:g} – {hi:g}",
                     "moved enough": "yes" if checks["moved"][0] else "no",
                     "settled": "yes" if checks["settled"][0] else "no",
                     "test accuracy %": ci_text(stats.mean_ci(100 * grp.groupby('seed')['test_accuracy'].first()), 1)})
    m.table("prelu_slopes_summary", pd.DataFrame(rows))
    # one adequacy flag per claim: both readings (per channel, per unit) must be adequate
    for position in TUTORIAL_RANGES:
        checks = {}
        for net in NETS:
            checks.update({f"{net.upper()} {k}": v for k, v in prelu_checks(m.df, net, position).items()})
        _flag(m, f"prelu.adequate:{position}", checks)
    checks = {}
    for net in NETS:
        checks.update({f"{net.upper()} {k}": v for k, v in linear_checks(m.df, net).items()})
    _flag(m, "prelu.adequate:linear", checks)

    # "some units learn α ≈ 1": per seed, how many units end within NEAR_ONE of 1 (a bound on every seed)
    for net in NETS:
        sub = final[final["net"] == net]
        if sub.empty:
            continue
        near = sub.assign(near=(sub["value"] - 1).abs() <= NEAR_ONE).groupby("seed")["near"].sum()
        m.add(f"{net}.prelu.units_alpha_near_1_per_seed", ms.mean_of(near.astype(float)), ".3g")
        m.add(f"{net}.prelu.units", int(len(sub) / sub["seed"].nunique()), ",d")
    near = final.assign(near=(final["value"] - 1).abs() <= NEAR_ONE).groupby("seed")["near"].sum()
    m.add("prelu.units_alpha_near_1_per_seed", ms.mean_of(near.astype(float)), ".3g")
    closest = final.loc[(final["value"] - 1).abs().idxmin(), "value"]
    m.add("prelu.learned_alpha_closest_to_1", float(closest), ".3f")
    m.add("prelu.learned_alpha_max", float(final["value"].max()), ".3f")
    m.add("prelu.learned_alpha_min", float(final["value"].min()), ".3f")
    m.add("prelu.share_alpha_near_1_pct", 100 * float(((final["value"] - 1).abs() <= NEAR_ONE).mean()), ".2g")
    m.add("prelu.share_alpha_negative_pct", 100 * float((final["value"] < 0).mean()), ".2g")
    m.add("prelu.units", int(len(final)), ",d")

    fig, axes = plt.subplots(1, 2, figsize=(WIDTH_IN, 3.2), sharey=True)
    points = []
    for ax, net in zip(axes, NETS):
        sub = final[final["net"] == net].copy()
        if sub.empty:
            continue
        sub["layer"] = (sub["layer"] + 1).astype(str) + " (" + sub["layer_position"] + ")"
        order = sorted(sub["layer"].unique())
        for i, name in enumerate(order):
            position = name.split("(")[1].rstrip(")")
            if position in TUTORIAL_RANGES:
                lo, hi = TUTORIAL_RANGES[position]
                ax.fill_between([i - 0.45, i + 0.45], lo, hi, color="black", alpha=0.12, lw=0,
                                label="tutorial's range (ImageNet)" if i == 0 else None)
        ax.boxplot([sub.loc[sub["layer"] == name, "value"].to_numpy() for name in order], positions=range(len(order)),
                   widths=0.5, flierprops={"markersize": 1.5},
                   boxprops={"color": activations.colour("prelu")}, medianprops={"color": "black"})
        points.append(sub[["net", "layer", "seed", "value"]].assign(init=float(sub["init"].iloc[0])))
        ax.set_xticks(range(len(order)), order)
        ax.axhline(float(sub["init"].iloc[0]), color="grey", ls=":", lw=0.8)
        ax.set(title=NET_LABEL[net], xlabel="layer")
    axes[0].set_ylabel("learned α, every unit and seed")
    fig.tight_layout()
    legend_below(fig, *axes[0].get_legend_handles_labels(), ncol=1)
    m.figure("prelu_slopes", fig, pd.concat(points).rename(columns={"value": "learned_alpha"}))


def _swish(m) -> None:
    s = m.df[m.df["activation"] == "swish_beta"]
    final, traj = _runs(s, "final"), _runs(s, "trajectory")
    if final.empty:
        return
    lo, hi = BETA_CLAIMED * (1 - BETA_TOL), BETA_CLAIMED * (1 + BETA_TOL)
    near = final.assign(near=final["value"].between(lo, hi)).groupby("seed")["near"].mean()
    m.add_ci("swish_beta.share_near_1_pct", 100 * near, ".3g")
    m.add("swish_beta.runs_per_seed", int(len(final) / final["seed"].nunique()), "d")
    # the mean over every run and start (the ledger's first reading; with starts on both
    # sides of 1 a mean near 1 can hide that no run ends there, hence the share above)
    m.add_ci("swish_beta.learned_beta_mean", final.groupby("seed")["value"].mean(), ".3f")
    m.add("swish_beta.learned_beta_min", float(final["value"].min()), ".3f")
    m.add("swish_beta.learned_beta_max", float(final["value"].max()), ".3f")
    for init, grp in final.groupby("init"):
        m.add_ci(f"swish_beta.start:{init:g}.learned_beta_mean", grp.groupby("seed")["value"].mean(), ".3f")
    # does the end point depend on the start? |β(start a) − β(start b)| per net, layer and seed
    inits = sorted(final["init"].unique())
    if len(inits) >= 2:
        wide = final.pivot_table(index=["net", "layer", "seed"], columns="init", values="value")
        gap = (wide[inits[-1]] - wide[inits[0]]).abs().groupby("seed").mean()
        m.add_ci("swish_beta.start_gap", gap, ".3f")
    checks = beta_checks(m.df)
    _flag(m, "swish_beta.adequate", checks)
    rows = []
    for (net, init, layer, position), grp in final.groupby(["net", "init", "layer", "layer_position"], sort=True):
        rows.append({"network": net.upper(), "start β": f"{init:g}", "layer": f"{layer + 1} ({position})",
                     "final β (mean over seeds, 95% CI)": ci_text(stats.mean_ci(grp["value"]), 3),
                     f"seeds within {lo:g}–{hi:g}": f"{int(grp['value'].between(lo, hi).sum())} of {len(grp)}"})
    m.table("prelu_slopes_swish_beta", pd.DataFrame(rows))

    if traj.empty:
        return
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH_IN, 3.0), sharey=True)
    points = []
    styles = ("-", "--", ":", "-.")
    for ax, net in zip(axes, NETS):
        sub = traj[traj["net"] == net]
        for (init, layer), grp in sub.groupby(["init", "layer"]):
            path = grp.groupby("epoch")["value"].median()
            # Swish-β's colour from a start above 1, black from below; the line style is the layer
            ax.plot(path.index, path.to_numpy(), styles[int(layer) % len(styles)], marker="o", ms=3,
                    color="black" if init < 1 else activations.colour("swish_beta"),
                    label=f"start {init:g}, layer {layer + 1}")
            points.append(pd.DataFrame({"net": net, "start": init, "layer": layer + 1, "epoch": path.index,
                                        "median_beta": path.to_numpy()}))
        ax.axhspan(lo, hi, color="black", alpha=0.1, lw=0)
        ax.set(title=net.upper(), xlabel="epoch")
    axes[0].set_ylabel("β, median of seeds")
    fig.tight_layout()
    legend_below(fig, *axes[0].get_legend_handles_labels(), ncol=3)
    m.figure("prelu_slopes_beta", fig, pd.concat(points))


def build(results_dir, out_dir, book) -> None:
    for m in machines(results_dir, STUDY, out_dir, book):
        _prelu(m)
        _swish(m)
