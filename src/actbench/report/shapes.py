"""Report for the `shapes` study: function/derivative small multiples, the properties
table, and named numbers (minima, derivatives at probe points, Gaussian moments)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import seaborn as sns

from actbench.report.common import machine_tables, save_figure, write_table

PROPERTY_COLUMNS = {
    "range_low": "min f", "range_high": "max f", "monotonic": "monotonic", "smooth": "smooth (C¹)",
    "max_abs_derivative": "max abs f′", "derivative_at_0": "f′(0)",
    "gauss_mean": "E f(z)", "gauss_var": "Var f(z)",
}


BOOLEAN = ("monotonic", "smooth", "zero_centered")
COUNTS = ("derivative_zero_count", "second_derivative_zero_count")


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

    curves = df[~df["probe"] & df["quantity"].isin(["f", "df"])].copy()
    curves["quantity"] = curves["quantity"].map({"f": "f(x)", "df": "f′(x)"})
    grid = sns.relplot(data=curves, x="x", y="value", hue="quantity", col="activation",
                       col_wrap=5, kind="line", height=2.0, aspect=1.2,
                       facet_kws={"sharey": False}, col_order=order)
    grid.set_titles("{col_name}")
    grid.set_axis_labels("x", "")
    save_figure(grid.figure, out_dir / "figures" / "shapes.svg")
