"""Study `shapes`: f and f' of every registry entry on a grid, at probe points, and the
computed properties (range, monotonicity, smoothness, Gaussian moments, minimum)."""

from __future__ import annotations

import pandas as pd
import torch
from tqdm import tqdm

from actbench import activations
from actbench.cliutil import activation_list, write_and_report
from actbench.properties import refine_minimum
from actbench.studies.unit import Param, Study

NAME = "shapes"
KEY = ["activation", "quantity", "x", "probe"]  # a probe point may also lie on the grid
# Points where the tutorial quotes values or derivatives (and a few landmarks).
DEFAULT_PROBES = [-10.0, -5.0, -3.0, -2.0, -1.0, -0.17, 0.0, 1.0, 2.0, 3.0, 5.0]


def table(names: list[str], grid_limit: float, points: int, probes: list[float]) -> pd.DataFrame:
    if not (0 < grid_limit < float("inf")):  # also refuses nan, which would write a table of NaN
        raise ValueError(f"--grid-limit must be a finite number > 0, got {grid_limit}")
    x = torch.linspace(-grid_limit, grid_limit, points, dtype=torch.float64)
    probe_x = torch.tensor(probes, dtype=torch.float64)
    rows = []
    for name in tqdm(names, desc="shapes", unit="activation"):
        spec = activations.get(name)
        for xs, is_probe in ((x, False), (probe_x, True)):
            for quantity, fn in (("f", spec.f), ("df", spec.df)):
                values = fn(xs)
                rows.append(pd.DataFrame({
                    "activation": name, "quantity": quantity, "x": xs.numpy(),
                    "value": values.numpy(), "probe": is_probe,
                }))
        props = dict(spec.properties)
        if "min_x" in props:
            props["min_x"], props["min_value"] = refine_minimum(spec, props["min_x"])
        rows.append(pd.DataFrame({
            "activation": name, "quantity": list(props), "x": float("nan"),
            "value": [float(v) for v in props.values()], "probe": False,
        }))
    return pd.concat(rows, ignore_index=True)


def constants() -> pd.DataFrame:
    """Default parameters and built-in constants of every entry, as property rows."""
    rows = [{"activation": "selu", "quantity": "lambda_constant", "value": activations.SELU_LAMBDA},
            {"activation": "selu", "quantity": "alpha_constant", "value": activations.SELU_ALPHA}]
    for name in activations.elementwise_names():
        for param, value in activations.get(name).params.items():
            rows.append({"activation": name, "quantity": f"param_{param}", "value": float(value)})
    # What a per-channel PReLU module stores: parameter bytes per channel (float32 default)
    channels = 64
    module = torch.nn.PReLU(num_parameters=channels)
    rows.append({"activation": "prelu", "quantity": "param_bytes_per_channel",
                 "value": sum(p.numel() * p.element_size() for p in module.parameters()) / channels})
    return pd.DataFrame(rows).assign(x=float("nan"), probe=False)


def identities(limit: float = 20.0, points: int = 400_001) -> pd.DataFrame:
    """Max |difference| over a dense float64 grid for identities the tutorial states."""
    x = torch.linspace(-limit, limit, points, dtype=torch.float64)
    neg = x[x <= 0]
    s = torch.sigmoid(x)
    checks = {
        "tanh_as_sigmoid": activations.get("tanh").f(x) - (2 * torch.sigmoid(2 * x) - 1),
        "elu_derivative_as_f_plus_alpha": activations.get("elu").df(neg) - (activations.get("elu").f(neg) + 1.0),
        "silu_derivative_closed_form": activations.get("silu").df(x) - s * (1 + x * (1 - s)),
    }
    return pd.DataFrame({"activation": "identity", "quantity": list(checks),
                         "value": [d.abs().max().item() for d in checks.values()],
                         "x": float("nan"), "probe": False})


def run(args) -> "Path":
    names = args.activations or activations.elementwise_names()
    df = pd.concat([table(names, args.grid_limit, args.points, args.probes), constants(), identities()],
                   ignore_index=True)
    df["grid_limit"], df["grid_points"] = args.grid_limit, args.points
    # Upserted by key: a run of some activations with the file's settings adds or redoes
    # theirs and keeps the others (other settings are refused before any work: see cli)
    return write_and_report(df, NAME, args.results, key=KEY)


STUDY = Study(
    name=NAME,
    summary="Computes f and f' of every registry entry on a grid and at the tutorial's quoted points, with the "
            "computed properties (range, monotonicity, smoothness, Gaussian moments, minimum).",
    key=KEY,
    params=(
        Param("activations", [], "registry names (empty: every elementwise registry entry)", min_items=0,
              parse=activation_list, unique=True),
        Param("grid_limit", 6.0, "the grid covers [-grid_limit, grid_limit]", exclusive_minimum=0),
        Param("points", 1201, "grid points", quick=201, minimum=3),
        Param("probes", DEFAULT_PROBES, "extra x values evaluated exactly (the tutorial's quoted points)",
              min_items=0, in_config=False),
    ),
    run=run,
    report="actbench.report.shapes",
    page="activations.md#shapes-and-derivatives",
)
