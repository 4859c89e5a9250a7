"""Study `gradient_flow`: the tutorial's Experiment 2, gradient size per layer of deep nets.

Per-layer mean |dL/dW| after one backward pass through a width-64 net, with the tutorial's
init and the registry's, over depths and seeds; plus whether deep nets of each activation
actually train: each is trained until it reaches the accuracy threshold or for the whole
budget (``actbench.studies.plateau``), and records its accuracy, whether it stalled below
the threshold (plateaued) or was still improving, and how far each layer's weights moved.

One job per activation (``--part <activation>``, every seed); run by hand without ``--part``,
every activation, upserted into the study file."""

from __future__ import annotations

import time

import pandas as pd
import torch
import torch.nn as nn
from tqdm import tqdm

from actbench.cliutil import activation_list
from actbench.diagnostics import gradient_magnitudes
from actbench.models import deep_mlp, recommended_init, tutorial_exp2_init, weight_layers
from actbench.studies import parts
from actbench.studies.exp1_mnist import DEFAULT_ACTIVATIONS
from actbench.studies.parts import finish, merge_parts
from actbench.studies.plateau import TRAINED_ACCURACY, PlateauRule, fit_to_plateau
from actbench.studies.unit import Param, Study
from actbench.train import mnist

NAME = "gradient_flow"
KEY = ["part", "activation", "init_choice", "depth", "seed", "layer_index"]
INIT_CHOICES = ("tutorial", "matched")
# A layer whose weights moved less than this fraction of their norm in training is "frozen"
# (two definitions: 1 % and 0.1 %).
FROZEN_REL_CHANGE = 0.01
FROZEN_REL_CHANGE_STRICT = 0.001
JOB_FORM = "<activation>, one of the given --activations"


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
    """One job per activation (``--part <activation>``), a merge, or by hand every activation."""
    args = parts.job_args(STUDY, args, list(args.activations), JOB_FORM)
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


STUDY = Study(
    name=NAME,
    summary="The tutorial's Experiment 2: per-layer gradient size after one backward pass through deep "
            "width-64 nets, and whether deep nets of each activation train on MNIST.",
    key=KEY,
    params=(
        Param("activations", DEFAULT_ACTIVATIONS, "registry names, one job per activation (quick: the tutorial's five)",
              quick=["relu", "leaky_relu", "gelu", "tanh", "sigmoid"], parse=activation_list, unique=True),
        Param("seeds", 20, "seeds of the gradient measurement (random inputs and weights)", quick=3, minimum=1,
              seeds=True),
        Param("depths", [5, 10, 20, 50], "total Linear layers of the gradient nets; the tutorial uses 20",
              quick=[5, 10, 20, 50], **parts.DEPTH_LIST),
        Param("width", 64, "hidden width of every net (the tutorial's 64)", quick=16, minimum=1),
        Param("batch", 32, "random inputs per backward pass (the tutorial's 32)", minimum=1),
        Param("train_activations", ["sigmoid", "tanh", "relu"],
              "activations whose deep nets are also trained on MNIST at train_depths (the trainability part; "
              "empty: none)", quick=["sigmoid", "relu"], min_items=0, parse=activation_list, unique=True),
        Param("train_depths", [2, 3, 5, 7, 10, 15, 20], "total Linear layers of the trained nets",
              quick=[2, 5, 20], **parts.DEPTH_LIST),
        Param("train_seeds", 5, "training seeds per activation and depth (seeds 0..n-1)", quick=2, minimum=1),
        Param("train_max_epochs", 30, "budget of a net that does not reach train_threshold: a net stops once it "
              "reaches it, the others run every epoch", quick=1, minimum=1),
        Param("train_threshold", TRAINED_ACCURACY, "test accuracy at which a net counts as trained (it stops there)",
              exclusive_minimum=0, maximum=1),
        Param("train_patience", 3, "a net below the threshold has stalled when its test accuracy gained less than "
              "0.5 pp over this many epochs", quick=1, minimum=1),
        Param("train_subset", 10000, "MNIST training rows of the trained nets (0 = all)", quick=500, minimum=0),
        Param("test_subset", 2000, "MNIST test rows of the trained nets (0 = all)", quick=200, minimum=0),
    ),
    run=run,
    jobs=lambda cfg: list(cfg["activations"]),
    job_options=lambda job, args: {"activations": [job]},
    job_arguments=parts.add_job_flags,
    report="actbench.report.training",
    page="experiments.md#experiment-2-gradients-through-20-layers",
)
