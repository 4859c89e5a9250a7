"""Study `prelu_slopes`: the slopes PReLU learns per layer, and learnable Swish's beta.

One job per seed trains two small networks on MNIST:

* ``cnn``: ``models.cnn`` with ``--channels`` conv blocks and a *per-channel* PReLU (one
  alpha per channel, as in He et al. 2015), or a learnable-beta Swish per block, on
  ``--cnn-train-subset`` rows for ``--cnn-epochs`` epochs;
* ``mlp``: 784 -> ``--mlp-width`` x 3 -> 10 with a per-unit PReLU, or learnable Swish, on
  ``--train-subset`` rows for ``--epochs`` epochs.

PReLU starts at alpha = ``--alpha-init`` (0.25, PyTorch's default and He et al.'s). Swish
starts at every beta in ``--beta-inits`` (away from 1 on both sides, so that "ends near
1" cannot be met by a parameter that never moved). Adam without weight decay (decay
would pull the slopes towards 0); the weights learn at ``--lr`` and the slopes at
``--param-lr``: Adam moves a parameter by at most about its learning rate per step, so at
1e-3 a slope can travel only ~0.001 x steps, less than the distances the tutorial's
ranges ask for within this budget.

Rows: ``final`` -- every learned alpha/beta after training (``value``) with its layer,
layer position (early/middle/late) and the run's final test accuracy; ``trajectory`` --
per epoch and layer the median slope and the test accuracy (the report's adequacy
checks: the parameter moved, it settled, the net learned the task).
"""

from __future__ import annotations

import argparse
import math

import pandas as pd
import torch
import torch.nn as nn
from tqdm import tqdm

from actbench import ablation, activations, models, train
from actbench.studies.unit import Param

NAME = "prelu_slopes"
KEY = ["part", "seed", "quantity", "net", "activation", "init", "layer", "unit", "epoch"]
ACTIVATIONS = ("prelu", "swish_beta")
LEARNED = (nn.PReLU, activations.SwishBeta)


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


def build(net: str, act: str, args, seed: int, init: float | None = None) -> nn.Sequential:
    """The network with its learnable activations at their starting value ``init``
    (default: ``--alpha-init`` for PReLU, 1 for Swish)."""
    if net == "cnn":
        model = models.cnn(act, channels=args.channels, seed=seed)
    else:
        model = models.mlp([784] + [args.mlp_width] * 3 + [10], act, seed=seed)
    if act == "prelu":
        return with_channel_prelu(model, getattr(args, "alpha_init", 0.25) if init is None else init)
    if init is not None:
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, activations.SwishBeta):
                    m.beta.fill_(init)
    return model


def learned_modules(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, LEARNED)]


def _values(m: nn.Module) -> torch.Tensor:
    return (m.weight if isinstance(m, nn.PReLU) else m.beta.reshape(1)).detach().flatten()


def learned_parameters(model: nn.Module) -> list[dict]:
    mods = learned_modules(model)
    rows = []
    for i, m in enumerate(mods):
        for unit, v in enumerate(_values(m).tolist()):
            rows.append({"layer": i, "layer_position": position(i, len(mods)), "unit": unit, "value": v,
                         "parameter": "alpha" if isinstance(m, nn.PReLU) else "beta"})
    return rows


def optimizer_with_param_lr(model: nn.Module, param_lr: float):
    """Adam with the learnable slopes in their own group at ``param_lr`` (train.fit's
    callable-optimizer form)."""
    special = [p for m in learned_modules(model) for p in m.parameters()]
    ids = {id(p) for p in special}
    rest = [p for p in model.parameters() if id(p) not in ids]

    def make(params, lr):
        return torch.optim.Adam([{"params": rest, "lr": lr}, {"params": special, "lr": param_lr}])
    return make


def trajectory(model: nn.Module, record: dict) -> list[dict]:
    mods = learned_modules(model)
    return [{"layer": i, "layer_position": position(i, len(mods)), "epoch": int(record["epoch"]),
             "value": float(_values(m).median()), "test_accuracy": float(record["test_accuracy"])}
            for i, m in enumerate(mods)]


