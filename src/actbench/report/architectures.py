"""Report for `architectures`: small proxies for the tutorial's advice by architecture:
a CNN on MNIST, a byte-level transformer on Python source, a row-by-row RNN, a toy GAN."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from actbench import activations
from actbench import measurement as ms
from actbench import stats
from actbench.report.common import WIDTH_IN, legend_right
from actbench.report.ablation_common import (ALPHA, ci_text, last_epoch, machines, p_text, paired_by_seed, pretty,
                                             verdict_word)

STUDY = "architectures"


def _cnn(m, ax, points: list) -> None:
    c = m.df[m.df["part"] == "cnn"]
    if c.empty:
        return
    final = last_epoch(c, ["activation", "seed"]).assign(acc=lambda d: 100 * d["test_accuracy"])
    m.add("cnn.seeds", int(final["seed"].nunique()), "d")
    m.add("cnn.epochs", int(c["epoch"].max()), "d")
    m.add("cnn.train_rows", int(c["train_subset"].iloc[0]), ",d")
    m.add("cnn.channels", str(c["channels"].iloc[0]))
    comp = stats.compare_to_baseline(final, "activation", "acc", "relu", ALPHA) if "relu" in set(final["activation"]) \
        else pd.DataFrame()
    comp = comp.set_index("activation") if not comp.empty else comp
    acc = lambda act: final.loc[final["activation"] == act, "acc"]  # noqa: E731
    vs_relu = ms.with_family({act: ms.difference(acc(act), acc("relu")) for act in getattr(comp, "index", [])},
                             "CNN ablation: every activation against ReLU")
    rows = []
    for i, (act, grp) in enumerate(final.groupby("activation", sort=False)):
        s = stats.mean_ci(grp["acc"])
        m.add_ci(f"cnn.{act}.test_accuracy_pct", s, ".2f")
        row = {"activation": pretty(act), "test accuracy % (95% CI)": ci_text(s), "diverged runs": int(grp["diverged"].sum())}
        if act in getattr(comp, "index", []):
            r = comp.loc[act]
            row.update({"minus ReLU (pp)": r["diff"], "p (Welch, Holm)": p_text(r["p_holm"]),
                        "verdict": verdict_word(r["diff"], r["p_holm"], "better than ReLU", "worse than ReLU")})
            m.add_comparison(f"cnn.test_accuracy_pct:{act}-relu", vs_relu[act], ".2f")
        rows.append(row)
        ax.plot([i] * len(grp), grp["acc"], "o", color=activations.colour(act, "#555555"), alpha=0.6)
        ax.errorbar([i], [s["mean"]], yerr=[s["half_width"]] if math.isfinite(s["half_width"]) else None,
                    fmt="_", color="black", ms=20, capsize=4)
        points.append(grp[["activation", "seed", "acc"]].assign(kind="seed"))
        points.append(pd.DataFrame([{"activation": act, "acc": s["mean"], "ci_low": s["ci_low"],
                                     "ci_high": s["ci_high"], "kind": "mean"}]))
    m.table("architectures_cnn", pd.DataFrame(rows), digits=3)
    acts = list(dict.fromkeys(final["activation"]))
    ax.set_xticks(range(len(acts)), [pretty(a) for a in acts])
    ax.set(ylabel="test accuracy %")


def _lm(m, ax, points: list) -> None:
    lm = m.df[m.df["part"] == "lm"]
    if lm.empty:
        return
    final = last_epoch(lm, ["activation", "seed"], epoch="step")
    m.add("lm.seeds", int(final["seed"].nunique()), "d")
    m.add("lm.steps", int(lm["steps"].iloc[0]), ",d")
    for col, fmt in (("d_model", "d"), ("layers", "d"), ("context", "d"), ("batch", "d"), ("train_bytes", ",d"),
                     ("val_bytes", ",d")):
        m.add(f"lm.{col}", int(lm[col].iloc[0]), fmt)
    m.add("lm.corpus_sha256", str(lm["corpus_sha256"].iloc[0]))
    m.add("lm.corpus_files", ", ".join(f.split(":")[0] for f in str(lm["corpus_files"].iloc[0]).split(";")))
    rows = []
    for act, grp in final.groupby("activation", sort=False):
        s = stats.mean_ci(grp["val_loss"])
        m.add_ci(f"lm.{act}.val_loss", s, ".4f")
        m.add(f"lm.{act}.val_bits_per_byte", s["mean"] / math.log(2), ".3f")
        m.add(f"lm.{act}.val_perplexity", math.exp(s["mean"]), ".3f")
        m.add(f"lm.{act}.params", int(grp["params"].iloc[0]), ",d")
        row = {"feed-forward": pretty(act), "hidden width": str(int(grp["ffn_hidden"].iloc[0])),
               "parameters": f"{int(grp['params'].iloc[0]):,}", "FFN parameters": f"{int(grp['ffn_params'].iloc[0]):,}",
               "val loss, nats/byte (95% CI)": ci_text(s, 4), "bits/byte": s["mean"] / math.log(2),
               "perplexity (per byte)": math.exp(s["mean"]),
               "next-byte accuracy %": ci_text(stats.mean_ci(100 * grp["val_accuracy"]), 2),
               "diverged runs": int(grp["diverged"].sum())}
        if act != "relu":
            pair = paired_by_seed(final, "activation", "val_loss", "relu", act)
            row["ReLU minus this (paired)"] = f"{pair.estimate:.4f} (p = {p_text(pair.p)})"
            row["verdict"] = verdict_word(pair.estimate, pair.p, "better than ReLU", "worse than ReLU")
            m.add_comparison(f"small_transformer.val_loss:relu-{act}", pair, ".4f")
        rows.append(row)
        summ = stats.summarize(lm[(lm["activation"] == act) & (lm["step"] > 0)], "step", "val_loss")
        colour = activations.colour(act, "black")  # SwiGLU, a model variant, is not a registry entry
        ax.plot(summ["step"], summ["mean"], marker="o", ms=3, label=pretty(act), color=colour)
        ax.fill_between(summ["step"], summ["ci_low"], summ["ci_high"], alpha=0.2, lw=0, color=colour)
        points.append(summ[["step", "mean", "ci_low", "ci_high", "n"]].assign(activation=act))
    if {"gelu", "silu"} <= set(final["activation"]):
        m.add_comparison("small_transformer.val_loss:silu-gelu",
                         paired_by_seed(final, "activation", "val_loss", "silu", "gelu"), ".4f")
    if {"gelu", "swiglu"} <= set(final["activation"]):
        pair = paired_by_seed(final, "activation", "val_loss", "gelu", "swiglu")
        m.add_comparison("small_transformer.val_loss:gelu-swiglu", pair, ".4f")
    params = final.groupby("activation")["params"].first()
    m.add("lm.max_param_difference_pct", float(100 * (params.max() - params.min()) / params.min()), ".2g")
    m.table("architectures_lm", pd.DataFrame(rows), digits=4)
    ax.set(xlabel="training step", ylabel="validation loss (nats/byte)")
    legend_right(ax)


def _rnn(m, ax, points: list) -> None:
    r = m.df[m.df["part"] == "rnn"]
    if r.empty:
        return
    final = last_epoch(r, ["activation", "seed"]).assign(acc=lambda d: 100 * d["test_accuracy"])
    m.add("rnn.seeds", int(final["seed"].nunique()), "d")
    m.add("rnn.epochs", int(r["epoch"].max()), "d")
    m.add("rnn.train_rows", int(r["train_subset"].iloc[0]), ",d")
    m.add("rnn.hidden", int(r["hidden"].iloc[0]), "d")
    rows = []
    for act, grp in final.groupby("activation", sort=False):
        s = stats.mean_ci(grp["acc"])
        m.add_ci(f"rnn.{act}.test_accuracy_pct", s, ".2f")
        m.add(f"rnn.{act}.diverged_runs", int(grp["diverged"].sum()), "d")
        rows.append({"hidden state": pretty(act), "test accuracy % (95% CI)": ci_text(s),
                     "diverged runs": int(grp["diverged"].sum())})
    pair = paired_by_seed(final, "activation", "acc", "tanh", "relu")
    m.add_comparison("small_rnn.test_accuracy_pct:tanh-relu", pair, ".2f")
    rows.append({"hidden state": "tanh minus ReLU (paired)", "test accuracy % (95% CI)":
                 f"{pair.estimate:.2f} [{pair.ci_low:.2f}, {pair.ci_high:.2f}], p = {p_text(pair.p)}",
                 "diverged runs": verdict_word(pair.estimate, pair.p, "tanh better", "ReLU better")})
    m.table("architectures_rnn", pd.DataFrame(rows))
    for act, grp in r.groupby("activation", sort=False):
        summ = stats.summarize(grp.assign(acc=100 * grp["test_accuracy"]), "epoch", "acc")
        ax.plot(summ["epoch"], summ["mean"], marker="o", label=pretty(act), color=activations.colour(act, "#555555"))
        ax.fill_between(summ["epoch"], summ["ci_low"], summ["ci_high"], alpha=0.2, lw=0,
                        color=activations.colour(act, "#555555"))
        points.append(summ[["epoch", "mean", "ci_low", "ci_high", "n"]].assign(activation=act))
    ax.set(xlabel="epoch", ylabel="test accuracy %")
    legend_right(ax)


def _gan(m, ax, points: list) -> None:
    g = m.df[m.df["part"] == "gan"]
    if g.empty:
        return
    m.add("gan.runs_per_activation", int(len(g) / g["activation"].nunique()), "d")
    m.add("gan.steps", int(g["steps"].iloc[0]), ",d")
    rows = []
    for act, grp in g.groupby("activation", sort=False):
        ed, modes = stats.mean_ci(grp["energy_distance"]), stats.mean_ci(grp["modes_covered"])
        q = stats.mean_ci(100 * grp["quality_fraction"])
        m.add_ci(f"gan.{act}.energy_distance", ed, ".3g")
        m.add_ci(f"gan.{act}.modes_covered", modes, ".2g")
        m.add_ci(f"gan.{act}.quality_pct", q, ".3g")
        rows.append({"activation (both nets)": pretty(act), "energy distance (95% CI)": ci_text(ed, 3),
                     "modes covered of 8": ci_text(modes, 1), "samples near a mode %": ci_text(q, 1),
                     "diverged runs": int(grp["diverged"].sum())})
    pair = paired_by_seed(g, "activation", "energy_distance", "relu", "leaky_relu", seed="run_seed")
    m.add_comparison("small_gan.energy_distance:relu-leaky_relu", pair)
    rows.append({"activation (both nets)": "ReLU minus LeakyReLU (paired)",
                 "energy distance (95% CI)": f"{pair.estimate:.3f} [{pair.ci_low:.3f}, {pair.ci_high:.3f}]",
                 "modes covered of 8": f"p = {p_text(pair.p)}",
                 "samples near a mode %": verdict_word(pair.estimate, pair.p, "LeakyReLU better", "ReLU better"),
                 "diverged runs": ""})
    m.table("architectures_gan", pd.DataFrame(rows))
    acts = list(dict.fromkeys(g["activation"]))
    data = [g.loc[g["activation"] == a, "energy_distance"].dropna().to_numpy() for a in acts]
    ax.boxplot(data, tick_labels=[pretty(a) for a in acts])
    for i, (a, d) in enumerate(zip(acts, data)):
        ax.plot(np.full(len(d), i + 1), d, "o", alpha=0.6, color=activations.colour(a, "#555555"))
    ax.set(yscale="log", ylabel="energy distance to real samples")
    points.append(g[["activation", "run_seed", "energy_distance"]].dropna())


# The §4.4 decision matrix recommends one activation per architecture over ReLU: its
# three comparisons are one family (Holm), recorded after all three are measured.
DECISION_MATRIX = ("small_transformer.val_loss:relu-gelu", "small_rnn.test_accuracy_pct:tanh-relu",
                   "small_gan.energy_distance:relu-leaky_relu")


class _Deferred:
    """The machine, except that the decision-matrix comparisons are held back."""

    def __init__(self, m):
        self.m, self.held = m, {}

    def add_comparison(self, metric, difference, fmt=".3g"):
        if metric in DECISION_MATRIX:
            self.held[metric] = (difference, fmt)
        else:
            self.m.add_comparison(metric, difference, fmt)

    def __getattr__(self, name):
        return getattr(self.m, name)


def build(results_dir, out_dir, book) -> None:
    for m in machines(results_dir, STUDY, out_dir, book):
        d = _Deferred(m)
        # one figure per architecture (four different y quantities: not one figure)
        for name, part, size in (("cnn", _cnn, (4.6, 3.0)), ("lm", _lm, (WIDTH_IN, 3.0)), ("rnn", _rnn, (WIDTH_IN, 3.0)),
                                 ("gan", _gan, (4.6, 3.0))):
            fig, ax = plt.subplots(figsize=size)
            points = []
            part(d, ax, points)
            if points:
                fig.tight_layout()
                m.figure(f"architectures_{name}", fig, pd.concat(points))
            else:
                plt.close(fig)
        family = ms.with_family({k: v[0] for k, v in d.held.items()}, "§4.4 decision matrix")
        for metric, (_, fmt) in d.held.items():
            m.add_comparison(metric, family[metric], fmt)
