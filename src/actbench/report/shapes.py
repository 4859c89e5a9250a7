"""Report for the `shapes` study: function/derivative small multiples, the properties
table, and named numbers (minima, derivatives at probe points, Gaussian moments)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from actbench import activations
from actbench.report.common import machine_tables, panel_grid, save_figure, write_table

PROPERTY_COLUMNS = {
    "range_low": "min f", "range_high": "max f", "monotonic": "monotonic", "smooth": "smooth (C¹)",
    "max_abs_derivative": "max abs f′", "derivative_at_0": "f′(0)",
    "gauss_mean": "E f(z)", "gauss_var": "Var f(z)",
}


BOOLEAN = ("monotonic", "smooth", "zero_centered")
COUNTS = ("derivative_zero_count", "second_derivative_zero_count")


QUANTITY = {"f": "f(x)", "df": "f′(x)"}
COLUMNS = 4  # small multiples per row: four 1.75 in panels fill the content column


def small_multiples(curves: pd.DataFrame, order: list[str], quantities: list[str], path: Path, source) -> None:
    """One panel per activation in its registry colour (f solid, f′ dashed), shared x."""
    fig, axes = panel_grid(len(order), COLUMNS, 1.55, "x", " and ".join(QUANTITY[q] for q in quantities),
                           sharex=True)
    for ax, act in zip(axes, order):
        for q, style in zip(quantities, ("-", "--")):
            sub = curves[(curves["activation"] == act) & (curves["quantity"] == q)]
            ax.plot(sub["x"], sub["value"], style, color=activations.colour(act), lw=1.6, label=QUANTITY[q])
        ax.axhline(0, color="grey", lw=0.6)
        ax.set_title(activations.label(act))
    if len(quantities) > 1:  # the line styles need a key; the colours are named by the titles
        fig.legend(*axes[0].get_legend_handles_labels(), loc="upper center", ncol=2, frameon=False,
                   bbox_to_anchor=(0.5, 1.0))
        fig.tight_layout(rect=(0, 0, 1, 0.96))
    else:
        fig.tight_layout()
    data = curves[curves["activation"].isin(order) & curves["quantity"].isin(quantities)]
    save_figure(fig, path, data=plot_table(data), source=source)


def single(curves: pd.DataFrame, act: str, path: Path, source) -> None:
    """One activation's f (solid) and f′ (dashed), for its section of chapter 3."""
    fig, ax = plt.subplots(figsize=(3.4, 2.3))
    sub = curves[curves["activation"] == act]
    for q, style in (("f", "-"), ("df", "--")):
        part = sub[sub["quantity"] == q]
        ax.plot(part["x"], part["value"], style, color=activations.colour(act), lw=1.8, label=QUANTITY[q])
    ax.axhline(0, color="grey", lw=0.6)
    ax.set_xlabel("x")
    ax.set_title(activations.label(act))
    ax.legend(loc="upper left", frameon=False)
    low, high = float(np.nanmin(sub["value"])), float(np.nanmax(sub["value"]))
    ax.set_ylim(low - 0.05 * (high - low), high + 0.35 * (high - low))  # head room for the legend
    fig.tight_layout()
    save_figure(fig, path, data=plot_table(sub), source=source)


def plot_table(curves: pd.DataFrame) -> pd.DataFrame:
    """The plotted points, one row per x: activation, x, then f and/or f′."""
    wide = curves.pivot_table(index=["activation", "x"], columns="quantity", values="value", sort=False)
    return wide.reset_index()[
        ["activation", "x", *[q for q in ("f", "df") if q in wide.columns]]]


def probe_key(x: float) -> str:
    return f"{x:g}"


def build(results_dir: Path, out_dir: Path, book) -> None:
    tables = machine_tables(results_dir, "shapes", book)
    if not tables:
        return
    # The maths is the same on every machine; use the first machine's table.
    hw, df = next(iter(tables.items()))
    source = f"results/{hw}/shapes.parquet"
    props = df[df["x"].isna()].pivot(index="activation", columns="quantity", values="value")
    order = [a for a in dict.fromkeys(df["activation"]) if a != "identity"]
    identity = props.loc["identity"].dropna() if "identity" in props.index else pd.Series(dtype=float)
    for q, v in identity.items():
        book.add(f"shapes.identity.{q}", float(v), fmt=".2g", source=source, hw=hw, exact=True)
    props = props.loc[order]

    for act, row in props.iterrows():
        for q, v in row.items():
            if pd.notna(v) and q != "grid_step":
                value = bool(v) if q in BOOLEAN else int(v) if q in COUNTS else float(v)
                book.add(f"shapes.{act}.{q}", value, fmt=".4g", source=source, hw=hw, exact=True)
    probes = df[df["probe"]]
    for (act, q), grp in probes.groupby(["activation", "quantity"]):
        for x, v in zip(grp["x"], grp["value"]):
            book.add(f"shapes.{act}.{q}@{probe_key(x)}", float(v), fmt=".4g", source=source, hw=hw, exact=True)

    table = props[[c for c in PROPERTY_COLUMNS if c in props.columns]].copy()
    for c in ("monotonic", "smooth"):
        table[c] = table[c].map(lambda v: "yes" if v else "no")
    extra = props[["min_x", "min_value"]] if "min_x" in props.columns else None
    table = table.rename(columns=PROPERTY_COLUMNS)
    if extra is not None:
        table["argmin"] = extra["min_x"]
        table["min value"] = extra["min_value"]
    table.insert(0, "activation", table.index)
    write_table(table, out_dir / "tables" / "properties.md")

    curves = df[~df["probe"] & df["x"].notna() & df["quantity"].isin(["f", "df"])]
    order = [a for a in order if a in set(curves["activation"])]
    figures = out_dir / "figures"
    small_multiples(curves, order, ["f", "df"], figures / "shapes.svg", df)
    small_multiples(curves, order, ["f"], figures / "shapes_f.svg", df)
    small_multiples(curves, order, ["df"], figures / "shapes_df.svg", df)
    for act in order:  # chapter 3 shows each activation beside its section
        single(curves, act, figures / f"shape_{act}.svg", df)
