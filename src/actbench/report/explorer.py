"""Data for the activation explorer page (docs/explorer.md): every elementwise registry
entry evaluated on one x grid, written to ``explorer.json`` in the generated folder.

For each entry and each setting of its parameters (a fixed set of values per parameter,
always including the registry's default) the file holds f, f' and f'' on the grid and the
properties that ``actbench.properties`` computes for that setting. f and f' are the
registry's own closed forms (``forward``, the hand-derived ``derivative``); the registry
has no second derivative, so f'' is autograd of the hand-derived f'. That makes f'' exact
on smooth pieces and 0 on linear ones; the Dirac masses at kinks are not representable
and are not shown.

The page draws exactly these points: it never interpolates or evaluates a formula, so
what a reader sees is what the registry computes. Values are rounded to
``SIGNIFICANT_DIGITS`` significant digits (about float32's precision) to keep the file
small. Needs no results: this is mathematics, the same on every machine.
"""

from __future__ import annotations

import itertools
import json
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from actbench import activations
from actbench.properties import compute_properties, refine_minimum
from actbench.report.numbers import json_safe
from actbench.report.shapes import PROPERTY_COLUMNS
from actbench.results import atomic_write_text
from actbench.verdicts import fmt

FILE_NAME = "explorer.json"
X_LIMIT = 6.0            # the grid covers [-X_LIMIT, X_LIMIT] (as the shapes study); the reader zooms inside it
GRID_POINTS = 241        # step 0.05: the kinks at 0, +-3 and 6 lie on the grid
SIGNIFICANT_DIGITS = 6
PARAM_VALUES = 21        # slider positions per parameter (plus the default, when it falls between)
MAX_SETTINGS = 200       # parameter combinations per entry: a guard against a huge file
# Properties at a non-default setting: actbench.properties' computation on grids ten
# times coarser than the registry's (tens of milliseconds each instead of about a second,
# for ~100 settings). At the default the file carries the shapes study's numbers, the ones
# the activations page shows (or the registry's own properties when that study has no
# results yet).
COARSE = {"points": 48_001, "quad_points": 160_001}

# Slider range per (entry, parameter). An entry outside this table (e.g. one an extension
# registers) gets [0, 2 * default] (or [-1, 1] around a default of 0): a usable range,
# not a recommendation.
PARAM_RANGES = {
    ("leaky_relu", "negative_slope"): (0.0, 0.5),
    ("prelu", "alpha"): (0.0, 1.0),
    ("elu", "alpha"): (0.0, 2.0),
    ("elu_learnable", "alpha"): (0.0, 2.0),
    ("swish_beta", "beta"): (0.0, 4.0),
}
PARAM_LABELS = {"negative_slope": "slope", "alpha": "α", "beta": "β"}

# The properties beside the chart: the activations page's table (same labels), plus
# zero-centredness and the interior minimum.
PROPERTY_LABELS = {**PROPERTY_COLUMNS, "zero_centered": "zero-centred (|E f(z)| < 0.1)",
                   "min_x": "argmin", "min_value": "min value"}


def x_grid() -> torch.Tensor:
    """The grid's decimal points (linspace leaves 1e-16 where 0 should be, which would put
    ReLU's f'(0) on the wrong side of the kink)."""
    points = torch.linspace(-X_LIMIT, X_LIMIT, GRID_POINTS, dtype=torch.float64)
    return torch.tensor([round(v, 10) for v in points.tolist()], dtype=torch.float64)


def param_values(name: str, param: str, default: float) -> list[float]:
    """The slider's values: PARAM_VALUES evenly spaced over the range, plus the default."""
    lo, hi = PARAM_RANGES.get((name, param), (0.0, 2.0 * default) if default > 0 else
                              (2.0 * default, 0.0) if default < 0 else (-1.0, 1.0))
    values = {round(float(v), 12) for v in np.linspace(lo, hi, PARAM_VALUES)} | {float(default)}
    return sorted(values)


def second_derivative(df, x: torch.Tensor) -> torch.Tensor:
    """d/dx of the hand-derived derivative by autograd; 0 where f' does not depend on x
    (piecewise-constant f', whose autograd graph is empty)."""
    x = x.detach().clone().requires_grad_(True)
    d = df(x)
    if not d.requires_grad:
        return torch.zeros_like(x).detach()
    (grad,) = torch.autograd.grad(d.sum(), x, allow_unused=True)
    return torch.zeros_like(x).detach() if grad is None else grad.detach()


