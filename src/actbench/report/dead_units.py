"""Report for `dead_units`: dead fractions by depth, init, BatchNorm and learning rate against
the tutorial's quoted ranges, paired tests for its remedies, and the dead-at-init curve.

Every number a claim reads comes from *adequate* nets only (trained to a plateau and at
least the accuracy threshold, see ``actbench.studies.plateau``), and every claim that reads
it gets an adequacy flag ``adequate.<what>`` (with ``.why``): a cell of the depth table
needs ``CELL_SHARE`` of its nets adequate (and ``MIN_NETS``), a pooled figure ``MIN_NETS``
adequate nets, a paired comparison ``MIN_NETS`` matched pairs whose two nets are both
adequate. Dead units are counted two ways (never positive on any training row, the
tutorial's §2.6 test; gradient-dead, |f'(z)| below the threshold on every row); for ReLU the
two coincide, so the definitions are recorded separately where they can differ (LeakyReLU,
PReLU) and for the §2.6 remedy family."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from actbench import activations
from actbench import measurement as ms
from actbench import stats
from actbench.report.common import WIDTH_IN, legend_right, machine_tables, save_figure
from actbench.report.training import ci_text, depth_ticks, output_names, pretty, save_figures, write_tables

ALPHA = 0.05
CELL_SHARE = 0.8  # a depth-table cell is tested when at least this share of its nets is adequate
MIN_NETS = 3      # ... and at least this many (also: pooled nets, matched pairs)
# The remedies for dead units that §2.6 lists (LeakyReLU, He init, lower learning rate, BatchNorm),
# per definition of "dead". Holm's adjustment runs within each family.
REMEDIES = {"dead_unit_pct": ("relu-leaky_relu", "xavier-he", "lr_high-lr_low", "bn_off-bn_on"),
            "dead_unit_pct_never_positive": ("relu-leaky_relu", "xavier-he", "lr_high-lr_low", "bn_off-bn_on")}
FAMILY = {"dead_unit_pct": "the remedies of §2.6",
          "dead_unit_pct_never_positive": "the remedies of §2.6 (never positive)"}
DEFINITIONS = {"dead_unit_pct": "dead_gradient_pct", "dead_unit_pct_never_positive": "dead_never_positive_pct"}
DEFINITION_WORDS = {"dead_unit_pct": "gradient-dead", "dead_unit_pct_never_positive": "never positive"}
CONFIG = ["activation", "depth", "width", "init", "batchnorm", "lr", "seed"]
FACTORS = ("activation", "init", "batchnorm", "lr")


def per_net(df: pd.DataFrame) -> pd.DataFrame:
    """One row per trained net and stage: dead percentages pooled over its hidden layers and
    the net's adequacy columns."""
    t = df[df["part"] == "training"]
    extra = {c: (c, "first") for c in ("adequate", "reached_threshold", "plateaued", "epochs_run", "stopped",
                                       "factor", "best_test_accuracy") if c in t.columns}
    agg = t.groupby(CONFIG + ["stage"], sort=False, dropna=False).agg(
        units=("units", "sum"), dead_gradient=("dead_gradient", "sum"),
        dead_never_positive=("dead_never_positive", "sum"),
        dead_batch=("dead_never_positive_batch", "sum"),
        test_accuracy=("test_accuracy", "first"), diverged=("diverged", "first"), **extra).reset_index()
    for col in ("dead_gradient", "dead_never_positive", "dead_batch"):
        agg[f"{col}_pct"] = 100 * agg[col] / agg["units"]
    if "adequate" not in agg.columns:  # results from before the adequacy columns: nothing is adequate
        agg["adequate"] = False
    agg["adequate"] = agg["adequate"].fillna(False).astype(bool)
    return agg


