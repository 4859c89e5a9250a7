"""Helpers shared by the ablation report modules (each study declares its own module).

Conventions, the same as the training reports:

* every number is recorded per machine, ``<study>.<hw_id>.<metric>``;
* tables and figures of the first machine (sorted hardware ids) that has the study get
  plain names, every other machine's get ``_<hw_id>`` appended;
* ``<study>.shown_hw`` names the machine whose tables, figures and prose numbers the
  docs show, so a page can say ``{% set hw = raw("leaky_slope.shown_hw") %}`` and read
  ``num("leaky_slope." ~ hw ~ ".metric")`` without naming a machine.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from actbench import activations
from actbench import measurement as ms
from actbench.report.common import machine_tables, save_figure, write_table

ALPHA = 0.05
# Names of model variants that are not registry entries (the gated feed-forward block).
VARIANTS = {"swiglu": "SwiGLU"}


def pretty(name) -> str:
    """Display name: the registry's label, a variant's, or the name itself."""
    return VARIANTS.get(name) or activations.label(str(name))


class Machine:
    """One machine's table of a study and the way to record and write its outputs."""

    def __init__(self, study: str, hw: str, df: pd.DataFrame, first: bool, out_dir: Path, book):
        self.study, self.hw, self.df, self.first, self.out_dir, self.book = study, hw, df, first, out_dir, book
        self.source = f"results/{hw}/{study}.parquet"
        self.suffix = "" if first else f"_{hw}"

    def add(self, metric: str, value, fmt: str = ".3g", exact: bool = False) -> None:
        """Record <study>.<hw>.<metric> (NaN and None are recorded as n/a); ``exact``: a
        computation without sampling error, which a claim may be decided on as it is."""
        if isinstance(value, (np.floating, np.integer)):
            value = value.item()
        self.book.add(f"{self.study}.{self.hw}.{metric}", value, fmt=fmt, source=self.source, hw=self.hw,
                      exact=exact)

    def add_ci(self, metric: str, values, fmt: str = ".3g") -> ms.Measurement:
        """A mean over seeds (per-seed ``values``, or a Measurement) with its 95% interval,
        as ``metric``; the interval's half-width also as ``metric_ci95`` for prose."""
        if isinstance(values, dict):  # a stats.mean_ci summary carries its values
            values = values["values"]
        m = values if isinstance(values, ms.Measurement) else ms.mean_of(values)
        self.add(metric, m, fmt)
        self.add(f"{metric}_ci95", m.half_width, fmt)
        return m

    def add_comparison(self, metric: str, difference: ms.Measurement, fmt: str = ".3g") -> None:
        """A comparison claim's measurement: the difference a − b with its interval and test."""
        if not isinstance(difference, ms.Measurement):
            raise TypeError(f"{metric}: pass the difference as a Measurement (measurement.difference)")
        self.add(metric, difference, fmt)

    def table(self, name: str, df: pd.DataFrame, digits: int = 4) -> None:
        write_table(df, self.out_dir / "tables" / f"{name}{self.suffix}.md", digits)

    def figure(self, name: str, fig, data: pd.DataFrame, source: pd.DataFrame | None = None) -> None:
        """Write a figure with ``data`` (exactly its plotted points) as a CSV beside it; its
        caption names the machine and run of ``source`` (default: this machine's whole table)."""
        save_figure(fig, self.out_dir / "figures" / f"{name}{self.suffix}.svg", data=data,
                    source=self.df if source is None else source)


def machines(results_dir: Path, study: str, out_dir: Path, book) -> list[Machine]:
    """Every machine with results for the study (first = the one the docs show)."""
    tables = machine_tables(results_dir, study, book)
    out = [Machine(study, hw, df, i == 0, out_dir, book) for i, (hw, df) in enumerate(tables.items())]
    if out:
        book.add(f"{study}.shown_hw", out[0].hw, source=out[0].source, hw=out[0].hw)
    return out


def ci_text(s: dict, digits: int = 2, scale: float = 1.0) -> str:
    """'mean ± half-width' (95% CI over seeds), or the mean alone when n < 2."""
    if not s["n"] or not math.isfinite(s["mean"]):
        return "–"
    if s["n"] < 2 or not math.isfinite(s["half_width"]):
        return f"{s['mean'] * scale:.{digits}f}"
    return f"{s['mean'] * scale:.{digits}f} ± {s['half_width'] * scale:.{digits}f}"


def p_text(p: float) -> str:
    if p is None or not math.isfinite(p):
        return "–"
    return f"{p:.2g}"


def verdict_word(diff: float, p: float, positive: str, negative: str, alpha: float = ALPHA) -> str:
    """Plain words for a two-sided test: which side, or no detectable difference."""
    if p is None or not math.isfinite(p):
        return "not enough seeds"
    if p >= alpha:
        return "no significant difference"
    return positive if diff > 0 else negative


def last_epoch(df: pd.DataFrame, keys: list[str], epoch: str = "epoch") -> pd.DataFrame:
    """The final record of every run (runs identified by ``keys``)."""
    return df.sort_values(epoch, kind="stable").groupby(keys, sort=False).tail(1)


def paired_by_seed(df: pd.DataFrame, column: str, value: str, a, b, seed: str = "seed") -> ms.Measurement:
    """Paired difference value(a) − value(b) over seeds present for both."""
    wide = df.pivot_table(index=seed, columns=column, values=value, aggfunc="mean")
    if a not in wide.columns or b not in wide.columns:
        return ms.difference([], [], paired=True)
    return ms.difference(wide[a].to_numpy(), wide[b].to_numpy(), paired=True)
