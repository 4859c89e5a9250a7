"""Report for `mistakes`: the tutorial's common mistakes 1, 2, 3, 5 and 6, measured."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from actbench import activations
from actbench import measurement as ms
from actbench import stats
from actbench.report.ablation_common import (ci_text, last_epoch, machines, p_text, paired_by_seed, pretty,
                                             verdict_word)
from actbench.report.common import WIDTH_IN, legend_below, legend_right
from actbench.verdicts import fmt

STUDY = "mistakes"
# The training losses the tutorial prints for Mistake 1 (epoch -> loss), quoted for the figure.
TUTORIAL_MISTAKE1 = {"sigmoid": {1: 2.1234, 2: 1.9876, 3: 1.9823, 4: 1.9821},
                     "relu": {1: 2.0234, 2: 1.4567, 3: 0.8912, 10: 0.1234}}
BIG = "[1000,1001,1002]"
# The tutorial explains Mistake 1 with the plain gradient step at its learning rate
# (Δw = 0.001 × grad), so the unqualified Mistake 1 numbers are those of plain SGD at
# lr 1e-3; SGD with momentum and Adam are recorded beside them (``mistake1.<opt>.…``),
# and the claims list them as other definitions of "the training".
LEDGER_OPTIMIZER = "sgd_plain"
OPTIMIZER_LABEL = {"sgd_plain": "plain SGD", "sgd": "SGD + momentum 0.9", "adam": "Adam"}
MISTAKE3_FAMILY = "§6 mistake 3"
# Mistake 5: the CNNs must have learned the task for a 0.1-point accuracy claim to mean anything
MISTAKE5_MIN_ACCURACY_PCT = 90.0
MISTAKE5_PLATEAU_PP = 2.0
MISTAKE5_COMPARED = ("all_gelu", "hybrid")  # the two networks the accuracy claim compares


def _softmax(m) -> None:
    s = m.df[m.df["part"] == "softmax"]
    if s.empty:
        return
    rows = []
    for _, r in s.iterrows():
        if r["mistake"] == "softmax_temperature":
            m.add(f"softmax.temperature:{r['temperature']:g}.prob:{int(r['index'])}", float(r["value"]), ".4f",
                  exact=True)
            rows.append({"case": f"softmax([2, 1, 0.1] / T), T = {r['temperature']:g}", "output": int(r["index"]),
                         "value": float(r["value"])})
        elif r["quantity"] == "nan_count":
            m.add(f"softmax.{r['variant']}.nan_count:{BIG}", float(r["value"]), "g", exact=True)
        else:
            m.add(f"softmax.{r['variant']}.prob:{int(r['index'])}:{BIG}", float(r["value"]), ".4f", exact=True)
            rows.append({"case": f"{r['variant']} softmax of [1000, 1001, 1002] (float32)",
                         "output": int(r["index"]), "value": float(r["value"])})
    m.table("mistakes_softmax", pd.DataFrame(rows), digits=4)


def _mistake1(m) -> None:
    t = m.df[m.df["part"] == "mistake1"]
    if t.empty:
        return
    m.add("mistake1.seeds", int(t["seed"].nunique()), "d")
    m.add("mistake1.epochs", int(t["epoch"].max()), "d")
    m.add("mistake1.train_rows", int(t["train_subset"].iloc[0]), ",d")
    for (opt, act), grp in t.groupby(["optimizer", "activation"], sort=False):
        for epoch, eg in grp[grp["epoch"] > 0].groupby("epoch"):
            s = stats.mean_ci(eg["train_loss"])
            m.add_ci(f"mistake1.{opt}.{act}.train_loss_epoch:{int(epoch)}", s, ".4f")
            if opt == LEDGER_OPTIMIZER:
                m.add(f"mistake1.{act}.train_loss_epoch:{int(epoch)}", ms.mean_of(s["values"]), ".4f")
        m.add_ci(f"mistake1.{opt}.{act}.final_test_accuracy_pct",
                 stats.mean_ci(100 * last_epoch(grp, ["seed"])["test_accuracy"]), ".2f")
    opts = [o for o in OPTIMIZER_LABEL if o in set(t["optimizer"])]
    for opt in opts:
        m.add(f"mistake1.{opt}.lr", float(t.loc[t["optimizer"] == opt, "lr"].iloc[0]), ".3g")
    init = t[(t["epoch"] == 0) & (t["optimizer"] == t["optimizer"].iloc[0])]  # the same init for every optimiser
    for act, grp in init.groupby("activation", sort=False):
        m.add(f"mistake1.{act}.input_layer_grad_at_init", float(grp["input_grad_at_init"].mean()), ".3g")
        m.add(f"mistake1.{act}.input_over_output_grad_at_init",
              ms.mean_of(grp["input_grad_at_init"] / grp["output_grad_at_init"]), ".3g")
    # "Epoch 3: 1.9823 ← Stuck! Epoch 4: 1.9821 ← Not improving": the loss drop from epoch 3 to 4
    for (opt, act), grp in t[t["epoch"].isin([3, 4])].groupby(["optimizer", "activation"], sort=False):
        wide = grp.pivot_table(index="seed", columns="epoch", values="train_loss")
        if {3, 4} <= set(wide.columns):
            m.add_ci(f"mistake1.{opt}.{act}.loss_drop_epoch:3-4", wide[3] - wide[4], ".3g")
    for opt in opts:
        at3 = t[(t["optimizer"] == opt) & (t["epoch"] == 3)]
        pair = paired_by_seed(at3, "activation", "train_loss", "sigmoid", "relu")
        m.add_comparison(f"mistake1.{opt}.train_loss_epoch:3:sigmoid-relu", pair, ".3f")
        if opt == LEDGER_OPTIMIZER:
            m.add_comparison("mistake1.train_loss_epoch:3:sigmoid-relu", pair, ".3f")

    epochs = sorted(int(e) for e in t["epoch"].unique() if e > 0)
    rows = []
    for e in epochs:
        row = {"epoch": e}
        for opt in opts:
            for act in ("sigmoid", "relu"):
                sub = t[(t["optimizer"] == opt) & (t["activation"] == act) & (t["epoch"] == e)]
                row[f"{act}, {OPTIMIZER_LABEL[opt]}"] = ci_text(stats.mean_ci(sub["train_loss"]), 3)
        for act in ("sigmoid", "relu"):
            row[f"tutorial {act}"] = TUTORIAL_MISTAKE1[act].get(e, float("nan"))
        rows.append(row)
    m.table("mistakes_mistake1", pd.DataFrame(rows))

    fig, axes = plt.subplots(1, len(opts), figsize=(WIDTH_IN, 3.0), sharey=True, squeeze=False)
    points = []
    for ax, opt in zip(axes[0], opts):
        for act in ("sigmoid", "relu"):
            color = activations.colour(act)
            sub = t[(t["optimizer"] == opt) & (t["activation"] == act) & (t["epoch"] > 0)]
            summ = stats.summarize(sub, "epoch", "train_loss")
            ax.plot(summ["epoch"], summ["mean"], color=color, label=f"{pretty(act)} (ours)")
            ax.fill_between(summ["epoch"], summ["ci_low"], summ["ci_high"], color=color, alpha=0.2, lw=0)
            tut = TUTORIAL_MISTAKE1[act]
            ax.plot(list(tut), list(tut.values()), "x", color=color, ms=7, mew=1.5,
                    label=f"{pretty(act)} (tutorial's printout)")
            points.append(summ[["epoch", "mean", "ci_low", "ci_high", "n"]].assign(
                optimizer=opt, activation=act, source="ours"))
            points.append(pd.DataFrame({"epoch": list(tut), "mean": list(tut.values())}).assign(
                optimizer=opt, activation=act, source="tutorial"))
        lr = float(t.loc[t["optimizer"] == opt, "lr"].iloc[0])
        ax.set(xlabel="epoch", title=f"{OPTIMIZER_LABEL[opt]}, lr {lr:g}")
    axes[0][0].set_ylabel("training loss")
    fig.tight_layout()
    legend_below(fig, *axes[0][0].get_legend_handles_labels(), ncol=2)
    data = pd.concat(points)[["optimizer", "activation", "source", "epoch", "mean", "ci_low", "ci_high", "n"]]
    m.figure("mistakes_mistake1", fig, data.rename(columns={"mean": "train_loss"}))


def _mistake2(m) -> None:
    d = m.df[m.df["part"] == "mistake2"]
    if d.empty:
        return
    m.add("mistake2.seeds", int(d["seed"].nunique()), "d")
    rows = []
    columns = (("dead_unit_pct", "init", "never positive on one batch, at init"),
               ("dead_unit_pct", "after_batch:1", "never positive on one batch, after one step"),
               ("never_positive_pct_full_set", "after_batch:1", "never positive on all rows, after one step"),
               ("gradient_dead_pct_full_set", "init", "gradient-dead on all rows, at init"),
               ("gradient_dead_pct_full_set", "after_batch:1", "gradient-dead on all rows, after one step"))
    for (inp, bias, variant), grp in d.groupby(["input", "bias", "variant"], sort=False):
        row = {"input": inp, "bias": bias, "weights": variant.replace("relu_", "")}
        tag = "" if (inp, bias) == ("mnist10x10", "default") else f".{inp}.{bias}_bias"
        for q in ("dead_unit_pct", "never_positive_pct_full_set", "gradient_dead_pct_full_set"):
            for stage in ("init", "after_batch:1"):
                values = grp.loc[(grp["quantity"] == q) & (grp["stage"] == stage), "value"]
                if values.empty:
                    continue
                m.add_ci(f"mistake2{tag}.{variant}.{q}:{stage}", values, ".3g")
        for q, stage, label in columns:
            row[label + " %"] = ci_text(stats.mean_ci(grp.loc[(grp["quantity"] == q) & (grp["stage"] == stage),
                                                              "value"]), 1)
        rows.append(row)
    m.table("mistakes_mistake2", pd.DataFrame(rows))
    # Xavier vs He at the same seed (same batch, same input draws), the tutorial's one-batch test
    main = d[(d["input"] == "mnist10x10") & (d["bias"] == "default") & (d["quantity"] == "dead_unit_pct")]
    for stage in ("init", "after_batch:1"):
        pair = paired_by_seed(main[main["stage"] == stage], "variant", "value", "relu_xavier", "relu_he")
        m.add_comparison(f"mistake2.dead_unit_pct:{stage}:relu_xavier-relu_he", pair, ".3g")


def _mistake3(m) -> None:
    d = m.df[m.df["part"] == "mistake3"]
    if d.empty:
        return
    rows = []
    cases = (("regression", "final_mse", "relu_output", "linear_output",
              "mistake3.regression.final_mse:relu_output-linear_output", "linear output better"),
             ("binary", "final_val_loss", "softmax2_bce", "sigmoid_bce",
              "mistake3.binary.final_val_loss:softmax2_bce-sigmoid_bce", "one sigmoid logit better"),
             ("multiclass", "final_val_loss", "sigmoid_ce", "logits_ce",
              "mistake3.multiclass.final_val_loss:sigmoid_ce-logits_ce", "raw logits better"))
    # the three output-layer mistakes of one passage: one family (Holm)
    family = ms.with_family({metric: paired_by_seed(d[d["quantity"] == quantity], "variant", value, a, b)
                             for quantity, value, a, b, metric, _ in cases if (d["quantity"] == quantity).any()},
                            MISTAKE3_FAMILY)
    for quantity, value, a, b, metric, better in cases:
        sub = d[d["quantity"] == quantity]
        if sub.empty:
            continue
        pair = family[metric]
        m.add_comparison(metric, pair)
        for v in (a, b):
            m.add_ci(f"mistake3.{quantity}.{v}.{value}", sub.loc[sub["variant"] == v, value], ".3g")
        row = {"case": quantity, "mistake": a, "fix": b, "metric": value.replace("_", " "),
               "mistake's value": ci_text(stats.mean_ci(sub.loc[sub["variant"] == a, value]), 3),
               "fix's value": ci_text(stats.mean_ci(sub.loc[sub["variant"] == b, value]), 3),
               "p (paired t)": p_text(pair.p),
               "p (Holm, 3 cases)": p_text(pair.p_adjusted) if pair.p_adjusted is not None else "–",
               "verdict": verdict_word(pair.estimate, pair.p_for_decision, better, "the 'mistake' is better")}
        if "val_accuracy" in sub and sub["val_accuracy"].notna().any():
            for v in (a, b):
                m.add_ci(f"mistake3.{quantity}.{v}.val_accuracy_pct",
                         stats.mean_ci(100 * sub.loc[sub["variant"] == v, "val_accuracy"]), ".3g")
        rows.append(row)
        if quantity == "regression":
            neg = sub[sub["variant"] == "relu_output"]
            m.add_ci("mistake3.regression.relu_output.mse_on_negative_targets", neg["mse_on_negative_targets"],
                     ".3g")
            m.add_ci("mistake3.regression.mse_of_predicting_zero_on_negative_targets",
                     neg["mse_of_predicting_zero_on_negative_targets"], ".3g")
            # "if the target is negative, the prediction is always 0": its error equals predicting 0
            m.add_comparison("mistake3.regression.relu_output.mse_on_negative_targets-mse_of_predicting_zero",
                             ms.difference(neg["mse_on_negative_targets"],
                                           neg["mse_of_predicting_zero_on_negative_targets"], paired=True), ".3g")
    m.table("mistakes_mistake3", pd.DataFrame(rows))


def mistake5_adequacy(d: pd.DataFrame, variants=MISTAKE5_COMPARED) -> tuple[bool, str]:
    """Every Mistake 5 CNN that the accuracy claim compares (``variants``) reaches
    MISTAKE5_MIN_ACCURACY_PCT and gains at most MISTAKE5_PLATEAU_PP points of test accuracy
    in its last epoch."""
    rows = []
    d = d[d["variant"].isin(variants)]
    for (variant, seed), grp in d[d["epoch"] > 0].groupby(["variant", "seed"]):
        acc = 100 * grp.sort_values("epoch")["test_accuracy"].to_numpy()
        rows.append({"acc": acc[-1], "gain": acc[-1] - acc[-2] if len(acc) > 1 else float("inf"),
                     "diverged": bool(grp["diverged"].any())})
    if not rows:
        return False, "no trained CNNs"
    r = pd.DataFrame(rows)
    ok = bool((r["acc"] >= MISTAKE5_MIN_ACCURACY_PCT).all() and (r["gain"] <= MISTAKE5_PLATEAU_PP).all()
              and not r["diverged"].any())
    return ok, (f"every {' and '.join(variants)} CNN reaches ≥ {fmt(MISTAKE5_MIN_ACCURACY_PCT)} % test accuracy and gains ≤ "
                f"{fmt(MISTAKE5_PLATEAU_PP)} points in its last epoch: lowest {fmt(r['acc'].min(), 3)} %, largest "
                f"last-epoch gain {fmt(r['gain'].max(), 2)} points, {int(r['diverged'].sum())} diverged")


def _mistake5(m) -> None:
    d = m.df[m.df["part"] == "mistake5"]
    tm = m.df[m.df["part"] == "timing"]
    rows = {}
    if not d.empty:
        final = last_epoch(d, ["variant", "seed"]).assign(acc=lambda x: 100 * x["test_accuracy"])
        m.add("mistake5.seeds", int(final["seed"].nunique()), "d")
        m.add("mistake5.epochs", int(d["epoch"].max()), "d")
        m.add("mistake5.train_rows", int(d["train_subset"].iloc[0]), ",d")
        m.add("mistake5.channels", str(d["channels"].iloc[0]))
        for variant, grp in final.groupby("variant", sort=False):
            s = stats.mean_ci(grp["acc"])
            m.add_ci(f"mistake5.{variant}.test_accuracy_pct", s, ".2f")
            rows[("trained_width", variant)] = {"network": f"trained width {d['channels'].iloc[0]}", "variant": variant,
                                                "test accuracy %": ci_text(s)}
        ok, why = mistake5_adequacy(d)
        m.add("mistake5.adequate", ok, exact=True)
        m.add("mistake5.adequate.why", why)
        m.add("mistake5.min_accuracy_pct", MISTAKE5_MIN_ACCURACY_PCT, ".3g")
        m.add("mistake5.plateau_pp", MISTAKE5_PLATEAU_PP, ".3g")
        pair = paired_by_seed(final, "variant", "acc", "all_gelu", "hybrid")
        m.add("mistake5.hybrid.accuracy_drop_pp_vs_all_gelu", pair, ".2f")
        m.add("mistake5.hybrid.accuracy_drop_pp_vs_all_gelu_ci95", pair.half_width, ".2f")
        m.add("mistake5.hybrid.accuracy_drop_pp_vs_all_gelu_p", pair.p, ".2g")
    if not tm.empty:
        m.add("mistake5.timing_rounds", int(tm["round"].nunique()), "d")
        m.add("mistake5.timing_batch", int(tm["batch"].iloc[0]), "d")
        m.add("mistake5.timing_threads", int(tm["threads"].iloc[0]), "d")
        for width, grp in tm.groupby("width", sort=False):
            wide = grp.pivot_table(index="round", columns="variant", values="value")
            prefix = "mistake5" if width == "trained_width" else f"mistake5.{width}"
            for variant in wide.columns:
                ratio = stats.log10_summary(wide[variant] / wide["all_gelu"])
                m.add(f"{prefix}.{variant}.step_time_ratio_vs_all_gelu",
                      ms.ratio_of_paired(wide[variant], wide["all_gelu"]), ".3f")
                m.add(f"{prefix}.{variant}.step_ms", 1e3 * float(wide[variant].median()), ".3g")
                row = rows.setdefault((width, variant), {"network": f"{width.replace('_', ' ')} {grp['channels'].iloc[0]}",
                                                         "variant": variant, "test accuracy %": "–"})
                row["median step ms"] = 1e3 * float(wide[variant].median())
                row["time / all-GELU (geometric mean, 95% CI)"] = (
                    f"{ratio['geo_mean']:.3f} [{ratio['geo_ci_low']:.3f}, {ratio['geo_ci_high']:.3f}]")
    if rows:
        m.table("mistakes_mistake5", pd.DataFrame(list(rows.values())), digits=3)


def _figure_mistake2(m) -> None:
    """Dead ReLU units per input and bias case, at initialisation and after one step, for
    both initialisations: bars in ReLU's colour, light after the step, hatched for Xavier."""
    d2 = m.df[(m.df["part"] == "mistake2") & (m.df["quantity"] == "dead_unit_pct")]
    if d2.empty:
        return
    d2 = d2.assign(case=d2["input"] + ", " + d2["bias"] + " bias", init=d2["variant"].str.replace("relu_", ""))
    cases = list(dict.fromkeys(d2["case"]))
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 3.0))
    width, rows = 0.2, []
    groups = [(i, s) for i in ("xavier", "he") for s in ("init", "after_batch:1")]
    for j, (init, stage) in enumerate(groups):
        sub = d2[(d2["init"] == init) & (d2["stage"] == stage)]
        summ = stats.summarize(sub, "case", "value").set_index("case").reindex(cases)
        label = f"{init}, {stage.replace('after_batch:1', 'after 1 step').replace('init', 'at init')}"
        ax.bar(np.arange(len(cases)) + (j - 1.5) * width, summ["mean"], width, yerr=summ["half_width"], capsize=2,
               color=activations.colour("relu"), alpha=1.0 if stage == "init" else 0.45,
               hatch="//" if init == "xavier" else "", edgecolor="black", lw=0.5, label=label)
        rows.append(summ[["mean", "ci_low", "ci_high", "n"]].rename_axis("case").reset_index().assign(
            init=init, stage=stage))
    ax.set_xticks(range(len(cases)), [c.replace(", ", "\n") for c in cases])  # input / bias
    ax.set_ylabel("dead units % (one batch of 128)")
    legend_right(ax)
    fig.tight_layout()
    data = pd.concat(rows)[["case", "init", "stage", "mean", "ci_low", "ci_high", "n"]]
    m.figure("mistakes_mistake2", fig, data.rename(columns={"mean": "dead_unit_pct"}))


