"""Report for `dead_units`: dead fractions by depth, init, BatchNorm and learning rate against
the tutorial's quoted ranges, paired tests for its remedies, and the dead-at-init curve."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

from actbench import measurement as ms
from actbench import stats
from actbench.report.common import machine_tables, save_figure
from actbench.report.training import ci_text, depth_ticks, output_names, pretty, save_figures, write_tables

ALPHA = 0.05
# The remedies for dead units that §2.6 lists (LeakyReLU, He init, lower learning rate, BatchNorm).
REMEDIES = ("dead_unit_pct:relu-leaky_relu", "relu.dead_unit_pct:xavier-he", "relu.dead_unit_pct:lr_high-lr_low",
            "relu.dead_unit_pct:bn_off-bn_on")
CONFIG = ["activation", "depth", "width", "init", "batchnorm", "lr", "seed"]
STANDARD = {"init": "he", "lr": 1e-3}  # the reference configuration for the tutorial's depth table


def per_net(df: pd.DataFrame) -> pd.DataFrame:
    """One row per trained net and stage: dead percentages pooled over its hidden layers."""
    t = df[df["part"] == "training"]
    agg = t.groupby(CONFIG + ["stage"], sort=False).agg(
        units=("units", "sum"), dead_gradient=("dead_gradient", "sum"),
        dead_never_positive=("dead_never_positive", "sum"),
        dead_batch=("dead_never_positive_batch", "sum"),
        test_accuracy=("test_accuracy", "first"), diverged=("diverged", "first")).reset_index()
    for col in ("dead_gradient", "dead_never_positive", "dead_batch"):
        agg[f"{col}_pct"] = 100 * agg[col] / agg["units"]
    return agg


def paired_effect(nets: pd.DataFrame, column: str, match: list[str], left: dict, right: dict) -> ms.Measurement:
    """Paired difference left − right over cells that agree on ``match`` (e.g. depth, init, seed)."""
    a = nets.loc[(nets[list(left)] == pd.Series(left)).all(axis=1)].set_index(match)[column]
    b = nets.loc[(nets[list(right)] == pd.Series(right)).all(axis=1)].set_index(match)[column]
    joined = pd.concat([a.rename("a"), b.rename("b")], axis=1, join="inner")
    return ms.difference(joined["a"], joined["b"], paired=True)


def depth_figure(trained: pd.DataFrame, path: Path) -> None:
    sub = trained.assign(activation=trained["activation"].map(pretty),
                         setting=trained.apply(lambda r: f"{r['init']}, BN {'on' if r['batchnorm'] else 'off'}", axis=1))
    grid = sns.relplot(data=sub, x="depth", y="dead_gradient_pct", hue="activation", style="setting",
                       col="lr", kind="line", marker="o", errorbar=("ci", 95), height=4, aspect=1.2)
    grid.set(xscale="log")
    for ax in grid.axes.flat:
        depth_ticks(ax, trained["depth"])
    grid.set_axis_labels("depth (Linear layers)", "gradient-dead units after training (%)")
    grid.set_titles("learning rate {col_name}")
    save_figure(grid.figure, path)


def collapse_figure(c: pd.DataFrame, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    sns.lineplot(data=c, x="width", y="dead_probability", hue="depth", marker="o", palette="viridis", ax=ax)
    ax.set(xscale="log", xlabel="width (units per hidden layer)", ylabel="P(net dead at initialisation)",
           title="ReLU nets whose output is constant at init (He init, zero bias)")
    ax.set_xticks(sorted(c["width"].unique()))
    ax.set_xticklabels([str(w) for w in sorted(c["width"].unique())])
    fig.tight_layout()
    save_figure(fig, path)


def build(results_dir: Path, out_dir: Path, book) -> None:
    for i, (hw, df) in enumerate(machine_tables(results_dir, "dead_units", book).items()):
        source = f"results/{hw}/dead_units.parquet"
        suffixes = output_names(hw, i == 0)
        if i == 0:  # the machine whose tables and figures the docs show
            book.add("dead_units.shown_hw", hw, source=source, hw=hw)
        key = f"dead_units.{hw}"
        nets = per_net(df)
        trained = nets[nets["stage"] == "trained"]
        if not trained.empty:
            # grid table: mean (95% CI) per activation x depth x init x BN x lr
            rows = []
            for cfg, grp in trained.groupby(["activation", "depth", "init", "batchnorm", "lr"], sort=False):
                act, depth, init, bn, lr = cfg
                at_init = nets[(nets["stage"] == "init") & (nets["activation"] == act) & (nets["depth"] == depth)
                               & (nets["init"] == init) & (nets["batchnorm"] == bn) & (nets["lr"] == lr)]
                rows.append({"activation": pretty(act), "depth": depth, "init": init, "BatchNorm": "on" if bn else "off",
                             "lr": f"{lr:g}", "at init %": ci_text(stats.mean_ci(at_init["dead_gradient_pct"]), 1),
                             "after training %": ci_text(stats.mean_ci(grp["dead_gradient_pct"]), 1),
                             "never > 0 %": ci_text(stats.mean_ci(grp["dead_never_positive_pct"]), 1),
                             "one batch %": ci_text(stats.mean_ci(grp["dead_batch_pct"]), 1),
                             "test acc. %": ci_text(stats.mean_ci(100 * grp["test_accuracy"]), 1)})
            write_tables(pd.DataFrame(rows), out_dir, "dead_units_grid", suffixes)

            relu = trained[trained["activation"] == "relu"]
            std = relu[(relu["init"] == STANDARD["init"]) & (relu["lr"] == STANDARD["lr"])]
            depth_rows = []
            for depth, grp in std.groupby("depth"):
                off, on = grp[~grp["batchnorm"]], grp[grp["batchnorm"]]
                s_off, s_on = stats.mean_ci(off["dead_gradient_pct"]), stats.mean_ci(on["dead_gradient_pct"])
                book.add(f"{key}.relu.depth:{depth}.dead_unit_pct", ms.mean_of(off["dead_gradient_pct"]), fmt=".1f",
                         source=source, hw=hw)
                book.add(f"{key}.relu.depth:{depth}.dead_unit_pct_ci95", s_off["half_width"], fmt=".1f",
                         source=source, hw=hw)
                book.add(f"{key}.relu_bn.depth:{depth}.dead_unit_pct", ms.mean_of(on["dead_gradient_pct"]), fmt=".1f",
                         source=source, hw=hw)
                depth_rows.append({"depth": depth, "ReLU, no BN %": ci_text(s_off, 1), "ReLU + BN %": ci_text(s_on, 1)})
            if depth_rows:
                write_tables(pd.DataFrame(depth_rows), out_dir, "dead_units_depth", suffixes)
            bn_std = std[std["batchnorm"]]
            book.add(f"{key}.relu_bn.dead_unit_pct", ms.mean_of(bn_std["dead_gradient_pct"]), fmt=".1f",
                     source=source, hw=hw)
            for act in trained["activation"].unique():  # "typical": mean over the no-BN grid
                sub = trained[(trained["activation"] == act) & ~trained["batchnorm"]]
                book.add(f"{key}.{act}.dead_unit_pct:after_training", ms.mean_of(sub["dead_gradient_pct"]),
                         fmt=".1f", source=source, hw=hw)
                book.add(f"{key}.{act}.dead_unit_pct_never_positive:after_training",
                         ms.mean_of(sub["dead_never_positive_pct"]), fmt=".1f", source=source, hw=hw)

            # paired comparisons for the tutorial's remedies (matched cells: same config and seed)
            tests = {
                "dead_unit_pct:relu-leaky_relu": ("dead_gradient_pct", ["depth", "init", "batchnorm", "lr", "seed"],
                                                  {"activation": "relu"}, {"activation": "leaky_relu"}),
                "dead_unit_pct:leaky_relu-prelu": ("dead_gradient_pct", ["depth", "init", "batchnorm", "lr", "seed"],
                                                   {"activation": "leaky_relu"}, {"activation": "prelu"}),
                "dead_unit_pct_never_positive:relu-leaky_relu": (
                    "dead_never_positive_pct", ["depth", "init", "batchnorm", "lr", "seed"],
                    {"activation": "relu"}, {"activation": "leaky_relu"}),
                "relu.dead_unit_pct:bn_off-bn_on": ("dead_gradient_pct", ["depth", "init", "lr", "seed"],
                                                    {"activation": "relu", "batchnorm": False},
                                                    {"activation": "relu", "batchnorm": True}),
                "relu.dead_unit_pct:lr_high-lr_low": ("dead_gradient_pct", ["depth", "init", "batchnorm", "seed"],
                                                      {"activation": "relu", "lr": max(trained["lr"])},
                                                      {"activation": "relu", "lr": min(trained["lr"])}),
                "relu.dead_unit_pct:xavier-he": ("dead_gradient_pct", ["depth", "batchnorm", "lr", "seed"],
                                                 {"activation": "relu", "init": "xavier"},
                                                 {"activation": "relu", "init": "he"}),
            }
            measured = {}
            for metric, (col, match, left, right) in tests.items():
                r = paired_effect(trained, col, match, left, right)
                if r.n:
                    measured[metric] = r
            # The four remedies §2.6 lists are one family of comparisons (Holm).
            remedies = {k: measured[k] for k in REMEDIES if k in measured}
            measured.update(ms.with_family(remedies, "the remedies of §2.6"))
            test_rows = []
            for metric, r in measured.items():
                book.add(f"{key}.{metric}", r, fmt=".3g", source=source, hw=hw)
                test_rows.append({"comparison": metric, "matched cells": r.n, "mean difference (pp)": r.estimate,
                                  "95% CI low": r.ci_low, "95% CI high": r.ci_high, "p (paired t)": r.p,
                                  "p (Holm, remedies)": r.p_adjusted})
            if test_rows:
                write_tables(pd.DataFrame(test_rows), out_dir, "dead_units_tests", suffixes, digits=3)
            book.add(f"{key}.lr_high", float(max(trained["lr"])), fmt="g", source=source, hw=hw)
            book.add(f"{key}.lr_low", float(min(trained["lr"])), fmt="g", source=source, hw=hw)
            book.add(f"{key}.seeds", int(trained["seed"].nunique()), fmt="d", source=source, hw=hw)
            book.add(f"{key}.width", int(trained["width"].iloc[0]), fmt="d", source=source, hw=hw)
            book.add(f"{key}.epochs", int(df["epochs"].dropna().iloc[0]), fmt="d", source=source, hw=hw)
            book.add(f"{key}.train_rows", int(df["train_rows"].dropna().iloc[0]), fmt=",d", source=source, hw=hw)
            book.add(f"{key}.diverged_nets", int(nets.loc[nets["stage"] == "init", "diverged"].sum()), fmt="d",
                     source=source, hw=hw)
            save_figures(lambda path: depth_figure(trained, path), out_dir, "dead_units_depth", suffixes)

        c = df[df["part"] == "collapse"]
        if not c.empty:
            table = c.pivot(index="width", columns="depth", values="dead_probability")
            table.columns = [f"depth {d}" for d in table.columns]
            table.insert(0, "width", table.index)
            write_tables(table, out_dir, "dead_at_init", suffixes, digits=3)
            for r in c.itertuples():
                book.add(f"{key}.collapse.width:{r.width}.depth:{r.depth}.dead_probability", r.dead_probability,
                         fmt=".3g", source=source, hw=hw)
            book.add(f"{key}.collapse.trials", int(c["trials"].iloc[0]), fmt=",d", source=source, hw=hw)
            book.add(f"{key}.collapse.probes", int(c["probes"].iloc[0]), fmt=",d", source=source, hw=hw)
            save_figures(lambda path: collapse_figure(c, path), out_dir, "dead_at_init", suffixes)
