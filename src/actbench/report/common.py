"""Shared plotting and table helpers for the report modules."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: the report runs in CI and on cluster nodes
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from actbench.results import atomic_write_bytes, atomic_write_text  # noqa: E402
from actbench.verdicts import fmt  # noqa: E402

# Figures are drawn for the site's content column (about 690 px): an SVG of WIDTH_IN inches
# is 72 * WIDTH_IN pt = 96 * WIDTH_IN px wide, so it shows at its own size and a FONT_PT font
# stays FONT_PT at display size (tests/test_figures.py checks both in every SVG).
COLUMN_PX = 690
WIDTH_IN = 7.0
FONT_PT = 9
sns.set_theme(style="whitegrid", context="paper")
# Reproducible SVGs: fixed hash salt and no date, so unchanged figures give unchanged files.
# Set after set_theme, which would reset them.
matplotlib.rcParams.update({
    "svg.hashsalt": "actbench", "svg.fonttype": "none",
    "font.size": 10, "axes.titlesize": 10, "axes.labelsize": 10, "figure.titlesize": 10,
    "xtick.labelsize": FONT_PT, "ytick.labelsize": FONT_PT, "legend.fontsize": FONT_PT,
    "legend.title_fontsize": FONT_PT,
})


def figure_runs(source: pd.DataFrame) -> list[dict]:
    """Which machine and run the rows behind a figure come from: one entry per (study,
    machine), with the run span and commits as the provenance tables write them."""
    from actbench.report.provenance import commits, run_span

    missing = [c for c in ("study", "hw_id", "timestamp_utc", "project_commit") if c not in source.columns]
    if missing:
        raise ValueError(f"a figure's source rows lack the provenance columns {missing}: pass the parquet rows "
                         "it was drawn from, not a summary")
    return [{"study": str(study), "hw": str(hw), "run": run_span(grp["timestamp_utc"]),
             "commit": commits(grp["project_commit"])}
            for (study, hw), grp in source.groupby(["study", "hw_id"], sort=False)]


def plain_log_labels(fig) -> None:
    """Log axes label their ticks as plain numbers (0.01, 1e+04) instead of mathtext powers
    of ten, whose exponents are set at 70 % of the tick font: too small at display size."""
    from matplotlib import ticker

    class PlainLog(ticker.LogFormatter):
        def __call__(self, x, pos=None):  # the same ticks get labels, written as plain numbers
            return f"{x:g}".replace("-", "−") if super().__call__(x, pos) else ""

    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_scale() != "log":
                continue
            for get, put in ((axis.get_major_formatter, axis.set_major_formatter),
                             (axis.get_minor_formatter, axis.set_minor_formatter)):
                old = get()
                if isinstance(old, ticker.LogFormatterMathtext):  # the default for log scales
                    put(PlainLog(base=getattr(old, "_base", 10), labelOnlyBase=old.labelOnlyBase,
                                 minor_thresholds=old.minor_thresholds))


def save_figure(fig, path: Path, *, data: pd.DataFrame, source: pd.DataFrame) -> None:
    """Write the figure with <name>.csv beside it (``data``: exactly the plotted points) and
    <name>.json (the machine and run of ``source``, the parquet rows it was drawn from, and
    the CSV's columns): what the figure() macro of docs/macros.py puts in the caption."""
    import io
    import json

    path = Path(path)
    plain_log_labels(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format=path.suffix.lstrip("."), bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    if data.empty:
        raise ValueError(f"{path.name}: the figure's data table is empty")
    atomic_write_text(path.with_suffix(".csv"), data.to_csv(index=False))
    meta = {"figure": path.name, "csv": path.with_suffix(".csv").name, "columns": [str(c) for c in data.columns],
            "rows": len(data), "runs": figure_runs(source)}
    atomic_write_text(path.with_suffix(".json"), json.dumps(meta, indent=1))
    atomic_write_bytes(path, buf.getvalue())


def activation_lines(ax, summary: pd.DataFrame, x: str, mean: str = "mean", low: str = "ci_low",
                     high: str = "ci_high", marker: str | None = None) -> None:
    """A line per activation (``summary["activation"]``, registry names) in its registry
    colour with a shaded band from ``low`` to ``high``; labels are the registry's names."""
    from actbench import activations

    for act, grp in summary.groupby("activation", sort=False):
        c = activations.colour(act, "#555555")
        ax.plot(grp[x], grp[mean], color=c, lw=1.6, marker=marker, ms=4, label=activations.label(act))
        if low in grp and grp[low].notna().any():
            ax.fill_between(grp[x], grp[low], grp[high], color=c, alpha=0.18, lw=0)


def panel_grid(n: int, cols: int, panel_height: float, xlabel: str, ylabel: str, width: float = WIDTH_IN,
               **subplots):
    """Small multiples: ``n`` panels in rows of ``cols`` across the content column, the
    unused cells hidden, x labels under the lowest panel of each column and y labels on the first column.
    Returns the figure and the n axes in reading order."""
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(width, panel_height * rows + 0.4), squeeze=False, **subplots)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for ax in axes.flat[max(n - cols, 0):n]:  # the lowest panel of each column (a short last row)
        ax.tick_params(labelbottom=True)
        ax.set_xlabel(xlabel)
    for ax in axes[:, 0]:
        ax.set_ylabel(ylabel)
    return fig, list(axes.flat[:n])


def legend_right(ax, **kw) -> None:
    """The legend outside the data, to the right of the axes (tight_layout narrows the
    axes to make room, so the figure keeps its width)."""
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, **kw)


