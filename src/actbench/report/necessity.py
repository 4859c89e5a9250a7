"""Report for `necessity`: linear collapse, linear vs ReLU decision boundaries on XOR and
circles, and linear-region counts of ReLU nets."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import math

from actbench import measurement as ms
from actbench import stats
from actbench.report.common import WIDTH_IN, machine_tables, save_figure
from actbench.report.training import ci_text, output_names, save_figures, write_tables

ALPHA = 0.05
MODEL_TITLES = {"linear_stack": "linear layers only", "relu_mlp": "with ReLU"}


def boundary_figure(df: pd.DataFrame, path: Path) -> None:
    surf = df[df["part"] == "boundary"]
    pts = df[df["part"] == "points"]
    datasets = list(dict.fromkeys(surf["dataset"]))
    models = list(dict.fromkeys(surf["model"]))
    side = min(3.2, WIDTH_IN / max(len(models), 1))  # square panels that fill the column
    fig, axes = plt.subplots(len(datasets), len(models), figsize=(side * len(models), side * len(datasets) + 0.3),
                             squeeze=False)
    for r, ds in enumerate(datasets):
        for c, model in enumerate(models):
            ax = axes[r][c]
            s = surf[(surf["dataset"] == ds) & (surf["model"] == model)]
            n = int(round(np.sqrt(len(s))))
            grid = s.sort_values(["x2", "x1"])
            z = grid["p_class1"].to_numpy().reshape(n, n)
            x1 = grid["x1"].to_numpy().reshape(n, n)
            x2 = grid["x2"].to_numpy().reshape(n, n)
            ax.contourf(x1, x2, z, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
            ax.contour(x1, x2, z, levels=[0.5], colors="k", linewidths=1.2)
            p = pts[(pts["dataset"] == ds) & (pts["model"] == model)]
            ax.scatter(p["x1"], p["x2"], c=p["label"], cmap="RdBu_r", s=8, edgecolors="white", linewidths=0.2)
            ax.set_title(f"{ds}: {MODEL_TITLES.get(model, model)}")
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    # the plotted points: the probability surface (grid) and the held-out points, seed 0
    columns = [c for c in ("part", "dataset", "model", "seed", "x1", "x2", "p_class1", "label") if c in df.columns]
    data = pd.concat([surf, pts])[columns]
    save_figure(fig, path, data=data, source=df)


def build(results_dir: Path, out_dir: Path, book) -> None:
    for i, (hw, df) in enumerate(machine_tables(results_dir, "necessity", book).items()):
        source = f"results/{hw}/necessity.parquet"
        suffixes = output_names(hw, i == 0)
        if i == 0:  # the machine whose tables and figures the docs show
            book.add("necessity.shown_hw", hw, source=source, hw=hw)
        key = f"necessity.{hw}"

        col = df[df["part"] == "collapse"]
        f32 = col[col["dtype"] == "float32"]
        # every depth's difference is a sample: the bound is judged on each
        book.add(f"{key}.linear_stack.max_abs_diff_vs_collapsed", ms.mean_of(f32["max_abs_diff"]), fmt=".2g",
                 source=source, hw=hw)
        book.add(f"{key}.linear_stack.max_abs_diff_vs_collapsed:float64",
                 float(col.loc[col["dtype"] == "float64", "max_abs_diff"].max()), fmt=".2g", source=source, hw=hw)
        book.add(f"{key}.linear_stack.max_depth", int(col["depth"].max()), fmt="d", source=source, hw=hw)
        # formatted here: the shared formatter prints values below 1e-12 as 0, but these tiny
        # differences are the point of the table
        table = pd.DataFrame({"depth": col["depth"].astype(int), "dtype": col["dtype"],
                              "max abs(stack − collapsed)": col["max_abs_diff"].map(lambda v: f"{v:.2g}"),
                              "relative to max abs(output)": col["rel_diff"].map(lambda v: f"{v:.2g}")})
        write_tables(table, out_dir, "necessity_collapse", suffixes)

        cls = df[df["part"] == "classify"]
        rows = []
        for (ds, model), grp in cls.groupby(["dataset", "model"], sort=False):
            s = stats.mean_ci(grp["test_accuracy"])
            book.add(f"{key}.{model}.{ds}_accuracy", ms.mean_of(grp["test_accuracy"]), fmt=".3f", source=source, hw=hw)
            rows.append({"dataset": ds, "model": MODEL_TITLES.get(model, model),
                         "test accuracy (95% CI)": ci_text(s, 3), "min over seeds": float(grp["test_accuracy"].min()),
                         "seeds": s["n"]})
        write_tables(pd.DataFrame(rows), out_dir, "necessity_classify", suffixes)
        accuracy = lambda ds, model: cls[(cls["dataset"] == ds) & (cls["model"] == model)]["test_accuracy"]  # noqa: E731
        # §1 makes one comparison per dataset (XOR, circles): one family.
        vs_linear = ms.with_family({ds: ms.difference(accuracy(ds, "relu_mlp"), accuracy(ds, "linear_stack"))
                                    for ds in cls["dataset"].unique()}, "§1: linear stack against an activated net")
        for ds, m in vs_linear.items():
            book.add(f"{key}.{ds}_accuracy:relu_mlp-linear_stack", m, fmt=".3g", source=source, hw=hw)
        book.add(f"{key}.seeds", int(cls["seed"].nunique()), fmt="d", source=source, hw=hw)
        book.add(f"{key}.noise", float(cls["noise"].iloc[0]), fmt="g", source=source, hw=hw)
        book.add(f"{key}.samples", int(cls["samples"].iloc[0]), fmt="d", source=source, hw=hw)
        book.add(f"{key}.epochs", int(cls["epochs"].iloc[0]), fmt="d", source=source, hw=hw)
        save_figures(lambda path: boundary_figure(df, path), out_dir, "necessity_boundaries", suffixes)

        r1 = df[df["part"] == "regions_1d"]
        rows = []
        for width, grp in r1.groupby("width"):
            # every random net is a sample of the bound N + 1
            book.add(f"{key}.relu_1d.width:{int(width)}.max_linear_regions", ms.mean_of(grp["linear_regions"]),
                     fmt=".3g", source=source, hw=hw)
            rows.append({"ReLU units": int(width), "bound N + 1": int(width) + 1,
                         "max regions seen": int(grp["linear_regions"].max()),
                         "mean regions": float(grp["linear_regions"].mean()), "random nets": len(grp)})
        write_tables(pd.DataFrame(rows), out_dir, "necessity_regions_1d", suffixes)

        r2 = df[df["part"] == "regions_2d"]
        rows = []
        for depth, grp in r2.groupby("depth"):
            s = stats.mean_ci(grp["linear_regions"])
            rows.append({"hidden layers": int(depth), "units per layer": int(grp["width"].iloc[0]),
                         "regions (95% CI)": ci_text(s, 0), "max": int(grp["linear_regions"].max()),
                         "random nets": s["n"]})
            book.add(f"{key}.relu_2d.depth:{int(depth)}.linear_regions", s["mean"], fmt=".0f", source=source, hw=hw)
        write_tables(pd.DataFrame(rows), out_dir, "necessity_regions_2d", suffixes)
        depths = sorted(r2["depth"].unique())
        if len(depths) >= 2:
            deep, shallow = depths[-1], depths[0]
            regions = {d: r2.loc[r2["depth"] == d, "linear_regions"].astype(float) for d in (deep, shallow)}
            book.add(f"{key}.relu_2d.linear_regions:depth_{int(deep)}-depth_{int(shallow)}",
                     ms.difference(regions[deep], regions[shallow]), fmt=".3g", source=source, hw=hw)
            # Growth per added layer: exp of the difference of mean log-regions / layers added.
            # O(N^L) would multiply the count by about N per layer.
            log_diff = ms.difference(np.log(regions[deep]), np.log(regions[shallow]))
            per_layer = deep - shallow
            growth = ms.Measurement(
                math.exp(log_diff.estimate / per_layer), math.exp(log_diff.ci_low / per_layer),
                math.exp(log_diff.ci_high / per_layer), log_diff.n, "welch on log regions",
                note=f"geometric growth per layer from {int(shallow)} to {int(deep)} hidden layers")
            book.add(f"{key}.relu_2d.region_growth_per_layer", growth, fmt=".3g", source=source, hw=hw)
            book.add(f"{key}.relu_2d.width", int(r2["width"].iloc[0]), fmt="d", source=source, hw=hw, exact=True)
            book.add(f"{key}.relu_2d.max_depth", int(deep), fmt="d", source=source, hw=hw)