MISTAKE5_COLOURS = {"all_gelu": activations.colour("gelu"), "all_relu": activations.colour("relu"),
                    "hybrid": "#555555"}  # hybrid: ReLU in the first layers, GELU in the last


def _figure_mistake5(m) -> None:
    """Training-step time of each CNN variant relative to all-GELU, per network width: the
    geometric mean over interleaved rounds with its 95 % interval (a linear axis around 1)."""
    tm = m.df[m.df["part"] == "timing"]
    if tm.empty:
        return
    rows = []
    for width, grp in tm.groupby("width", sort=False):
        wide = grp.pivot_table(index="round", columns="variant", values="value")
        for variant in wide.columns:
            r = stats.log10_summary(wide[variant] / wide["all_gelu"])
            rows.append({"network": width.replace("_", " "), "variant": variant, "ratio_vs_all_gelu": r["geo_mean"],
                         "ci_low": r["geo_ci_low"], "ci_high": r["geo_ci_high"], "rounds": r["n"]})
    data = pd.DataFrame(rows)
    networks = list(dict.fromkeys(data["network"]))
    variants = list(dict.fromkeys(data["variant"]))
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 0.5 * len(networks) * len(variants) / 2 + 1.2))
    for j, variant in enumerate(variants):
        sub = data[data["variant"] == variant].set_index("network").reindex(networks)
        y = np.arange(len(networks)) + (j - (len(variants) - 1) / 2) * 0.22
        err = np.vstack([sub["ratio_vs_all_gelu"] - sub["ci_low"], sub["ci_high"] - sub["ratio_vs_all_gelu"]])
        ax.errorbar(sub["ratio_vs_all_gelu"], y, xerr=np.nan_to_num(err), fmt="o", capsize=3,
                    color=MISTAKE5_COLOURS.get(variant, "#555555"), label=variant.replace("_", " "))
    ax.axvline(1.0, color="black", lw=0.8)
    ax.set_yticks(range(len(networks)), networks)
    ax.set_xlabel("training-step time / all-GELU's")
    legend_right(ax)
    fig.tight_layout()
    m.figure("mistakes_mistake5", fig, data)


def build(results_dir, out_dir, book) -> None:
    for m in machines(results_dir, STUDY, out_dir, book):
        _softmax(m)
        _mistake1(m)
        _mistake2(m)
        _mistake3(m)
        _mistake5(m)
        _figure_mistake2(m)
        _figure_mistake5(m)