def runs(args) -> list[tuple[str, str, float]]:
    """(net, activation, initial value) of every run in one job."""
    out = []
    for net in ("cnn", "mlp"):
        out.append((net, "prelu", args.alpha_init))
        out += [(net, "swish_beta", b) for b in args.beta_inits]
    return out


def part_train(args, seed) -> pd.DataFrame:
    rows = []
    for net, act, init in tqdm(runs(args), desc=f"prelu_slopes seed {seed}", unit="run"):
        rows_n, epochs = ((args.cnn_train_subset, args.cnn_epochs) if net == "cnn"
                          else (args.train_subset, args.epochs))
        data = ablation.mnist(rows_n, args.test_subset)
        model = build(net, act, args, seed, init)
        path: list[dict] = []

        def record(model, rec, path=path):
            path.extend(trajectory(model, rec))
        result = train.fit(model, data, epochs=epochs, lr=args.lr, batch_size=args.batch_size, seed=seed,
                           optimizer=optimizer_with_param_lr(model, args.param_lr), callbacks=[record])
        final = ablation.final_row(result)
        common = {"net": net, "activation": act, "init": float(init), "seed": seed, "epochs": epochs,
                  "train_subset": len(data.x_train), "lr": args.lr, "param_lr": args.param_lr,
                  "diverged": final["diverged"]}
        for r in learned_parameters(model):
            rows.append({**r, **common, "quantity": "final", "epoch": int(final["epoch"]),
                         "test_accuracy": final["test_accuracy"]})
        for r in path:
            rows.append({**r, **common, "quantity": "trajectory", "unit": -1,
                         "parameter": "alpha" if act == "prelu" else "beta"})
    return pd.DataFrame(rows)


PARTS = {"train": ablation.Part(part_train)}


def _start(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; starting values are numbers > 0") from None
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"starting value {value} is not allowed; use a finite number > 0")
    return value


def run(args):
    """Check what one flag's declaration cannot (the number of CNN blocks), then run."""
    if len(args.channels) < 3:
        raise ValueError(f"--channels {' '.join(map(str, args.channels))}: {len(args.channels)} blocks are not "
                         "allowed; give at least 3 (an early, a middle and a late layer)")
    return ablation.run(args, NAME, KEY, PARTS)


STUDY = ablation.study(
    NAME, "The slopes PReLU learns per layer, and the beta a learnable Swish learns, in a small CNN and an "
    "MLP trained on MNIST.", KEY, PARTS,
    seeds=4, quick_seeds=2, page="ablations.md#5-what-prelu-learns", custom_run=run,
    params=(
        Param("channels", [16, 32, 64], "CNN channels per block, at least 3 blocks (early, middle, late)",
              quick=[4, 8, 8], minimum=1, min_items=3, selects=False),  # changes every CNN row, chooses none
        Param("mlp_width", 256, "width of the MLP's three hidden layers", quick=32, minimum=1),
        Param("epochs", 5, "epochs of the MLP", quick=2, minimum=1),
        Param("train_subset", 0, "MNIST training rows of the MLP (0 = all 60,000)", quick=500, minimum=0),
        Param("cnn_epochs", 4, "epochs of the CNN", quick=2, minimum=1),
        Param("cnn_train_subset", 10000, "MNIST training rows of the CNN (0 = all)", quick=300, minimum=0),
        Param("lr", 1e-3, "Adam learning rate of the weights", exclusive_minimum=0),
        Param("param_lr", 1e-2, "Adam learning rate of the PReLU slopes and Swish beta (Adam moves a parameter "
              "by about its learning rate per step, so at 1e-3 a slope could travel only ~0.001 x steps)",
              exclusive_minimum=0),
        Param("alpha_init", 0.25, "PReLU's initial slope (PyTorch's default and He et al.'s)", exclusive_minimum=0,
              parse=_start),
        Param("beta_inits", [0.5, 2.0], "Swish-beta's starting values, one run each: away from 1 on both sides, "
              "so that 'ends near 1' cannot be met by a beta that never moved", exclusive_minimum=0, parse=_start),
        Param("batch_size", 128, "minibatch size", minimum=1),
        Param("test_subset", 2000, "MNIST test rows (0 = all)", quick=200, minimum=0),
    ),
)
