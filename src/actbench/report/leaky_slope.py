"""Report for `leaky_slope`: accuracy and dead units against LeakyReLU's negative slope,
on the Experiment 1 MLP and on a deep (> 50 layers) plain MLP.

The tutorial's slope numbers are ImageNet top-1; both networks are MNIST proxies. The
comparisons the passage makes (0.01 vs 0.3: "too large"; 0.1 vs 0.01: "for very deep
networks") are paired by seed (both arms share the batch order and the initial draws)
and Holm-adjusted as one family, ``FAMILY``, on both networks. A network's comparisons
count only if it is adequately trained (``<net>.adequate``): every run reaches
``MIN_ACCURACY_PCT[net]`` test accuracy and gains at most ``PLATEAU_PP`` points in its
last epoch.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from actbench import measurement as ms
from actbench import activations, stats
from actbench.report.common import WIDTH_IN, legend_below
from actbench.report.ablation_common import ci_text, last_epoch, machines, p_text, paired_by_seed, verdict_word
from actbench.verdicts import fmt

STUDY = "leaky_slope"
NETS = {"shallow": "Experiment 1 MLP (784-256-128-10)", "deep": "deep MLP"}
FAMILY = "§3.2 slope choice"
COMPARISONS = (("shallow", 0.01, 0.3), ("deep", 0.01, 0.3), ("deep", 0.1, 0.01), ("shallow", 0.1, 0.01))
EXTRA = (("deep", 0.01, 0.0),)  # shown, outside the family
MIN_ACCURACY_PCT = {"shallow": 90.0, "deep": 80.0}
PLATEAU_PP = 2.0


def adequacy(df: pd.DataFrame, net: str) -> tuple[bool, str]:
    """Every run of ``net`` reached its accuracy floor and gained ≤ PLATEAU_PP in its last epoch."""
    sub = df[(df["net"] == net) & (df["epoch"] > 0)]
    if sub.empty:
        return False, f"no {net} runs"
    rows = []
    for (slope, seed), grp in sub.groupby(["slope", "seed"]):
        acc = 100 * grp.sort_values("epoch")["test_accuracy"].to_numpy()
        gain = acc[-1] - acc[-2] if len(acc) > 1 else float("inf")
        rows.append({"acc": acc[-1], "gain": gain, "diverged": bool(grp["diverged"].any())})
    r = pd.DataFrame(rows)
    floor = MIN_ACCURACY_PCT[net]
    ok = bool((r["acc"] >= floor).all() and (r["gain"] <= PLATEAU_PP).all() and not r["diverged"].any())
    why = (f"every {net} run reaches ≥ {fmt(floor)} % test accuracy and gains ≤ {fmt(PLATEAU_PP)} points in its "
           f"last epoch: lowest accuracy {fmt(r['acc'].min(), 3)} %, largest last-epoch gain {fmt(r['gain'].max(), 2)} "
           f"points, {int(r['diverged'].sum())} diverged")
    return ok, why


def _slope_label(s: float) -> str:
    return "0 (ReLU)" if s == 0 else f"{s:g}"


def _one(m) -> None:
    df = m.df
    final = last_epoch(df, ["net", "slope", "seed"])
    m.add("seeds", int(final["seed"].nunique()), "d")
    m.add("epochs", int(df["epoch"].max()), "d")
    shallow, deep = df[df["net"] == "shallow"], df[df["net"] == "deep"]
    m.add("train_rows", int(shallow["train_subset"].iloc[0]), ",d")
    if not deep.empty:
        m.add("deep_depth", int(deep["depth"].iloc[0]), "d")
        m.add("deep_epochs", int(deep["epoch"].max()), "d")
        m.add("deep_train_rows", int(deep["train_subset"].iloc[0]), ",d")
        m.add("deep_lr", float(deep["lr"].iloc[0]), ".3g")
    for net in NETS:
        if (df["net"] == net).any():
            ok, why = adequacy(df, net)
            m.add(f"{net}.adequate", ok, exact=True)
            m.add(f"{net}.adequate.why", why)
            m.add(f"{net}.min_accuracy_pct", MIN_ACCURACY_PCT[net], ".3g")
    m.add("plateau_pp", PLATEAU_PP, ".3g")
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

    final = final.assign(acc=100 * final["test_accuracy"])
    found = {}
    for net, a, b in COMPARISONS + EXTRA:
        sub = final[final["net"] == net]
        if not {a, b} <= set(sub["slope"]):
            continue
        found[(net, a, b)] = paired_by_seed(sub, "slope", "acc", a, b)
    family = ms.with_family({k: v for k, v in found.items() if k in COMPARISONS}, FAMILY)
    tests = []
    for (net, a, b), w in found.items():
        w = family.get((net, a, b), w)
        m.add_comparison(f"{net}.test_accuracy_pct:{a:g}-{b:g}", w, ".2f")
        tests.append({"network": net, "comparison": f"α = {a:g} minus α = {b:g}", "difference (pp)": w.estimate,
                      "95% CI low": w.ci_low, "95% CI high": w.ci_high, "p (paired t)": p_text(w.p),
                      "p (Holm, family)": p_text(w.p_adjusted) if w.p_adjusted is not None else "–",
                      "verdict": verdict_word(w.estimate, w.p_for_decision, f"α = {a:g} better",
                                              f"α = {b:g} better")})
    if tests:
        m.table("leaky_slope_tests", pd.DataFrame(tests), digits=3)

    fig, axes = plt.subplots(1, 2, figsize=(WIDTH_IN, 3.2))
    slopes = sorted(final["slope"].unique())
    pos = {s: i for i, s in enumerate(slopes)}
    points = []
    for net, style in (("shallow", "o-"), ("deep", "s--")):
        sub = final[final["net"] == net]
        if sub.empty:
            continue
        for ax, col, scale in ((axes[0], "test_accuracy", 100), (axes[1], "never_positive_fraction", 100)):
            summ = stats.summarize(sub.assign(v=sub[col] * scale), "slope", "v").sort_values("slope")
            x = summ["slope"].map(pos)
            ax.errorbar(x, summ["mean"], yerr=summ["half_width"], fmt=style, capsize=3, label=NETS[net],
                        color=activations.colour("leaky_relu") if net == "shallow" else "black")
            points.append(summ[["slope", "mean", "ci_low", "ci_high", "n"]].assign(net=net, quantity=col))
    for ax, label in ((axes[0], "test accuracy %"), (axes[1], "units never positive %")):
        ax.set_xticks(range(len(slopes)), [_slope_label(s) for s in slopes])
        ax.set_xlabel("negative slope α")
        ax.set_ylabel(label)
    fig.tight_layout()
    legend_below(fig, *axes[0].get_legend_handles_labels(), ncol=2)
    data = pd.concat(points)[["quantity", "net", "slope", "mean", "ci_low", "ci_high", "n"]]
    m.figure("leaky_slope", fig, data.rename(columns={"mean": "mean_pct"}))


def build(results_dir, out_dir, book) -> None:
    for m in machines(results_dir, STUDY, out_dir, book):
        _one(m)