def legend_below(fig, handles, labels, ncol: int = 4) -> None:
    """A figure-wide legend under the panels (call after tight_layout)."""
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=ncol, frameon=False)


def quantiles(df: pd.DataFrame, by: list[str], value: str) -> pd.DataFrame:
    """Median and 10th/90th percentiles of ``value`` per group (the spread over seeds)."""
    g = df.groupby(by, sort=False)[value]
    return pd.DataFrame({"median": g.median(), "p10": g.quantile(0.1), "p90": g.quantile(0.9),
                         "n": g.count()}).reset_index()


def copy_figure(figures: Path, name: str, new_name: str) -> None:
    """The figure ``name`` (SVG, CSV and caption data) also as ``new_name``: a page that
    shows the first machine's figure under a fixed name links the copy's own files."""
    import json

    figures = Path(figures)
    meta = json.loads((figures / f"{name}.json").read_text())
    meta.update(figure=f"{new_name}.svg", csv=f"{new_name}.csv")
    for ext in ("svg", "csv"):
        atomic_write_bytes(figures / f"{new_name}.{ext}", (figures / f"{name}.{ext}").read_bytes())
    atomic_write_text(figures / f"{new_name}.json", json.dumps(meta, indent=1))


def fmt_value(value, digits: int = 4) -> str:
    """A table cell: numbers with ``digits`` significant digits, never 0 for a non-zero
    value (1e-20 stays 1e−20), typographic minus; strings as they are."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return fmt(value, digits)


def markdown_table(df: pd.DataFrame, digits: int = 4) -> str:
    cols = list(df.columns)
    bad = [c for c in cols if "|" in str(c)]
    if bad:
        raise ValueError(f"column names {bad} contain '|', which breaks Markdown tables")
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, row in df.iterrows():
        lines.append("| " + " | ".join(fmt_value(row[c], digits) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def write_table(df: pd.DataFrame, path: Path, digits: int = 4) -> None:
    atomic_write_text(path, markdown_table(df, digits))


def machine_tables(results_dir: Path, study: str, book) -> dict[str, pd.DataFrame]:
    """hw_id -> that machine's table for a study (only machines the book reports)."""
    from actbench.results import read_parquet

    tables = {}
    for path in sorted(Path(results_dir).glob(f"*/{study}.parquet")):
        hw = path.parent.name
        if book.use_machine(hw):
            tables[hw] = read_parquet(path)
    return tables