def reference(df: pd.DataFrame) -> dict:
    """The reference net's settings (the first level of every factor)."""
    t = df[df["part"] == "training"]
    if "reference_lr" in t.columns:
        r = t.iloc[0]
        return {"activation": r["reference_activation"], "init": r["reference_init"],
                "batchnorm": bool(r["reference_batchnorm"]), "lr": float(r["reference_lr"])}
    return {"activation": "relu", "init": "he", "batchnorm": False, "lr": 1e-3}


def select(nets: pd.DataFrame, settings: dict) -> pd.DataFrame:
    mask = pd.Series(True, index=nets.index)
    for k, v in settings.items():
        mask &= nets[k] == v
    return nets[mask]


def criterion_text(df: pd.DataFrame) -> str:
    t = df[df["part"] == "training"]
    if "adequacy_threshold" not in t.columns:
        return "the results carry no adequacy columns (rerun the study)"
    r = t.iloc[0]
    return (f"test accuracy >= {100 * float(r['adequacy_threshold']):g} % after training to a plateau "
            f"(no gain of {100 * float(r['plateau_min_delta']):g} pp over {int(r['plateau_patience'])} epochs, "
            f"at most {int(r['max_epochs'])} epochs)")


def cell_flag(cell: pd.DataFrame, rule: str) -> tuple[bool, str]:
    k, n = int(cell["adequate"].sum()), len(cell)
    ok = k >= MIN_NETS and k >= CELL_SHARE * n
    acc = ", ".join(f"{100 * a:.1f}" for a in sorted(cell["test_accuracy"].dropna()))
    return ok, (f"{k} of {n} nets are adequate ({rule}; test accuracies {acc} %); criterion: at least "
                f"{100 * CELL_SHARE:g} % of the cell's nets and at least {MIN_NETS}")


def pooled_flag(nets: pd.DataFrame, rule: str) -> tuple[bool, str]:
    k, n = int(nets["adequate"].sum()), len(nets)
    out = nets[~nets["adequate"]]
    left = (", ".join(f"depth {d}: {len(g)}" for d, g in out.groupby("depth")) if len(out) else "none")
    return k >= MIN_NETS, (f"{k} of {n} nets are adequate ({rule}); the claim is decided on them; "
                           f"inadequate nets left out by depth: {left}; criterion: at least {MIN_NETS} adequate nets")


def matched(nets: pd.DataFrame, column: str, left: dict, right: dict, adequate_only: bool = True) -> pd.DataFrame:
    """Cells that agree on depth and seed, ``left`` against ``right``: columns a, b (and the adequacy)."""
    a = select(nets, left).set_index(["depth", "seed"])
    b = select(nets, right).set_index(["depth", "seed"])
    j = pd.concat([a[column].rename("a"), b[column].rename("b"), a["adequate"].rename("ok_a"),
                   b["adequate"].rename("ok_b")], axis=1, join="inner")
    return j[j["ok_a"] & j["ok_b"]] if adequate_only else j


def comparisons(trained: pd.DataFrame, ref: dict) -> dict[str, tuple[dict, dict]]:
    """name -> (left settings, right settings): the one-factor contrasts the tutorial makes."""
    lrs = sorted(set(trained["lr"]))
    inits = set(trained["init"])
    bns = set(trained["batchnorm"])
    acts = set(trained["activation"])
    out = {}
    if {"relu", "leaky_relu"} <= acts:
        out["relu-leaky_relu"] = ({**ref, "activation": "relu"}, {**ref, "activation": "leaky_relu"})
    if {"leaky_relu", "prelu"} <= acts:
        out["leaky_relu-prelu"] = ({**ref, "activation": "leaky_relu"}, {**ref, "activation": "prelu"})
    relu = {**ref, "activation": "relu"}
    if {"xavier", "he"} <= inits:
        out["xavier-he"] = ({**relu, "init": "xavier"}, {**relu, "init": "he"})
    if len(lrs) >= 2:
        out["lr_high-lr_low"] = ({**relu, "lr": lrs[-1]}, {**relu, "lr": lrs[0]})
    if {False, True} <= bns:
        out["bn_off-bn_on"] = ({**relu, "batchnorm": False}, {**relu, "batchnorm": True})
    return out


