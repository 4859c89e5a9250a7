"""Study `init_pairing`: does each activation need its own weight initialisation?

Three parts:

* ``variance`` (unseeded, loops over ``--stat-seeds``): the weight variances that
  ``torch.nn.init`` really draws (Xavier, He, He for LeakyReLU, PyTorch's default), the
  tutorial's one-layer example of §7.1 (Linear(100, 100) + ReLU on unit-variance input),
  and every activation x init pushed through ``--depth`` layers at initialisation: mean,
  variance and second moment of the activations per layer.
* ``train`` (one job per seed): every activation in ``--activations`` x init, a
  ``--train-depth``-layer MLP trained ``--epochs`` epochs on an MNIST subset; test
  accuracy per epoch.

Init schemes: ``xavier`` (uniform, Var = 2/(fan_in+fan_out)), ``he`` (normal, 2/fan_in),
``lecun`` (normal, 1/fan_in), each with zero biases as the tutorial's init functions do;
``torch_default`` is PyTorch's own reset of weights *and* biases.
"""

from __future__ import annotations

import math

import pandas as pd
import torch
import torch.nn as nn
from tqdm import tqdm

from actbench import ablation, activations, models, train
from actbench.cliutil import activation_list
from actbench.studies.unit import Param

NAME = "init_pairing"
KEY = ["part", "seed", "quantity", "activation", "init", "layer", "epoch"]
INITS = ("xavier", "he", "lecun", "torch_default")
DISTRIBUTION = {"xavier": "uniform", "he": "normal", "lecun": "normal"}
TRAIN_ACTIVATIONS = ["relu", "leaky_relu", "elu", "selu", "gelu", "silu", "mish", "tanh", "sigmoid"]


def build_mlp(widths: list[int], activation: str, init: str, seed: int) -> nn.Sequential:
    """An MLP from ``models.mlp`` re-initialised with one of INITS (biases zeroed except
    for torch_default, which keeps PyTorch's full default)."""
    if init not in INITS:
        raise ValueError(f"unknown init {init!r}; allowed: {', '.join(INITS)}")
    model = models.mlp(widths, activation, init="torch_default", seed=seed)
    if init != "torch_default":
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + 1)
            models.init_weights(model, init, distribution=DISTRIBUTION[init], bias="zero")
    return model


@torch.no_grad()
def layer_statistics(model: nn.Sequential, x: torch.Tensor) -> list[dict]:
    """Mean, variance and second moment of the input and of every activation's output."""
    rows = [{"layer": 0, "mean": float(x.mean()), "var": float(x.var()), "second_moment": float((x * x).mean()),
             "pre_var": math.nan, "pre_within_2": math.nan}]
    pre = None
    for module in model:
        x = module(x)
        if isinstance(module, nn.Linear):
            pre = x
        elif pre is not None:  # the activation after a Linear layer
            rows.append({"layer": len(rows), "mean": float(x.mean()), "var": float(x.var()),
                         "second_moment": float((x * x).mean()), "pre_var": float(pre.var()),
                         # share of pre-activations in (-2, 2), the tutorial's "linear region" of sigmoid
                         "pre_within_2": float((pre.abs() < 2).float().mean())})
            pre = None
    return rows


def weight_variances(seed: int) -> list[dict]:
    """The variances torch.nn.init actually draws, for the tutorial's formulas."""
    gen_rows = []

    def layer(n_in, n_out):
        torch.manual_seed(seed)
        return nn.Linear(n_in, n_out)

    cases = {
        "xavier_uniform.weight_var:100x256": (lambda l: nn.init.xavier_uniform_(l.weight), 100, 256, 1.0),
        "xavier_uniform.weight_var_times_fan_in:square": (lambda l: nn.init.xavier_uniform_(l.weight), 256, 256, 256.0),
        # the tutorial's own Mistake 2 layers: Var(W)·n_in = 2·n_in/(n_in + n_out), not 1
        "xavier_uniform.weight_var_times_fan_in:100x256": (lambda l: nn.init.xavier_uniform_(l.weight), 100, 256, 100.0),
        "xavier_uniform.weight_var_times_fan_in:256x128": (lambda l: nn.init.xavier_uniform_(l.weight), 256, 128, 256.0),
        "kaiming_normal_relu.weight_var_times_fan_in": (
            lambda l: nn.init.kaiming_normal_(l.weight, nonlinearity="relu"), 100, 256, 100.0),
        "kaiming_normal_leaky:0.01.weight_var_times_fan_in": (
            lambda l: nn.init.kaiming_normal_(l.weight, a=0.01, nonlinearity="leaky_relu"), 100, 256, 100.0),
        "torch.nn.Linear.default_weight_var:100x256": (lambda l: None, 100, 256, 1.0),
    }
    for quantity, (init_fn, n_in, n_out, scale) in cases.items():
        lin = layer(n_in, n_out)
        with torch.no_grad():
            init_fn(lin)
        gen_rows.append({"quantity": quantity, "value": float(lin.weight.detach().var()) * scale,
                         "fan_in": n_in, "fan_out": n_out})
    return gen_rows


