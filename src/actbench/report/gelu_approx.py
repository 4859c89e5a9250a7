"""Report for `gelu_approx`: how far the tanh approximation is from exact GELU (per number
format), whether training notices, what nn.GELU() computes, and which form is faster."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from actbench import activations
from actbench import measurement as ms
from actbench.report.common import WIDTH_IN
from actbench.report.ablation_common import last_epoch, machines, p_text, paired_by_seed, verdict_word

STUDY = "gelu_approx"
DTYPES = ["float64", "float32", "bfloat16", "float16"]
GRID = {"max_abs_diff": "largest difference", "x_at": "at x", "mean_abs_diff": "mean difference",
        "fraction_inputs_differing": "inputs with different outputs",
        "max_abs_err_exact_vs_float64": "max error of exact form vs float64",
        "max_abs_err_tanh_vs_float64": "max error of tanh form vs float64 exact", "points": "inputs"}


def _grid(m) -> None:
    g = m.df[m.df["part"] == "grid"]
    if g.empty:
        return
    rows = []
    for dtype in DTYPES:
        sub = g[(g["dtype"] == dtype) & (g["quantity"] != "diff_curve")].set_index("quantity")
        if sub.empty:
            continue
        row = {"format": dtype}
        for q, label in GRID.items():
            value = sub.loc["max_abs_diff", "x_at"] if q == "x_at" else sub.loc[q, "value"]
            row[label] = float(value)
            if q != "x_at":
                m.add(f"{dtype}.{q}", float(value), ".3g")
        m.add(f"{dtype}.max_abs_diff_x", float(sub.loc["max_abs_diff", "x_at"]), ".3g")
        rows.append(row)
    m.table("gelu_approx_grid", pd.DataFrame(rows), digits=3)
    m.add("grid_limit", float(g["grid_limit"].iloc[0]), "g")
    m.add("grid_points", int(g["grid_points"].iloc[0]), ",d")
    # Deterministic: the maximum over a fixed float64 grid.
    for q in ("torch.nn.GELU.default.max_abs_diff_vs_tanh_approx", "torch.nn.GELU.default.max_abs_diff_vs_exact"):
        m.add(q, float(g.loc[g["quantity"] == q, "value"].iloc[0]), ".3g", exact=True)
    m.add("torch.nn.GELU.default.is_tanh", bool(g.loc[g["quantity"] == "torch.nn.GELU.default.is_tanh", "value"].iloc[0]),
          exact=True)


def _training(m) -> None:
    t = m.df[m.df["part"] == "train"]
    if t.empty:
        return
    final = last_epoch(t, ["activation", "seed"])
    m.add("seeds", int(final["seed"].nunique()), "d")
    m.add("epochs", int(t["epoch"].max()), "d")
    m.add("train_rows", int(t["train_subset"].iloc[0]), ",d")
    for act in ("gelu", "gelu_tanh"):
        m.add_ci(f"{act}.test_accuracy_pct", 100 * final.loc[final["activation"] == act, "test_accuracy"], ".2f")
    pair = paired_by_seed(final.assign(acc=100 * final["test_accuracy"]), "activation", "acc", "gelu", "gelu_tanh")
    m.add("accuracy_diff_pp:gelu-gelu_tanh", pair, ".3f")
    m.add("accuracy_diff_pp:gelu-gelu_tanh_ci95", pair.half_width, ".3f")
    m.add("accuracy_diff_pp:gelu-gelu_tanh_p", pair.p, ".2g")
    loss = paired_by_seed(final, "activation", "train_loss", "gelu", "gelu_tanh")
    m.add("train_loss_diff:gelu-gelu_tanh", loss, ".2g")


def _timing(m) -> None:
    tm = m.df[m.df["part"] == "timing"]
    if tm.empty:
        return
    wide = tm.pivot_table(index="round", columns="activation", values="value")
    # Interleaved rounds: the ratio within a round cancels the machine's drift between rounds.
    ratio_m = ms.ratio_of_paired(wide["gelu"], wide["gelu_tanh"])
    ratio = ratio_m.estimate
    s = {"ci_low": math.log(ratio_m.ci_low), "ci_high": math.log(ratio_m.ci_high), "mean": math.log(ratio)}
    pair = {"p": ratio_m.p}
    m.add_comparison("fwd_bwd_time_s:gelu-gelu_tanh", ratio_m)  # ratio > 1: the exact form is slower
    m.add("fwd_bwd_time_ratio:gelu_over_gelu_tanh", ratio, ".3f")
    m.add("fwd_bwd_time_ratio:gelu_over_gelu_tanh_ci_low", ratio_m.ci_low, ".3f")
    m.add("fwd_bwd_time_ratio:gelu_over_gelu_tanh_ci_high", ratio_m.ci_high, ".3f")
    for act in wide.columns:
        m.add(f"{act}.fwd_bwd_ms", 1e3 * float(wide[act].median()), ".3g")
    if "relu" in wide.columns:
        for act in ("gelu", "gelu_tanh"):
            m.add(f"{act}.fwd_bwd_time_ratio_vs_relu", ms.ratio_of_paired(wide[act], wide["relu"]), ".2f")
    m.add("timing_rounds", int(len(wide)), "d")
    m.add("timing_numel", int(tm["numel"].iloc[0]), ",d")
    m.add("timing_threads", int(tm["threads"].iloc[0]), "d")
    rows = [{"form": a, "median ms (fwd + bwd)": 1e3 * float(wide[a].median()),
             "p20 ms": 1e3 * float(wide[a].quantile(0.2)), "p80 ms": 1e3 * float(wide[a].quantile(0.8))}
            for a in wide.columns]
    rows.append({"form": "ratio exact / tanh (geometric mean, 95% CI)",
                 "median ms (fwd + bwd)": f"{ratio:.3f} [{math.exp(s['ci_low']):.3f}, {math.exp(s['ci_high']):.3f}]",
                 "p20 ms": f"p = {p_text(pair['p'])}",
                 "p80 ms": verdict_word(s["mean"], pair["p"], "exact form slower", "tanh form slower")})
    m.table("gelu_approx_timing", pd.DataFrame(rows), digits=3)


def _figure(m) -> None:
    curve = m.df[m.df["quantity"] == "diff_curve"].sort_values("x_at")
    t = m.df[m.df["part"] == "train"]
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH_IN, 3.0))
    points = []
    if not curve.empty:
        axes[0].plot(curve["x_at"], curve["value"], lw=1.5, color=activations.colour("gelu"))
        points.append(pd.DataFrame({"panel": "difference", "x": curve["x_at"], "value": curve["value"]}))
        axes[0].axhline(0, color="grey", lw=0.8)
        axes[0].set(xlabel="x", ylabel="GELU(x) − GELU_tanh(x)", title="exact minus tanh form")
    if not t.empty:
        final = last_epoch(t, ["activation", "seed"])
        wide = final.pivot_table(index="seed", columns="activation", values="test_accuracy") * 100
        for _, row in wide.iterrows():
            axes[1].plot([0, 1], [row.get("gelu"), row.get("gelu_tanh")], "-", color="grey", alpha=0.6)
            axes[1].plot([0], [row.get("gelu")], "o", color=activations.colour("gelu"))
            axes[1].plot([1], [row.get("gelu_tanh")], "o", color=activations.colour("gelu_tanh"))
        points.append(wide.reset_index().melt(id_vars="seed", var_name="activation", value_name="value")
                      .assign(panel="test accuracy %"))
        axes[1].set_xticks([0, 1], ["exact (erf)", "tanh approximation"])
        axes[1].set_xlim(-0.4, 1.4)
        axes[1].set(ylabel="test accuracy %", title="one line per seed")
    fig.tight_layout()
    if points:
        m.figure("gelu_approx", fig, pd.concat(points))


def build(results_dir, out_dir, book) -> None:
    for m in machines(results_dir, STUDY, out_dir, book):
        _grid(m)
        _training(m)
        _timing(m)
        _figure(m)
