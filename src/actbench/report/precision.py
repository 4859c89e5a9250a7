"""Report for `precision`: which activations give inf/NaN on finite 16-bit inputs (PyTorch's
modules vs hand-typed formulas, forward and backward), and bfloat16 autocast training."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from actbench import activations, stats
from actbench.report.ablation_common import ci_text, last_epoch, machines, p_text, paired_by_seed, pretty, verdict_word

STUDY = "precision"
TUTORIAL_SAFE = {"relu": "safe", "leaky_relu": "safe", "tanh": "safe", "sigmoid": "safe",
                 "gelu": "can overflow", "silu": "can overflow", "elu": "can overflow"}


def _count(row, col) -> str:
    n = row[col]
    return "–" if not np.isfinite(n) else f"{int(n)}"


def _overflow(m) -> None:
    o = m.df[m.df["quantity"] == "overflow"]
    fmt = m.df[m.df["quantity"] == "format"]
    if o.empty:
        return
    for _, r in fmt.iterrows():
        m.add(f"{r['dtype']}.max_finite", float(r["max_finite"]), ",.6g", exact=True)
        m.add(f"{r['dtype']}.finite_inputs", int(r["inputs"]), ",d")
    heat = {}
    for dtype in ("float16", "bfloat16"):
        rows = []
        sub = o[o["dtype"] == dtype]
        for act in dict.fromkeys(sub["activation"]):
            mod = sub[(sub["activation"] == act) & (sub["provider"] == "module")]
            man = sub[(sub["activation"] == act) & (sub["provider"] == "manual")]
            if mod.empty:
                continue
            r = mod.iloc[0]
            # every finite input of the format is evaluated: an exact count, no sampling
            m.add(f"{dtype}.{act}.nonfinite_output_fraction", float(r["fwd_nonfinite"] / r["inputs"]), ".3g", exact=True)
            m.add(f"{dtype}.{act}.nonfinite_gradient_fraction", float(r["bwd_nonfinite"] / r["inputs"]), ".3g",
                  exact=True)
            m.add(f"{dtype}.{act}.nonfinite_outputs", int(r["fwd_nonfinite"]), ",d")
            m.add(f"{dtype}.{act}.nonfinite_gradients", int(r["bwd_nonfinite"]), ",d")
            row = {"activation": pretty(act), "tutorial": TUTORIAL_SAFE.get(act, "–"),
                   "module: inf/NaN outputs": _count(r, "fwd_nonfinite"),
                   "of which the exact value fits": _count(r, "fwd_implementation"),
                   "module: inf/NaN gradients": _count(r, "bwd_nonfinite")}
            if not man.empty:
                q = man.iloc[0]
                # the formula typed from primitives, as the tutorial's own code writes it
                m.add(f"{dtype}.{act}.manual.nonfinite_output_fraction", float(q["fwd_nonfinite"] / q["inputs"]),
                      ".3g", exact=True)
                m.add(f"{dtype}.{act}.manual.nonfinite_gradient_fraction", float(q["bwd_nonfinite"] / q["inputs"]),
                      ".3g", exact=True)
                m.add(f"{dtype}.{act}.manual.nonfinite_outputs", int(q["fwd_nonfinite"]), ",d")
                m.add(f"{dtype}.{act}.manual.nonfinite_gradients", int(q["bwd_nonfinite"]), ",d")
                row.update({"hand-typed formula: inf/NaN outputs": _count(q, "fwd_nonfinite"),
                            "hand-typed: inf/NaN gradients": _count(q, "bwd_nonfinite"),
                            "smallest input size with a problem (hand-typed)": q["smallest_bad_abs_x"]})
                heat.setdefault(dtype, {})[pretty(act)] = {
                    "module fwd": r["fwd_nonfinite"] / r["inputs"], "module bwd": r["bwd_nonfinite"] / r["inputs"],
                    "formula fwd": q["fwd_nonfinite"] / q["inputs"], "formula bwd": q["bwd_nonfinite"] / q["inputs"]}
            row["smallest input size with a problem (module)"] = r["smallest_bad_abs_x"]
            rows.append(row)
        m.table(f"precision_overflow_{dtype}", pd.DataFrame(rows), digits=4)
    if heat:
        for dtype, h in heat.items():  # one figure per format (they are read one at a time)
            grid = 100 * pd.DataFrame(h).T
            fig, ax = plt.subplots(figsize=(5.6, 0.34 * len(grid) + 1.3))
            sns.heatmap(grid, annot=True, fmt=".2g", cmap="rocket_r", ax=ax, vmin=0, vmax=50, annot_kws={"size": 9},
                        cbar_kws={"label": "% of finite inputs giving inf/NaN"})
            ax.set_title(f"every finite {dtype} input")
            fig.tight_layout()
            data = grid.rename_axis("activation").reset_index().melt(id_vars="activation", var_name="path",
                                                                      value_name="nonfinite_pct")
            m.figure(f"precision_overflow_{dtype}", fig, data)


def _autocast(m) -> None:
    a = m.df[m.df["quantity"] == "autocast"]
    if a.empty:
        return
    final = last_epoch(a, ["activation", "autocast", "seed"]).assign(acc=lambda d: 100 * d["test_accuracy"])
    m.add("seeds", int(final["seed"].nunique()), "d")
    m.add("epochs", int(a["epoch"].max()), "d")
    m.add("train_rows", int(a["train_subset"].iloc[0]), ",d")
    rows, plot = [], []
    for act, grp in final.groupby("activation", sort=False):
        pair = paired_by_seed(grp, "autocast", "acc", "bfloat16", "float32")
        m.add(f"{act}.autocast_accuracy_diff_pp", pair.estimate, ".3f")
        m.add(f"{act}.autocast_accuracy_diff_pp_ci95", (pair.ci_high - pair.ci_low) / 2, ".3f")
        rows.append({"activation": pretty(act),
                     "float32 accuracy %": ci_text(stats.mean_ci(grp.loc[grp["autocast"] == "float32", "acc"])),
                     "bfloat16 autocast %": ci_text(stats.mean_ci(grp.loc[grp["autocast"] == "bfloat16", "acc"])),
                     "difference (pp, paired)": f"{pair.estimate:.2f} [{pair.ci_low:.2f}, {pair.ci_high:.2f}]",
                     "p (paired t)": p_text(pair.p),
                     "verdict": verdict_word(pair.estimate, pair.p, "bfloat16 better", "bfloat16 worse"),
                     "diverged runs": int(grp["diverged"].sum())})
        plot.append({"activation": act, "diff_pp": pair.estimate, "ci_low": pair.ci_low, "ci_high": pair.ci_high,
                     "seeds": pair.n})
    m.table("precision_autocast", pd.DataFrame(rows))
    p = pd.DataFrame(plot)
    fig, ax = plt.subplots(figsize=(5.6, 3.0))
    for i, r in enumerate(p.itertuples()):
        ax.errorbar([i], [r.diff_pp], yerr=[[r.diff_pp - r.ci_low], [r.ci_high - r.diff_pp]], fmt="o", capsize=4,
                    color=activations.colour(r.activation, "#555555"))
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xticks(range(len(p)), [pretty(a) for a in p["activation"]])
    ax.set_ylabel("bfloat16 − float32 accuracy (pp)")
    fig.tight_layout()
    m.figure("precision_autocast", fig, p)


def build(results_dir, out_dir, book) -> None:
    for m in machines(results_dir, STUDY, out_dir, book):
        _overflow(m)
        _autocast(m)