@torch.no_grad()
def tutorial_example(seed: int, samples: int) -> list[dict]:
    """§7.1: Linear(100, 100) + ReLU, weights Xavier-uniform or He-normal, PyTorch's default
    bias (the tutorial re-initialises weights only), input N(0, 1)."""
    rows = []
    for init, init_fn in (("xavier", nn.init.xavier_uniform_),
                          ("he", lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"))):
        torch.manual_seed(seed)
        lin = nn.Linear(100, 100)
        init_fn(lin.weight)
        x = torch.randn(samples, 100, generator=torch.Generator().manual_seed(10_000 + seed))
        z = lin(x)
        a = torch.relu(z)
        for quantity, value in (("pre_activation_var", z.var()), ("activation_var", a.var()),
                                ("activation_second_moment", (a * a).mean())):
            rows.append({"quantity": f"relu_{init}_100x100.{quantity}", "value": float(value),
                         "init": init, "activation": "relu", "fan_in": 100, "fan_out": 100})
    return rows


def part_variance(args, seed) -> pd.DataFrame:
    rows = []
    for s in range(args.stat_seeds):
        rows += [{**r, "seed": s} for r in weight_variances(s)]
        rows += [{**r, "seed": s} for r in tutorial_example(s, args.samples)]
    names = args.stat_activations or activations.elementwise_names()
    widths = [args.width] * (args.depth + 1) + [10]
    jobs = [(a, i, s) for a in names for i in INITS for s in range(args.stat_seeds)]
    for act, init, s in tqdm(jobs, desc="init_pairing forward", unit="net", mininterval=2):
        model = build_mlp(widths, act, init, seed=s)
        x = torch.randn(args.samples, args.width, generator=torch.Generator().manual_seed(20_000 + s))
        for r in layer_statistics(model, x):
            rows.append({"quantity": "forward", "activation": act, "init": init, "seed": s, **r})
    df = pd.DataFrame(rows)
    df["width"], df["depth"], df["samples"] = args.width, args.depth, args.samples
    return df


def part_train(args, seed) -> pd.DataFrame:
    data = ablation.mnist(args.train_subset, args.test_subset)
    widths = [784] + [args.train_width] * args.train_depth + [10]
    frames = []
    runs = [(a, i) for a in args.activations for i in INITS]
    for act, init in tqdm(runs, desc=f"init_pairing train seed {seed}", unit="run", mininterval=2):
        model = build_mlp(widths, act, init, seed=seed)
        result = train.fit(model, data, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, seed=seed)
        frames.append(ablation.epoch_rows(result, quantity="train", activation=act, init=init, seed=seed,
                                          train_depth=args.train_depth, train_width=args.train_width,
                                          train_subset=len(data.x_train), test_subset=len(data.x_test),
                                          lr=args.lr, batch_size=args.batch_size))
    return pd.concat(frames, ignore_index=True)


PARTS = {
    "variance": ablation.Part(part_variance, seeded=False),
    "train": ablation.Part(part_train),
}


STUDY = ablation.study(
    NAME, "Whether each activation needs its own weight initialisation: signal statistics through a deep "
    "stack at initialisation, and MNIST training with every init.", KEY, PARTS,
    seeds=3, quick_seeds=2, page="ablations.md#1-initialisation-has-to-fit-the-activation",
    params=(
        Param("stat_seeds", 10, "replicates of the forward statistics at initialisation", quick=2, minimum=2),
        Param("stat_activations", [], "activations of the forward statistics (empty: every elementwise registry "
              "entry)", quick=["relu", "gelu", "tanh", "sigmoid", "selu", "leaky_relu"], min_items=0, unique=True,
              parse=activation_list),
        Param("depth", 20, "layers of the forward statistics", minimum=1),
        Param("width", 256, "width of those layers", quick=32, minimum=1),
        Param("samples", 1024, "input samples N(0, 1) of the forward statistics", quick=256, minimum=2),
        Param("activations", TRAIN_ACTIVATIONS, "activations trained on MNIST (each with every init)",
              quick=["relu", "tanh", "sigmoid"], unique=True, parse=activation_list),
        Param("train_depth", 6, "hidden layers of the trained MLP", quick=3, minimum=1),
        Param("train_width", 128, "width of the trained MLP", quick=32, minimum=1),
        *ablation.mnist_params(5000, 2000),
    ),
)
