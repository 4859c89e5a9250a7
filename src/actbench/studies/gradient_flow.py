"""Study `gradient_flow`: the tutorial's Experiment 2, gradient size per layer of deep nets.

Per-layer mean |dL/dW| after one backward pass through a width-64 net, with the tutorial's
init and the registry's, over depths and seeds; plus whether deep nets of each activation
actually train: each is trained until it reaches the accuracy threshold or for the whole
budget (``actbench.studies.plateau``), and records its accuracy, whether it stalled below
the threshold (plateaued) or was still improving, and how far each layer's weights moved."""

from __future__ import annotations

import argparse
import time

import pandas as pd
import torch
import torch.nn as nn
from tqdm import tqdm

from actbench.cliutil import activation_list, positive_int
from actbench.diagnostics import gradient_magnitudes
from actbench.models import deep_mlp, recommended_init, tutorial_exp2_init, weight_layers
from actbench.studies.exp1_mnist import DEFAULT_ACTIVATIONS
from actbench.studies.parts import add_job_arguments, finish, merge_parts
from actbench.studies.plateau import TRAINED_ACCURACY, PlateauRule, fit_to_plateau
from actbench.train import mnist

NAME = "gradient_flow"
KEY = ["part", "activation", "init_choice", "depth", "seed", "layer_index"]
INIT_CHOICES = ("tutorial", "matched")
# A layer whose weights moved less than this fraction of their norm in training is "frozen"
# (two definitions: 1 % and 0.1 %).
FROZEN_REL_CHANGE = 0.01
FROZEN_REL_CHANGE_STRICT = 0.001


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--activations", nargs="+", type=activation_list, default=DEFAULT_ACTIVATIONS)
    p.add_argument("--depths", nargs="+", type=positive_int, default=[5, 10, 20, 50],
                   help="total Linear layers (the tutorial's Experiment 2 uses 20)")
    p.add_argument("--width", type=positive_int, default=64)
    p.add_argument("--batch", type=positive_int, default=32, help="random inputs per backward pass (tutorial: 32)")
    p.add_argument("--train-activations", nargs="*", type=activation_list, default=["sigmoid", "tanh", "relu"],
                   help="activations whose deep nets are also trained on MNIST (trainability part)")
    p.add_argument("--train-depths", nargs="+", type=positive_int, default=[2, 3, 5, 7, 10, 15, 20])
    p.add_argument("--train-seeds", type=positive_int, default=5)
    p.add_argument("--train-max-epochs", type=positive_int, default=30,
                   help="budget of a net that does not reach --train-threshold")
    p.add_argument("--train-threshold", type=float, default=TRAINED_ACCURACY,
                   help="test accuracy at which a net counts as trained")
    p.add_argument("--train-patience", type=positive_int, default=3,
                   help="a net below the threshold has stalled when its test accuracy gained less than "
                        "0.5 pp over this many epochs")
    p.add_argument("--train-subset", type=int, default=10000)
    p.add_argument("--test-subset", type=int, default=2000)
    add_job_arguments(p, default_seeds=20)


def init_for(activation: str, choice: str) -> str:
    return tutorial_exp2_init(activation) if choice == "tutorial" else recommended_init(activation)


def gradient_rows(activation: str, depth: int, width: int, batch: int, seed: int) -> list[pd.DataFrame]:
    """Per-layer gradients for the tutorial's init and the registry's (same inputs per seed)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 10, generator=gen)
    target = torch.randn(batch, 1, generator=gen)
    frames = []
    for choice in INIT_CHOICES:
        init = init_for(activation, choice)
        model = deep_mlp(activation, depth, width, in_features=10, out_features=1, init=init, seed=seed)
        g = gradient_magnitudes(model, x, target, nn.MSELoss())
        frames.append(g.assign(part="gradient", activation=activation, init_choice=choice, init=init,
                               depth=depth, seed=seed))
    return frames


def trainability_rule(args) -> PlateauRule:
    """A net stops as soon as it reaches the threshold (it has shown that it trains); the others
    run the whole budget (no giving up: a deep sigmoid net can sit at chance for several
    epochs and then learn), and whether they plateaued below it is recorded."""
    if not 0 < args.train_threshold <= 1:
        raise ValueError(f"--train-threshold must be a test accuracy in (0, 1], got {args.train_threshold}")
    return PlateauRule(threshold=args.train_threshold, patience=args.train_patience,
                       max_epochs=args.train_max_epochs, give_up=None, stop_on_reach=True)


def trainability_rows(activation: str, depth: int, width: int, seed: int, data, rule: PlateauRule) -> pd.DataFrame:
    """Train a depth-``depth`` MNIST net (registry init); per layer, how far its weights moved."""
    cpu0 = time.process_time()
    init = recommended_init(activation)
    model = deep_mlp(activation, depth, width, in_features=784, out_features=10, init=init, seed=seed)
    before = [layer.weight.detach().clone() for _, layer in weight_layers(model)]
    result = fit_to_plateau(model, data, rule, lr=1e-3, batch_size=128, seed=seed)
    final = result.final
    rows = []
    for i, ((name, layer), w0) in enumerate(zip(weight_layers(model), before)):
        change = float((layer.weight.detach() - w0).norm() / w0.norm())
        rows.append({"layer_index": i, "layer": name, "weight_rel_change": change,
                     "frozen": change < FROZEN_REL_CHANGE, "frozen_strict": change < FROZEN_REL_CHANGE_STRICT})
    return pd.DataFrame(rows).assign(
        part="trainability", activation=activation, init_choice="matched", init=init, depth=depth, seed=seed,
        test_accuracy=final.get("test_accuracy"), train_loss=final.get("train_loss"),
        diverged=result.fit.diverged, train_rows=len(data.x_train), frozen_threshold=FROZEN_REL_CHANGE,
        frozen_threshold_strict=FROZEN_REL_CHANGE_STRICT, net_cpu_s=time.process_time() - cpu0, **result.columns())


def run(args) -> "Path":
    if args.merge:
        return merge_parts(NAME, args.results, args.merge)
    torch.set_num_threads(args.threads)
    to_train = [a for a in args.activations if a in (args.train_activations or [])]
    rule = trainability_rule(args) if to_train else None  # bad values stop the run before any work
    frames = []
    jobs = [(a, d, s) for a in args.activations for d in args.depths for s in args.seeds]
    for activation, depth, seed in tqdm(jobs, desc=f"{NAME} gradients", unit="net"):
        frames += gradient_rows(activation, depth, args.width, args.batch, seed)
    if to_train:
        data = mnist(args.train_subset, args.test_subset)
        jobs = [(a, d, s) for a in to_train for d in args.train_depths for s in range(args.train_seeds)]
        for activation, depth, seed in tqdm(jobs, desc=f"{NAME} trainability", unit="net"):
            frames.append(trainability_rows(activation, depth, args.width, seed, data, rule))
    df = pd.concat(frames, ignore_index=True).assign(width=args.width, batch=args.batch, threads=args.threads)
    return finish(df, NAME, args, KEY)
