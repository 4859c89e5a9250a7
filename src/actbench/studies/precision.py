"""Study `precision`: activations in 16-bit floating point.

* ``overflow`` (unseeded): every elementwise activation evaluated on *every* finite
  float16 and bfloat16 value, forward and backward (upstream gradient 1), with PyTorch's
  module (``module``) and with the formula typed from primitives (``manual``, the
  registry's naive composition). A non-finite result is counted as *unavoidable* when
  the exact value (float64, then rounded to the format) is itself not finite, and as an
  *implementation* overflow when the exact value fits but the computation produced
  inf/NaN on the way.
* ``autocast`` (one job per seed): the Experiment 1 MLP trained in float32 and with
  ``torch.autocast("cpu", dtype=torch.bfloat16)`` from the same weights and batch order;
  test accuracy of both.
"""

from __future__ import annotations

import pandas as pd
import torch
from tqdm import tqdm

from actbench import ablation, activations, models, train
from actbench.cliutil import activation_list
from actbench.studies.gelu_approx import every_finite
from actbench.studies.unit import Param

NAME = "precision"
KEY = ["part", "seed", "quantity", "dtype", "activation", "provider", "autocast", "epoch"]
DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16}
AUTOCAST_ACTIVATIONS = ["relu", "leaky_relu", "elu", "gelu", "silu", "mish", "tanh", "sigmoid"]


def _nonfinite_counts(out: torch.Tensor, exact: torch.Tensor, dtype: torch.dtype) -> dict:
    bad = ~torch.isfinite(out)
    exact_fits = torch.isfinite(exact.to(dtype))
    return {"nonfinite": int(bad.sum()), "unavoidable": int((bad & ~exact_fits).sum()),
            "implementation": int((bad & exact_fits).sum())}


def evaluate(name: str, provider: str, x: torch.Tensor) -> dict:
    """Forward and backward of one activation on the tensor x (any float dtype)."""
    spec = activations.get(name)
    dtype = x.dtype
    xx = x.clone().requires_grad_(True)
    if provider == "module":
        fn = spec.module().to(dtype)
    else:
        def fn(t):
            return spec.manual(t, **spec.params)
    out = fn(xx)
    (grad,) = torch.autograd.grad(out, xx, torch.ones_like(out))
    x64 = x.double()
    fwd = _nonfinite_counts(out.detach(), spec.f(x64), dtype)
    bwd = _nonfinite_counts(grad, spec.df(x64), dtype)
    bad = ~torch.isfinite(out.detach()) | ~torch.isfinite(grad)
    smallest = float(x64[bad].abs().min()) if bool(bad.any()) else float("nan")
    return {"inputs": x.numel(),
            "fwd_nonfinite": fwd["nonfinite"], "fwd_unavoidable": fwd["unavoidable"],
            "fwd_implementation": fwd["implementation"],
            "bwd_nonfinite": bwd["nonfinite"], "bwd_unavoidable": bwd["unavoidable"],
            "bwd_implementation": bwd["implementation"],
            "smallest_bad_abs_x": smallest}


def part_overflow(args, seed) -> pd.DataFrame:
    rows = []
    names = args.activations or activations.elementwise_names()  # empty: every elementwise entry
    for dtype_name, dtype in DTYPES.items():
        x = every_finite(dtype)
        info = torch.finfo(dtype)
        rows.append({"quantity": "format", "dtype": dtype_name, "max_finite": float(info.max),
                     "inputs": x.numel()})
        runs = [(a, p) for a in names for p in ("module", "manual")]
        for name, provider in tqdm(runs, desc=f"precision {dtype_name}", unit="fn", mininterval=2):
            if provider == "manual" and activations.get(name).manual is None:
                continue
            row = {"quantity": "overflow", "dtype": dtype_name, "activation": name, "provider": provider}
            try:
                row.update(evaluate(name, provider, x), supported=True, error="")
            except (RuntimeError, NotImplementedError) as exc:  # an op without a kernel for this dtype
                row.update(supported=False, error=str(exc).splitlines()[0][:200])
            rows.append(row)
    return pd.DataFrame(rows)


def part_autocast(args, seed) -> pd.DataFrame:
    data = ablation.mnist(args.train_subset, args.test_subset)
    frames = []
    runs = [(a, ac) for a in args.autocast_activations for ac in ("float32", "bfloat16")]
    for act, ac in tqdm(runs, desc=f"precision autocast seed {seed}", unit="run"):
        model = models.mlp([784, 256, 128, 10], act, seed=seed)
        result = train.fit(model, data, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, seed=seed,
                           autocast_dtype=None if ac == "float32" else torch.bfloat16)
        frames.append(ablation.epoch_rows(result, quantity="autocast", activation=act, autocast=ac, seed=seed,
                                          train_subset=len(data.x_train), test_subset=len(data.x_test),
                                          lr=args.lr, batch_size=args.batch_size))
    return pd.concat(frames, ignore_index=True)


PARTS = {
    "overflow": ablation.Part(part_overflow, seeded=False),
    "autocast": ablation.Part(part_autocast),
}


STUDY = ablation.study(
    NAME, "Activations in 16-bit floating point: overflow on every finite float16 and bfloat16 input, and MNIST "
    "training under bfloat16 autocast.", KEY, PARTS,
    seeds=5, quick_seeds=2, page="ablations.md#7-sixteen-bit-arithmetic",
    params=(
        Param("activations", [], "activations of the overflow scan (empty: every elementwise registry entry)",
              quick=["relu", "leaky_relu", "gelu", "gelu_tanh", "silu", "elu", "tanh", "sigmoid", "selu"],
              min_items=0, unique=True, parse=activation_list),
        Param("autocast_activations", AUTOCAST_ACTIVATIONS,
              "activations of the Experiment 1 MLP trained in float32 and under bfloat16 autocast",
              quick=["relu", "gelu"], unique=True, parse=activation_list),
        Param("epochs", 3, "training epochs", quick=1, minimum=1),
        Param("lr", 1e-3, "Adam learning rate", exclusive_minimum=0),
        Param("batch_size", 128, "minibatch size", minimum=1),
        Param("train_subset", 10000, "MNIST training rows (0 = all)", quick=500, minimum=0),
        Param("test_subset", 5000, "MNIST test rows (0 = all)", quick=200, minimum=0),
    ),
)
