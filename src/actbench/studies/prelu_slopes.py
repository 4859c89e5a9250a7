"""Study `prelu_slopes`: the slopes PReLU learns per layer, and learnable Swish's beta.

One job per seed trains two small networks on an MNIST subset:

* ``cnn``: ``models.cnn`` with ``--channels`` conv blocks and a *per-channel* PReLU (one
  alpha per channel, as in He et al. 2015), or a learnable-beta Swish per block;
* ``mlp``: 784 -> ``--mlp-width`` x 3 -> 10 with a per-unit PReLU, or learnable Swish.

PReLU starts at alpha = 0.25 (PyTorch's default), Swish at beta = 1; Adam, no weight
decay (decay would pull the slopes towards 0). Rows: every learned alpha/beta after
training (``value``), its layer and layer position (early/middle/late), and the run's
final test accuracy.
"""

from __future__ import annotations

import argparse

import pandas as pd
import torch.nn as nn
from tqdm import tqdm

from actbench import ablation, activations, models, train
from actbench.cliutil import positive_int

NAME = "prelu_slopes"
KEY = ["part", "seed", "net", "activation", "layer", "unit"]
ACTIVATIONS = ("prelu", "swish_beta")


def position(index: int, count: int) -> str:
    """early / middle / late for a layer index among ``count`` activation layers."""
    if count == 1:
        return "only"
    return "early" if index == 0 else "late" if index == count - 1 else "middle"


def with_channel_prelu(model: nn.Sequential, init: float = 0.25) -> nn.Sequential:
    """Replace each shared PReLU by one with a slope per channel / unit of the layer before."""
    width = None
    for i, m in enumerate(model):
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            width = m.out_channels if isinstance(m, nn.Conv2d) else m.out_features
        elif isinstance(m, nn.PReLU):
            model[i] = nn.PReLU(num_parameters=width, init=init)
    return model


def build(net: str, act: str, args, seed: int) -> nn.Sequential:
    if net == "cnn":
        model = models.cnn(act, channels=args.channels, seed=seed)
    else:
        model = models.mlp([784] + [args.mlp_width] * 3 + [10], act, seed=seed)
    return with_channel_prelu(model) if act == "prelu" else model


def learned_parameters(model: nn.Module) -> list[dict]:
    mods = [m for m in model.modules() if isinstance(m, (nn.PReLU, activations.SwishBeta))]
    rows = []
    for i, m in enumerate(mods):
        values = (m.weight if isinstance(m, nn.PReLU) else m.beta.reshape(1)).detach().flatten().tolist()
        for unit, v in enumerate(values):
            rows.append({"layer": i, "layer_position": position(i, len(mods)), "unit": unit, "value": v,
                         "parameter": "alpha" if isinstance(m, nn.PReLU) else "beta"})
    return rows


def part_train(args, seed) -> pd.DataFrame:
    data = ablation.mnist(args.train_subset, args.test_subset)
    rows = []
    runs = [(net, act) for net in ("cnn", "mlp") for act in ACTIVATIONS]
    for net, act in tqdm(runs, desc=f"prelu_slopes seed {seed}", unit="run"):
        model = build(net, act, args, seed)
        result = train.fit(model, data, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, seed=seed)
        final = ablation.final_row(result)
        for r in learned_parameters(model):
            rows.append({**r, "net": net, "activation": act, "seed": seed,
                         "test_accuracy": final["test_accuracy"], "diverged": final["diverged"],
                         "epochs": args.epochs, "train_subset": len(data.x_train), "lr": args.lr})
    return pd.DataFrame(rows)


PARTS = {"train": ablation.Part(part_train)}


def add_arguments(p: argparse.ArgumentParser) -> None:
    ablation.add_job_arguments(p, PARTS, seeds=5)
    p.add_argument("--channels", nargs="+", type=positive_int, default=[16, 32, 64], help="CNN channels per block")
    p.add_argument("--mlp-width", type=positive_int, default=256)
    p.add_argument("--epochs", type=positive_int, default=3)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=positive_int, default=128)
    p.add_argument("--train-subset", type=int, default=5000, help="MNIST training rows (0 = all)")
    p.add_argument("--test-subset", type=int, default=2000, help="MNIST test rows (0 = all)")


def run(args):
    if len(args.channels) < 3:
        raise ValueError(f"--channels needs at least 3 blocks (early, middle, late), got {args.channels}")
    return ablation.run(args, NAME, KEY, PARTS)
