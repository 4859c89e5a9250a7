"""Study `selu_norm`: does SELU keep activations at mean 0, variance 1 by itself?

* ``forward`` (unseeded, ``--seeds`` replicates): a ``--depth``-layer SELU network of
  width ``--width`` at initialisation, LeCun-normal vs He vs Xavier weights (zero
  biases), with no dropout, ordinary ``nn.Dropout`` or ``nn.AlphaDropout`` after every
  activation (train mode, so dropout is active). Input N(0, 1); mean and variance of
  every layer's output.
* ``fixed_point`` (unseeded): the layer-to-layer map of the activation statistics
  computed by numerical integration. With LeCun weights the pre-activation of a unit
  is N(0, v) when the previous layer has second moment v (sum of w = 0, sum of w^2 = 1 in
  expectation), so the map is v -> (E selu(z), Var selu(z)); the iterates from several
  starting variances show where the fixed point is and how fast it attracts.
"""

from __future__ import annotations

import math

import pandas as pd
import torch
import torch.nn as nn
from tqdm import tqdm

from actbench import ablation, activations, models
from actbench.studies.unit import Param

NAME = "selu_norm"
KEY = ["part", "seed", "quantity", "init", "dropout", "layer", "start_var"]
INITS = ("lecun", "he", "xavier")
DROPOUTS = ("none", "dropout", "alpha_dropout")


def build(depth: int, width: int, init: str, dropout: str, p: float, seed: int) -> nn.Sequential:
    if dropout not in DROPOUTS:
        raise ValueError(f"unknown dropout {dropout!r}; allowed: {', '.join(DROPOUTS)}")
    base = models.mlp([width] * (depth + 1), "selu", init=init, bias="zero", seed=seed)
    layers = []
    for m in base:
        layers.append(m)
        if isinstance(m, nn.SELU) and dropout != "none":
            layers.append(nn.Dropout(p) if dropout == "dropout" else nn.AlphaDropout(p))
    # models.mlp ends with a Linear layer; give it an activation too so every layer is alike.
    layers.append(nn.SELU())
    if dropout != "none":
        layers.append(nn.Dropout(p) if dropout == "dropout" else nn.AlphaDropout(p))
    return nn.Sequential(*layers)


@torch.no_grad()
def trajectory(model: nn.Sequential, x: torch.Tensor) -> list[dict]:
    """Mean and variance after each layer (after its dropout, i.e. what the next layer sees)."""
    rows = [{"layer": 0, "mean": float(x.mean()), "var": float(x.var())}]
    mods = list(model)
    for i, m in enumerate(mods):
        x = m(x)
        nxt = mods[i + 1] if i + 1 < len(mods) else None
        ends_layer = isinstance(m, (nn.Dropout, nn.AlphaDropout)) or (
            isinstance(m, nn.SELU) and not isinstance(nxt, (nn.Dropout, nn.AlphaDropout)))
        if ends_layer:
            rows.append({"layer": len(rows), "mean": float(x.mean()), "var": float(x.var())})
    return rows


def part_forward(args, seed) -> pd.DataFrame:
    rows = []
    runs = [(i, d, s) for i in INITS for d in DROPOUTS for s in args.seeds]
    for init, dropout, s in tqdm(runs, desc="selu_norm forward", unit="net", mininterval=2):
        torch.manual_seed(s)  # dropout masks
        model = build(args.depth, args.width, init, dropout, args.dropout_p, s).train()
        x = torch.randn(args.samples, args.width, generator=torch.Generator().manual_seed(10_000 + s))
        for r in trajectory(model, x):
            rows.append({"quantity": "forward", "init": init, "dropout": dropout, "seed": s, **r})
    df = pd.DataFrame(rows)
    df["depth"], df["width"], df["samples"], df["dropout_p"] = args.depth, args.width, args.samples, args.dropout_p
    return df


def selu_map(v: float) -> tuple[float, float, float]:
    """(mean, variance, second moment) of selu(z) for z ~ N(0, v), by adaptive quadrature
    on each side of the kink at 0 (a single Gauss-Hermite rule would smear the kink)."""
    from scipy import integrate

    a, lam = activations.SELU_ALPHA, activations.SELU_LAMBDA
    sd = math.sqrt(v)
    pdf = lambda z: math.exp(-0.5 * (z / sd) ** 2) / (sd * math.sqrt(2 * math.pi))  # noqa: E731
    neg = lambda z: lam * a * math.expm1(z)  # noqa: E731

    def expect(f_neg, f_pos):
        lo = integrate.quad(lambda z: f_neg(z) * pdf(z), -math.inf, 0, epsabs=1e-13, epsrel=1e-12)[0]
        hi = integrate.quad(lambda z: f_pos(z) * pdf(z), 0, math.inf, epsabs=1e-13, epsrel=1e-12)[0]
        return lo + hi

    mean = expect(neg, lambda z: lam * z)
    second = expect(lambda z: neg(z) ** 2, lambda z: (lam * z) ** 2)
    return mean, second - mean * mean, second


def part_fixed_point(args, seed) -> pd.DataFrame:
    rows = []
    for start in args.start_vars:
        v = start
        for layer in range(args.depth + 1):
            mean, var, second = selu_map(v)
            rows.append({"quantity": "fixed_point_iterate", "start_var": start, "layer": layer,
                         "input_second_moment": v, "mean": mean, "var": var})
            v = second  # next pre-activation variance = this layer's second moment (LeCun weights)
    mean1, var1, _ = selu_map(1.0)
    h = 1e-4
    slope = (selu_map(1 + h)[2] - selu_map(1 - h)[2]) / (2 * h)
    rows += [{"quantity": "map_mean_at_1", "mean": mean1}, {"quantity": "map_var_at_1", "var": var1},
             {"quantity": "map_second_moment_slope_at_1", "var": slope}]
    return pd.DataFrame(rows)


PARTS = {
    "forward": ablation.Part(part_forward, seeded=False),
    "fixed_point": ablation.Part(part_fixed_point, seeded=False),
}


STUDY = ablation.study(
    NAME, "Whether SELU keeps activations at mean 0 and variance 1 by itself: a deep SELU network at "
    "initialisation with each init and dropout kind, and the fixed point of its variance map.", KEY, PARTS,
    seeds=10, quick_seeds=2, page="ablations.md#4-selus-self-normalisation",
    params=(
        Param("depth", 50, "layers of the SELU network (and iterates of the variance map)", minimum=1),
        Param("width", 256, "units per layer", quick=32, minimum=1),
        Param("samples", 1024, "input samples N(0, 1)", quick=256, minimum=2),
        Param("dropout_p", 0.1, "drop probability of nn.Dropout and nn.AlphaDropout", exclusive_minimum=0,
              exclusive_maximum=1),
        Param("start_vars", [0.1, 0.5, 1.0, 2.0, 4.0], "starting variances of the quadrature iterates",
              quick=[0.5, 1.0, 2.0], exclusive_minimum=0),
    ),
)
