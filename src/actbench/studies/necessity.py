"""Study `necessity`: why activations exist (the tutorial's demo 1).

A stack of linear layers equals one linear map (measured difference); linear vs ReLU
models on XOR and circles (accuracy, decision boundaries); and how many linear pieces
ReLU nets cut their input space into."""

from __future__ import annotations

import pandas as pd
import torch
import torch.nn as nn
from tqdm import tqdm

from actbench.cliutil import write_and_report
from actbench.models import mlp
from actbench.studies.unit import Param, Study
from actbench.train import fit, synthetic_split

NAME = "necessity"
KEY = None  # one job writes the whole table
DATASETS = ("xor", "circles")
MODELS = {
    # name: hidden activation (None = no activation anywhere: a deep linear stack)
    "linear_stack": None,
    "relu_mlp": "relu",
}


# ── 1. linear layers collapse ──────────────────────────────────────────────
@torch.no_grad()
def collapse_rows(depths=(2, 5, 10, 50), width: int = 16, in_features: int = 2, samples: int = 1000) -> pd.DataFrame:
    """max |stack(x) - (W x + b)| where W, b are the composed map, in float32 and float64."""
    rows = []
    for dtype in (torch.float32, torch.float64):
        for depth in depths:
            torch.manual_seed(depth)
            model = mlp([in_features] + [width] * (depth - 1) + [in_features], None).to(dtype)
            W = torch.eye(in_features, dtype=dtype)
            b = torch.zeros(in_features, dtype=dtype)
            for layer in model:  # compose y = W_L(...(W_1 x + b_1)...) + b_L
                W, b = layer.weight @ W, layer.weight @ b + layer.bias
            x = torch.randn(samples, in_features, dtype=dtype)
            stacked, collapsed = model(x), x @ W.T + b
            diff = (stacked - collapsed).abs().max().item()
            scale = stacked.abs().max().item()
            rows.append({"part": "collapse", "depth": depth, "dtype": str(dtype).replace("torch.", ""),
                         "max_abs_diff": diff, "max_abs_output": scale, "rel_diff": diff / scale})
    return pd.DataFrame(rows)


# ── 2. linear vs non-linear classifiers ─────────────────────────────────────
def classify_rows(seeds: int, samples: int, noise: float, hidden, epochs: int, grid: int) -> list[pd.DataFrame]:
    frames = []
    jobs = [(d, m, s) for d in DATASETS for m in MODELS for s in range(seeds)]
    for dataset, model_name, seed in tqdm(jobs, desc=f"{NAME} classify", unit="model"):
        data = synthetic_split(dataset, samples, noise, seed)
        model = mlp([2, *hidden, 2], MODELS[model_name], init="torch_default", seed=seed)
        result = fit(model, data, epochs=epochs, lr=1e-2, batch_size=100, seed=seed)
        final = result.final
        frames.append(pd.DataFrame([{
            "part": "classify", "dataset": dataset, "model": model_name, "seed": seed,
            "train_accuracy": final["train_accuracy"], "test_accuracy": final["test_accuracy"],
            "test_loss": final["test_loss"], "diverged": result.diverged}]))
        if seed == 0:
            frames.append(boundary_rows(model, data, dataset, model_name, grid))
    return frames


@torch.no_grad()
def boundary_rows(model: nn.Module, data, dataset: str, model_name: str, grid: int) -> pd.DataFrame:
    """P(class 1) on a grid covering the data, plus the test points, for the figure."""
    lo = float(data.x_test.min()) - 0.1
    hi = float(data.x_test.max()) + 0.1
    axis = torch.linspace(lo, hi, grid)
    gx, gy = torch.meshgrid(axis, axis, indexing="xy")
    pts = torch.stack([gx.flatten(), gy.flatten()], dim=1)
    prob = torch.softmax(model.eval()(pts), dim=1)[:, 1]
    surface = pd.DataFrame({"part": "boundary", "dataset": dataset, "model": model_name, "seed": 0,
                            "x1": pts[:, 0].numpy(), "x2": pts[:, 1].numpy(), "p_class1": prob.numpy()})
    points = pd.DataFrame({"part": "points", "dataset": dataset, "model": model_name, "seed": 0,
                           "x1": data.x_test[:, 0].numpy(), "x2": data.x_test[:, 1].numpy(),
                           "label": data.y_test.numpy()})
    return pd.concat([surface, points], ignore_index=True)