ACTIVATION_CONTRASTS = ("relu-leaky_relu", "leaky_relu-prelu")


def metric_name(definition: str, comparison: str) -> str:
    """The book metric of a comparison: activation contrasts read 'dead_unit_pct:relu-leaky_relu',
    ReLU-only contrasts 'relu.dead_unit_pct:xavier-he' (the claims' metric names)."""
    return f"{definition}:{comparison}" if comparison in ACTIVATION_CONTRASTS else f"relu.{definition}:{comparison}"


def setting_label(r, ref: dict) -> str:
    is_reference = all(r[k] == v for k, v in ref.items())
    if is_reference:
        return f"reference ({pretty(ref['activation'])}, {ref['init']}, no BN, lr {ref['lr']:g})"
    if r["activation"] != ref["activation"]:
        return pretty(r["activation"])
    if r["init"] != ref["init"]:
        return f"{r['init']} init"
    if r["batchnorm"] != ref["batchnorm"]:
        return "BatchNorm on" if r["batchnorm"] else "BatchNorm off"
    return f"lr {r['lr']:g}"


DEPTH_FIGURES = {"dead_units_depth_gradient": ("dead_gradient_pct", "gradient-dead units (%)", True),
                 "dead_units_depth_never_positive": ("dead_never_positive_pct", "never-positive units (%)", True),
                 "dead_units_depth_accuracy": ("test_accuracy", "test accuracy (%)", False)}
SETTING_STYLES = ("--", ":", "-.")


def depth_figure(trained: pd.DataFrame, ref: dict, column: str, label: str, adequate_only: bool,
                 path: Path, source: pd.DataFrame) -> None:
    """One quantity against depth per setting (mean and 95 % interval over seeds): the
    activation's colour, a line style per ReLU variation (solid: the reference)."""
    sub = trained.assign(setting=trained.apply(lambda r: setting_label(r, ref), axis=1),
                         colour=trained["activation"].map(lambda a: activations.colour(a, "#555555")),
                         test_accuracy=100 * trained["test_accuracy"])
    shown = sub[sub["adequate"]] if adequate_only else sub
    note = None
    if shown.empty:  # a short run (the quick configuration) may train no net adequately
        shown, note = sub, "no net met the adequacy criterion: every net shown"
    order = list(dict.fromkeys(sub.sort_values("factor" if "factor" in sub else "depth")["setting"]))
    summary = stats.summarize(shown, ["setting", "depth"], column)
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 3.2))
    variations = 0
    for setting in order:
        grp = summary[summary["setting"] == setting].sort_values("depth")
        if grp.empty:
            continue
        first = sub[sub["setting"] == setting].iloc[0]
        colour = first["colour"]
        relu_variation = not setting.startswith("reference") and first["activation"] == ref["activation"]
        style = SETTING_STYLES[variations % len(SETTING_STYLES)] if relu_variation else "-"
        variations += relu_variation
        ax.plot(grp["depth"], grp["mean"], style, marker="o", ms=4, color=colour, label=setting)
        ax.fill_between(grp["depth"], grp["ci_low"], grp["ci_high"], color=colour, alpha=0.15, lw=0)
    threshold = trained["adequacy_threshold"].iloc[0] if "adequacy_threshold" in trained else math.nan
    if column == "test_accuracy" and math.isfinite(threshold):
        ax.axhline(100 * threshold, color="grey", ls=":", lw=1)
    ax.set(xscale="log", xlabel="depth (Linear layers)", ylabel=label)
    if note:
        ax.set_title(note)
    depth_ticks(ax, sub["depth"])
    legend_right(ax)
    fig.tight_layout()
    data = summary[["setting", "depth", "mean", "ci_low", "ci_high", "n"]].rename(columns={"mean": column})
    save_figure(fig, path, data=data, source=source)


