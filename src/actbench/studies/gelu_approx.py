"""Study `gelu_approx`: exact (erf) GELU versus its tanh approximation.

* ``grid`` (unseeded): |exact - tanh| over a dense float64 grid (the maths), the same in
  float32 as PyTorch computes both, and over *every* finite bfloat16 and float16 input
  in the grid range; what ``nn.GELU()`` computes by default.
* ``train`` (one job per seed): the Experiment 1 MLP trained with each form from the
  same initial weights and the same batch order (a paired comparison).
* ``timing`` (exclusive): forward + backward time of both forms on one float32 tensor,
  measured in interleaved rounds so drift affects both alike.
"""

from __future__ import annotations

import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from actbench import ablation, models, train
from actbench.studies.unit import Param

NAME = "gelu_approx"
KEY = ["part", "seed", "quantity", "dtype", "activation", "epoch", "round", "x_at"]
FORMS = {"gelu": "none", "gelu_tanh": "tanh"}


def every_finite(dtype: torch.dtype) -> torch.Tensor:
    """All finite values of a 16-bit float type, sorted."""
    if dtype not in (torch.float16, torch.bfloat16):
        raise ValueError(f"every_finite needs a 16-bit float dtype, got {dtype}")
    x = torch.arange(-(2**15), 2**15, dtype=torch.int32).to(torch.int16).view(dtype)
    return torch.sort(x[torch.isfinite(x)].float()).values.to(dtype)


def _diff_rows(x: torch.Tensor) -> list[dict]:
    exact = F.gelu(x, approximate="none").double()
    approx = F.gelu(x, approximate="tanh").double()
    ref = F.gelu(x.double(), approximate="none")  # float64 exact, the reference
    d = (exact - approx).abs()
    i = int(d.argmax())
    return [
        {"quantity": "max_abs_diff", "value": float(d.max()), "x_at": float(x[i])},
        {"quantity": "mean_abs_diff", "value": float(d.mean())},
        {"quantity": "fraction_inputs_differing", "value": float((d > 0).double().mean())},
        {"quantity": "max_abs_err_exact_vs_float64", "value": float((exact - ref).abs().max())},
        {"quantity": "max_abs_err_tanh_vs_float64", "value": float((approx - ref).abs().max())},
        {"quantity": "points", "value": float(x.numel())},
    ]


def part_grid(args, seed) -> pd.DataFrame:
    rows = []
    grid = torch.linspace(-args.grid_limit, args.grid_limit, args.points, dtype=torch.float64)
    inputs = {"float64": grid, "float32": grid.float()}
    for dtype in (torch.bfloat16, torch.float16):
        values = every_finite(dtype)
        inputs[str(dtype).replace("torch.", "")] = values[values.float().abs() <= args.grid_limit]
    for name, x in inputs.items():
        rows += [{**r, "dtype": name} for r in _diff_rows(x)]
    # The difference as a curve (float64), for the figure.
    curve = torch.linspace(-args.grid_limit, args.grid_limit, 2001, dtype=torch.float64)
    diff = F.gelu(curve, approximate="none") - F.gelu(curve, approximate="tanh")
    rows += [{"quantity": "diff_curve", "dtype": "float64", "x_at": float(x), "value": float(v)}
             for x, v in zip(curve, diff)]
    # What nn.GELU() computes when nothing is specified.
    x = grid.float()
    default = nn.GELU()(x).double()
    rows.append({"quantity": "torch.nn.GELU.default.max_abs_diff_vs_tanh_approx", "dtype": "float32",
                 "value": float((default - F.gelu(x, approximate="tanh").double()).abs().max())})
    rows.append({"quantity": "torch.nn.GELU.default.max_abs_diff_vs_exact", "dtype": "float32",
                 "value": float((default - F.gelu(x, approximate="none").double()).abs().max())})
    rows.append({"quantity": "torch.nn.GELU.default.is_tanh", "dtype": "", "value": float(nn.GELU().approximate == "tanh")})
    df = pd.DataFrame(rows)
    df["grid_limit"], df["grid_points"] = args.grid_limit, args.points
    return df


def part_train(args, seed) -> pd.DataFrame:
    data = ablation.mnist(args.train_subset, args.test_subset)
    frames = []
    for act in tqdm(FORMS, desc=f"gelu_approx seed {seed}", unit="run"):
        model = models.mlp([784, 256, 128, 10], act, init="torch_default", seed=seed)
        result = train.fit(model, data, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, seed=seed)
        frames.append(ablation.epoch_rows(result, quantity="train", activation=act, seed=seed,
                                          train_subset=len(data.x_train), test_subset=len(data.x_test),
                                          lr=args.lr, batch_size=args.batch_size))
    return pd.concat(frames, ignore_index=True)


def part_timing(args, seed) -> pd.DataFrame:
    from torch.utils.benchmark import Timer

    torch.set_num_threads(args.timing_threads)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(args.timing_numel, generator=gen).requires_grad_(True)
    g = torch.randn(args.timing_numel, generator=gen)

    def fwd_bwd(approximate):
        def fn():
            y = F.gelu(x, approximate=approximate)
            torch.autograd.grad(y, x, g)
        return fn

    variants = {"gelu": fwd_bwd("none"), "gelu_tanh": fwd_bwd("tanh"),
                "relu": lambda: torch.autograd.grad(F.relu(x), x, g)}
    rows = []
    for r in tqdm(range(args.timing_rounds), desc="gelu_approx timing", unit="round"):
        order = list(variants) if r % 2 == 0 else list(reversed(variants))
        for name in order:
            m = Timer("fn()", globals={"fn": variants[name]}, num_threads=args.timing_threads).blocked_autorange(
                min_run_time=args.timing_min_s)
            rows.append({"quantity": "fwd_bwd_time_s", "activation": name, "round": r, "value": m.median,
                         "dtype": "float32", "numel": args.timing_numel, "threads": args.timing_threads,
                         "calls": len(m.times) * m.number_per_run, "wall_time_comparable": True})
    return pd.DataFrame(rows)


PARTS = {
    "grid": ablation.Part(part_grid, seeded=False),
    "train": ablation.Part(part_train),
    "timing": ablation.Part(part_timing, seeded=False, timing=True),
}


STUDY = ablation.study(
    NAME, "Exact (erf) GELU versus its tanh approximation: how far apart they are on a dense grid and on every "
    "16-bit input, MNIST training with each, and their speed.", KEY, PARTS,
    seeds=5, quick_seeds=2, page="ablations.md#3-gelu-exact-or-tanh-approximation",
    params=(
        Param("grid_limit", 10.0, "the float64/float32 grid and the 16-bit inputs cover [-grid_limit, grid_limit]",
              exclusive_minimum=0),
        Param("points", 2_000_001, "float64/float32 grid points", quick=20001, minimum=3),
        *ablation.mnist_params(10000, 5000, epochs_help="training epochs of the Experiment 1 MLP"),
        Param("timing_numel", 1 << 20, "elements of the timed float32 tensor", quick=65536, minimum=1),
        Param("timing_rounds", 15, "interleaved timing rounds (at least 2 for an interval)", quick=3, minimum=2),
        Param("timing_min_s", 0.2, "minimum seconds per measurement", quick=0.02, exclusive_minimum=0),
        Param("timing_threads", 1, "torch threads of the timing part", minimum=1),
    ),
)