# ── 3. linear regions of ReLU nets ──────────────────────────────────────────
@torch.no_grad()
def _patterns(model: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """Activation pattern (which ReLUs are on) of every input row, as one bool row each."""
    on = []
    h = x
    for layer in model:
        h = layer(h)
        if isinstance(layer, nn.ReLU):
            on.append(h > 0)
    return torch.cat(on, dim=1)


def regions_1d_rows(widths=(2, 4, 8, 16), trials: int = 50, points: int = 200_001, span: float = 20.0) -> pd.DataFrame:
    """Linear pieces of a 1-hidden-layer ReLU net on a line: pattern changes + 1 along a dense grid.
    The bound is N + 1 for N units (each unit switches once along a line)."""
    x = torch.linspace(-span, span, points).unsqueeze(1)
    rows = []
    for width in widths:
        for trial in range(trials):
            model = mlp([1, width, 1], "relu", seed=trial)
            pat = _patterns(model, x)
            changes = int((pat[1:] != pat[:-1]).any(dim=1).sum())
            rows.append({"part": "regions_1d", "width": width, "depth": 2, "seed": trial,
                         "linear_regions": changes + 1, "bound": width + 1, "span": span})
    return pd.DataFrame(rows)


def regions_2d_rows(width: int = 8, depths=(1, 2, 3, 4), trials: int = 50, grid: int = 401,
                    span: float = 3.0) -> pd.DataFrame:
    """Distinct activation patterns on a 2-D grid for nets of 1..4 hidden layers with the
    same ``width`` units in every layer (the tutorial's "L layers of N units each"; torch
    default init). For a ReLU net each pattern's input region is convex, so distinct
    patterns = linear regions (up to grid resolution)."""
    axis = torch.linspace(-span, span, grid)
    gx, gy = torch.meshgrid(axis, axis, indexing="xy")
    pts = torch.stack([gx.flatten(), gy.flatten()], dim=1)
    rows = []
    for hidden_layers in depths:
        for trial in range(trials):
            model = mlp([2] + [width] * hidden_layers + [1], "relu", seed=trial)
            pat = _patterns(model, pts)
            regions = len(torch.unique(pat, dim=0))
            rows.append({"part": "regions_2d", "width": width, "depth": hidden_layers, "seed": trial,
                         "linear_regions": regions, "total_units": width * hidden_layers, "span": span,
                         "grid": grid})
    return pd.DataFrame(rows)


def run(args) -> "Path":
    torch.set_num_threads(args.threads)
    frames = [collapse_rows()]
    frames += classify_rows(args.seeds, args.samples, args.noise, args.hidden, args.epochs, args.grid)
    frames.append(regions_1d_rows(trials=args.region_trials))
    frames.append(regions_2d_rows(trials=args.region_trials))
    df = pd.concat(frames, ignore_index=True).assign(
        samples=args.samples, noise=args.noise, hidden="-".join(map(str, args.hidden)), epochs=args.epochs)
    return write_and_report(df, NAME, args.results, key=KEY)


STUDY = Study(
    name=NAME,
    summary="The tutorial's demo 1, why activations exist: a stack of linear layers is one linear map, a "
            "linear stack against a ReLU net on XOR and circles, and the linear regions of ReLU nets.",
    key=[],  # one job writes the whole table (KEY is None)
    params=(
        Param("seeds", 5, "training seeds per model and dataset, 0..n-1 (at least 2 for a confidence interval)",
              quick=2, minimum=2),
        Param("samples", 1000, "training (and test) points per dataset", quick=200, minimum=10),
        Param("noise", 0.05, "Gaussian noise added to the 2-D points", minimum=0),
        Param("epochs", 100, "training epochs of both models", quick=20, minimum=1),
        Param("region_trials", 50, "random nets per linear-region count", quick=5, minimum=1),
        Param("hidden", [16, 16], "hidden widths of both models", minimum=1, in_config=False),
        Param("grid", 121, "decision-boundary grid points per axis", minimum=1, in_config=False),
        Param("threads", 1, "torch threads", minimum=1, in_config=False),
    ),
    run=run,
    report="actbench.report.necessity",
    page="necessity.md",
)