def collapse_figure(c: pd.DataFrame, path: Path) -> None:
    """P(a ReLU net is dead at initialisation) against width, one line per depth (ReLU's
    colour, darker for deeper nets)."""
    from matplotlib.colors import to_rgb

    fig, ax = plt.subplots(figsize=(WIDTH_IN, 3.2))
    depths = sorted(c["depth"].unique())
    base = np.array(to_rgb(activations.colour("relu")))
    for i, d in enumerate(depths):
        grp = c[c["depth"] == d].sort_values("width")
        shade = base * (1 - 0.7 * i / max(len(depths) - 1, 1))  # deeper: darker
        ax.plot(grp["width"], grp["dead_probability"], marker="o", ms=4, color=shade, label=f"depth {d}")
    ax.set(xscale="log", xlabel="width (units per hidden layer)", ylabel="P(net dead at initialisation)")
    ax.set_xticks(sorted(c["width"].unique()))
    ax.set_xticklabels([str(w) for w in sorted(c["width"].unique())])
    ax.xaxis.set_minor_locator(plt.NullLocator())
    legend_right(ax)
    fig.tight_layout()
    save_figure(fig, path, data=c[["width", "depth", "dead_probability", "trials"]], source=c)


def _grid_table(nets: pd.DataFrame, trained: pd.DataFrame, ref: dict) -> pd.DataFrame:
    rows = []
    for cfg, grp in trained.groupby(["activation", "depth", "init", "batchnorm", "lr"], sort=False):
        act, depth, init, bn, lr = cfg
        at_init = select(nets[nets["stage"] == "init"], dict(zip(["activation", "depth", "init", "batchnorm", "lr"],
                                                                 cfg)))
        ok = grp[grp["adequate"]]
        rows.append({"setting": setting_label(grp.iloc[0], ref), "activation": pretty(act), "depth": depth,
                     "init": init, "BatchNorm": "on" if bn else "off", "lr": f"{lr:g}",
                     "adequate nets": f"{len(ok)} of {len(grp)}",
                     "epochs (median)": float(grp["epochs_run"].median()) if "epochs_run" in grp else math.nan,
                     "test acc. %": ci_text(stats.mean_ci(100 * grp["test_accuracy"]), 1),
                     "at init %": ci_text(stats.mean_ci(at_init["dead_gradient_pct"]), 1),
                     "gradient-dead %": ci_text(stats.mean_ci(ok["dead_gradient_pct"]), 1),
                     "never > 0 %": ci_text(stats.mean_ci(ok["dead_never_positive_pct"]), 1),
                     "one batch %": ci_text(stats.mean_ci(ok["dead_batch_pct"]), 1)})
    out = pd.DataFrame(rows)
    rank = {"reference": 0, "activation": 1, "init": 2, "batchnorm": 3, "lr": 4}
    first = trained.groupby(["activation", "depth", "init", "batchnorm", "lr"], sort=False)
    factors = [rank.get(g["factor"].iloc[0], 5) if "factor" in g else 0 for _, g in first]
    return out.assign(_rank=factors).sort_values(["_rank", "setting", "depth"], kind="stable").drop(columns="_rank")