def rounded(values: torch.Tensor) -> list:
    """Values for the JSON file: SIGNIFICANT_DIGITS digits, -0 as 0, whole numbers as ints."""
    out = []
    for v in values.tolist():
        r = float(f"{v:.{SIGNIFICANT_DIGITS}g}") + 0.0  # + 0.0 turns -0.0 into 0.0
        out.append(int(r) if r.is_integer() and abs(r) < 1e15 else r)
    if not all(np.isfinite(out)):
        raise ValueError("explorer grid produced a non-finite value; the grid must stay inside the "
                         "entries' domain")
    return out


def shapes_properties(name: str, book) -> dict | None:
    """The shapes study's properties of an entry at its defaults, as the report recorded
    them (actbench.report.shapes runs first); None when the study has no results for it."""
    if book is None or book.get(f"shapes.{name}.gauss_mean") is None:
        return None
    found = {key: book.get(f"shapes.{name}.{key}") for key in PROPERTY_LABELS}
    # The book keeps non-finite values as text ("inf"); float() reads them back.
    return {key: (entry["value"] if isinstance(entry["value"], bool) else float(entry["value"]))
            for key, entry in found.items() if entry is not None}


def setting_properties(spec, params: dict, book=None) -> list[dict]:
    """The properties of one parameter setting, as {key, label, value, text} rows."""
    bound = SimpleNamespace(f=partial(spec.forward, **params), df=partial(spec.derivative, **params))
    props = shapes_properties(spec.name, book) if params == spec.params else None
    if props is None:
        props = dict(spec.properties if params == spec.params else compute_properties(bound, **COARSE))
        if "min_x" in props:  # refined as the shapes study does
            props["min_x"], props["min_value"] = refine_minimum(bound, props["min_x"])
    return [{"key": key, "label": label, "value": props[key], "text": fmt(props[key])}
            for key, label in PROPERTY_LABELS.items() if key in props]


def entry_data(name: str, x: torch.Tensor, book=None) -> dict:
    spec = activations.get(name)
    params = [{"name": p, "label": PARAM_LABELS.get(p, p), "default": float(default),
               "values": param_values(name, p, float(default))}
              for p, default in spec.params.items()]
    settings = list(itertools.product(*(p["values"] for p in params)))
    if len(settings) > MAX_SETTINGS:
        raise ValueError(f"explorer: {name!r} has {len(settings)} parameter settings (more than "
                         f"{MAX_SETTINGS}); give its parameters fewer values in PARAM_RANGES")
    curves = []
    for values in settings:
        setting = {p["name"]: v for p, v in zip(params, values)}
        with torch.no_grad():
            f, df = spec.forward(x, **setting), spec.derivative(x, **setting)
        d2f = second_derivative(partial(spec.derivative, **setting), x)
        curves.append({"params": setting, "f": rounded(f), "df": rounded(df), "d2f": rounded(d2f),
                       "properties": setting_properties(spec, setting, book)})
    return {"name": name, "label": spec.label, "colour": spec.colour, "description": spec.description,
            "params": params, "curves": curves}


def explorer_data(book=None) -> dict:
    x = x_grid()
    # One thread: these are small tensors, and two OpenMP threads on a busy machine are
    # many times slower than one.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        entries = [entry_data(name, x, book) for name in activations.elementwise_names()]
    finally:
        torch.set_num_threads(threads)
    return {
        "x": rounded(x),
        "x_limit": X_LIMIT,
        "significant_digits": SIGNIFICANT_DIGITS,
        "activations": entries,
        # Not functions of one number, so not on the grid; named so the page can say so.
        "not_elementwise": [{"name": n, "label": activations.get(n).label}
                            for n in activations.names() if not activations.get(n).elementwise],
    }


def build(results_dir: Path, out_dir: Path, book) -> None:
    data = explorer_data(book)
    text = json.dumps(json_safe(data), separators=(",", ":"), allow_nan=False)
    atomic_write_text(out_dir / FILE_NAME, text)
    # For the page's prose: what the grid is and how much the reader downloads.
    book.add("explorer.grid_points", GRID_POINTS, fmt="d", exact=True)
    book.add("explorer.x_limit", X_LIMIT, fmt="g", exact=True)
    book.add("explorer.param_values", PARAM_VALUES, fmt="d", exact=True)
    book.add("explorer.significant_digits", SIGNIFICANT_DIGITS, fmt="d", exact=True)
    book.add("explorer.entries", len(data["activations"]), fmt="d", exact=True)
    book.add("explorer.size_kib", len(text.encode()) / 1024, fmt=".0f")
