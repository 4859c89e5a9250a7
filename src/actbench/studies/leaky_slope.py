"""Study `leaky_slope`: how much does LeakyReLU's negative slope matter?

One job per seed trains, for every slope in ``--slopes`` (0 means plain ReLU):

* ``shallow``: the tutorial's Experiment 1 MLP (784-256-128-10), He init, every slope in
  ``--slopes``, ``--train-subset`` rows for ``--epochs`` epochs at ``--lr``;
* ``deep``: a ``--deep-depth``-layer plain MLP of width ``--deep-width`` (no
  normalisation, no skip connections; He init, the init PyTorch's ``kaiming_normal_``
  gives for LeakyReLU with that slope), every slope in ``--deep-slopes``,
  ``--deep-train-subset`` rows for ``--deep-epochs`` epochs at ``--deep-lr``. The
  tutorial calls 20 layers "medium" and "> 50 layers" deep, hence 51 Linear layers by
  default; Adam at 1e-3 makes such a stack oscillate, so it learns at a lower rate,

with Adam, and records test accuracy per epoch plus dead units after training (over
the whole training subset, both definitions of ``actbench.diagnostics``: never
positive, and |f'| below the threshold for every sample).
"""

from __future__ import annotations

import argparse
import math

import pandas as pd
import torch
import torch.nn as nn
from tqdm import tqdm

from actbench import ablation, diagnostics, models, train
from actbench.studies.unit import Param

NAME = "leaky_slope"
KEY = ["part", "seed", "net", "slope", "epoch"]
SLOPES = [0.0, 0.001, 0.01, 0.1, 0.2, 0.3]


def build(net: str, slope: float, args, seed: int) -> nn.Sequential:
    if net == "shallow":
        widths = [784, 256, 128, 10]
    else:
        widths = [784] + [args.deep_width] * (args.deep_depth - 1) + [10]
    act = "relu" if slope == 0 else "leaky_relu"
    params = {} if slope == 0 else {"negative_slope": slope}
    model = models.mlp(widths, act, init="torch_default", seed=seed, activation_params=params)
    # He init for a leaky rectifier: Var(W) = 2 / ((1 + slope^2) fan_in), zero biases.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed + 1)
        for layer in model:
            if isinstance(layer, nn.Linear):
                nn.init.kaiming_normal_(layer.weight, a=slope, nonlinearity="leaky_relu")
                nn.init.zeros_(layer.bias)
    return model


def settings(net: str, args) -> dict:
    """Rows, epochs and learning rate of one of the two networks."""
    if net == "shallow":
        return {"rows": args.train_subset, "epochs": args.epochs, "lr": args.lr}
    return {"rows": args.deep_train_subset, "epochs": args.deep_epochs, "lr": args.deep_lr}


def part_train(args, seed) -> pd.DataFrame:
    frames = []
    runs = [("shallow", s) for s in args.slopes] + [("deep", s) for s in args.deep_slopes]
    for net, slope in tqdm(runs, desc=f"leaky_slope seed {seed}", unit="run", mininterval=2):
        cfg = settings(net, args)
        data = ablation.mnist(cfg["rows"], args.test_subset)
        model = build(net, slope, args, seed)
        result = train.fit(model, data, epochs=cfg["epochs"], lr=cfg["lr"], batch_size=args.batch_size, seed=seed)
        df = ablation.epoch_rows(result, net=net, slope=slope, seed=seed,
                                 depth=len([m for m in model if isinstance(m, nn.Linear)]),
                                 train_subset=len(data.x_train), test_subset=len(data.x_test),
                                 lr=cfg["lr"], batch_size=args.batch_size)
        dead = dict(never_positive_fraction=math.nan, gradient_dead_fraction=math.nan)
        if not result.diverged:
            mon = diagnostics.measure_dead_units(model, data.x_train, threshold=args.dead_threshold)
            dead = dict(never_positive_fraction=mon.dead_fraction("never_positive"),
                        gradient_dead_fraction=mon.dead_fraction("gradient"))
        last = df["epoch"] == df["epoch"].max()
        for k, v in dead.items():
            df[k] = math.nan
            df.loc[last, k] = v
        df["dead_threshold"] = args.dead_threshold
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


PARTS = {"train": ablation.Part(part_train)}


def _slope(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; slopes are numbers in [0, 1)") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"slope {value} is not allowed; use a number in [0, 1) (0 = ReLU)")
    return value


SLOPE = dict(minimum=0, exclusive_maximum=1, unique=True, parse=_slope)

STUDY = ablation.study(
    NAME, "How much LeakyReLU's negative slope matters, in a shallow and in a deep MLP.", KEY, PARTS,
    seeds=5, quick_seeds=2, page="ablations.md#2-leakyrelus-negative-slope",
    params=(
        Param("slopes", SLOPES, "negative slopes of the Experiment 1 MLP (0 = ReLU)", quick=[0.0, 0.01, 0.1, 0.3],
              **SLOPE),
        Param("epochs", 5, "epochs of the shallow MLP", quick=2, minimum=1),
        Param("lr", 1e-3, "Adam learning rate of the shallow MLP", exclusive_minimum=0),
        Param("train_subset", 10000, "MNIST training rows of the shallow MLP (0 = all)", quick=500, minimum=0),
        Param("deep_depth", 51, "Linear layers of the deep MLP: the tutorial's 'deep' is > 50 layers (20 is 'medium')",
              quick=12, minimum=2),
        Param("deep_width", 64, "width of the deep MLP", quick=16, minimum=1),
        Param("deep_slopes", [0.01, 0.1, 0.3], "negative slopes of the deep MLP, the ones the tutorial compares",
              **SLOPE),
        Param("deep_epochs", 12, "epochs of the deep MLP (a plain 51-layer stack needs ~10 to level off)",
              quick=2, minimum=1),
        Param("deep_lr", 3e-4, "Adam learning rate of the deep MLP (1e-3 makes a plain 51-layer stack oscillate)",
              exclusive_minimum=0),
        Param("deep_train_subset", 20000, "MNIST training rows of the deep MLP (0 = all)", quick=500, minimum=0),
        Param("batch_size", 128, "minibatch size", minimum=1),
        Param("test_subset", 5000, "MNIST test rows (0 = all)", quick=200, minimum=0),
        Param("dead_threshold", diagnostics.DEFAULT_THRESHOLD,
              "|f'(z)| below this for every sample = gradient-dead", exclusive_minimum=0, exclusive_maximum=1),
    ),
)