def build(results_dir: Path, out_dir: Path, book) -> None:
    for i, (hw, df) in enumerate(machine_tables(results_dir, "dead_units", book).items()):
        source = f"results/{hw}/dead_units.parquet"
        suffixes = output_names(hw, i == 0)
        if i == 0:  # the machine whose tables and figures the docs show
            book.add("dead_units.shown_hw", hw, source=source, hw=hw)
        key = f"dead_units.{hw}"

        def add(name, value, fmt=".3g", exact=False):
            book.add(f"{key}.{name}", value, fmt=fmt, source=source, hw=hw, exact=exact)

        def flag(name, ok_why):
            add(f"adequate.{name}", bool(ok_why[0]), exact=True)
            add(f"adequate.{name}.why", ok_why[1])

        nets = per_net(df)
        trained = nets[nets["stage"] == "trained"]
        if not trained.empty:
            ref = reference(df)
            rule = criterion_text(df)
            write_tables(_grid_table(nets, trained, ref), out_dir, "dead_units_grid", suffixes)

            # the tutorial's depth table: the reference net (no BN) and its BatchNorm variation
            ref_nets = select(trained, ref)
            bn_nets = select(trained, {**ref, "batchnorm": True})
            depth_rows = []
            for depth, cell in ref_nets.groupby("depth"):
                ok = cell[cell["adequate"]]
                add(f"relu.depth:{depth}.dead_unit_pct", ms.mean_of(ok["dead_gradient_pct"]), fmt=".1f")
                add(f"relu.depth:{depth}.dead_unit_pct_ci95", stats.mean_ci(ok["dead_gradient_pct"])["half_width"],
                    fmt=".1f")
                add(f"relu.depth:{depth}.test_accuracy_pct", ms.mean_of(100 * cell["test_accuracy"]), fmt=".1f")
                add(f"relu.depth:{depth}.adequate_nets", int(len(ok)), fmt="d")
                add(f"relu.depth:{depth}.nets", int(len(cell)), fmt="d")
                add(f"relu.depth:{depth}.epochs_median", float(cell["epochs_run"].median()), fmt=".0f")
                flag(f"relu.depth:{depth}", cell_flag(cell, rule))
                bn = bn_nets[bn_nets["depth"] == depth]
                bn_ok = bn[bn["adequate"]]
                if len(bn):
                    add(f"relu_bn.depth:{depth}.dead_unit_pct", ms.mean_of(bn_ok["dead_gradient_pct"]), fmt=".1f")
                    add(f"relu_bn.depth:{depth}.adequate_nets", int(len(bn_ok)), fmt="d")
                depth_rows.append({"depth": depth, "ReLU, no BN: dead %": ci_text(stats.mean_ci(ok["dead_gradient_pct"]), 1),
                                   "adequate nets": f"{len(ok)} of {len(cell)}",
                                   "ReLU + BN: dead %": ci_text(stats.mean_ci(bn_ok["dead_gradient_pct"]), 1) if len(bn) else "–",
                                   "adequate BN nets": f"{len(bn_ok)} of {len(bn)}" if len(bn) else "–"})
            if depth_rows:
                write_tables(pd.DataFrame(depth_rows), out_dir, "dead_units_depth", suffixes)
            add("relu_bn.dead_unit_pct", ms.mean_of(bn_nets.loc[bn_nets["adequate"], "dead_gradient_pct"]), fmt=".1f")
            flag("relu_bn", pooled_flag(bn_nets, rule))
            for act in trained["activation"].unique():  # "typical": every adequate net without BN
                sub = trained[(trained["activation"] == act) & ~trained["batchnorm"]]
                ok = sub[sub["adequate"]]
                add(f"{act}.dead_unit_pct:after_training", ms.mean_of(ok["dead_gradient_pct"]), fmt=".1f")
                add(f"{act}.dead_unit_pct_never_positive:after_training", ms.mean_of(ok["dead_never_positive_pct"]),
                    fmt=".1f")
                flag(f"{act}.after_training", pooled_flag(sub, rule))

            # paired comparisons (matched depth and seed, both nets adequate), per definition
            contrasts = comparisons(trained, ref)
            test_rows = []
            for definition, column in DEFINITIONS.items():
                measured = {}
                for name, (left, right) in contrasts.items():
                    pairs = matched(trained, column, left, right)
                    every = matched(trained, column, left, right, adequate_only=False)
                    r = ms.difference(pairs["a"], pairs["b"], paired=True)
                    measured[name] = (r, len(pairs), len(every),
                                      ms.difference(every["a"], every["b"], paired=True) if len(every) else None)
                    if definition == "dead_unit_pct":
                        flag(name, (len(pairs) >= MIN_NETS,
                                    f"{len(pairs)} of {len(every)} matched pairs (same depth and seed) have both nets "
                                    f"adequate ({rule}); criterion: at least {MIN_NETS} pairs"))
                family = {n: measured[n][0] for n in REMEDIES[definition] if n in measured and measured[n][0].n}
                adjusted = ms.with_family(family, FAMILY[definition])
                for name, (r, n_pairs, n_all, every) in measured.items():
                    relu_only = name not in ACTIVATION_CONTRASTS
                    if relu_only and definition != "dead_unit_pct":
                        continue  # for ReLU the two definitions coincide: one number, one row
                    r = adjusted.get(name, r)
                    add(metric_name(definition, name), r)  # n = 0 (no adequate pair) is judged not finite
                    words = "both (they coincide for ReLU)" if relu_only else DEFINITION_WORDS[definition]
                    test_rows.append({"comparison": name, "definition": words,
                                      "adequate pairs": f"{n_pairs} of {n_all}", "mean difference (pp)": r.estimate,
                                      "95% CI low": r.ci_low, "95% CI high": r.ci_high, "p (paired t)": r.p,
                                      "p (Holm, remedies)": r.p_adjusted,
                                      "all pairs: mean difference (pp)": every.estimate if every else math.nan})
            if test_rows:
                write_tables(pd.DataFrame(test_rows), out_dir, "dead_units_tests", suffixes, digits=3)

            lrs = sorted(set(trained["lr"]))
            add("lr_reference", float(ref["lr"]), fmt="g")
            add("lr_high", float(lrs[-1]), fmt="g")
            add("lr_low", float(lrs[0]), fmt="g")
            add("seeds", int(ref_nets["seed"].nunique()), fmt="d")
            add("variation_seeds", int(trained.loc[trained["factor"] != "reference", "seed"].nunique())
                if "factor" in trained else 0, fmt="d")
            add("variation_depths", ", ".join(str(d) for d in sorted(
                set(trained.loc[trained["factor"] != "reference", "depth"]))) if "factor" in trained else "")
            add("width", int(trained["width"].iloc[0]), fmt="d")
            t = df[df["part"] == "training"]
            if "max_epochs" in t.columns:
                add("max_epochs", int(t["max_epochs"].iloc[0]), fmt="d")
                add("adequacy_threshold_pct", 100 * float(t["adequacy_threshold"].iloc[0]), fmt="g")
                add("plateau_patience", int(t["plateau_patience"].iloc[0]), fmt="d")
                add("plateau_min_delta_pp", 100 * float(t["plateau_min_delta"].iloc[0]), fmt="g")
                add("epochs_median", float(trained["epochs_run"].median()), fmt=".0f")
            add("train_rows", int(df["train_rows"].dropna().iloc[0]), fmt=",d")
            add("nets", int(len(trained)), fmt="d")
            add("adequate_nets", int(trained["adequate"].sum()), fmt="d")
            add("adequacy_criterion", rule)
            add("diverged_nets", int(nets.loc[nets["stage"] == "init", "diverged"].sum()), fmt="d")
            for name, (column, label, adequate_only) in DEPTH_FIGURES.items():
                save_figures(lambda path: depth_figure(trained, ref, column, label, adequate_only, path,
                                                       df[df["part"] == "training"]), out_dir, name, suffixes)

        c = df[df["part"] == "collapse"]
        if not c.empty:
            table = c.pivot(index="width", columns="depth", values="dead_probability")
            table.columns = [f"depth {d}" for d in table.columns]
            table.insert(0, "width", table.index)
            write_tables(table, out_dir, "dead_at_init", suffixes, digits=3)
            for r in c.itertuples():
                add(f"collapse.width:{r.width}.depth:{r.depth}.dead_probability", r.dead_probability, fmt=".3g")
            add("collapse.trials", int(c["trials"].iloc[0]), fmt=",d")
            add("collapse.probes", int(c["probes"].iloc[0]), fmt=",d")
            save_figures(lambda path: collapse_figure(c, path), out_dir, "dead_at_init", suffixes)
