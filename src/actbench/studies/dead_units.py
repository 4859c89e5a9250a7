"""Study `dead_units`: how many units die, by depth, init, BatchNorm and learning rate.

Dead-unit fractions after training for ReLU, LeakyReLU and PReLU over the grid (the
tutorial's promised Experiment 3), and a Monte Carlo estimate of how often a deep narrow
ReLU net is dead at initialisation."""

from __future__ import annotations

import argparse
import itertools

import pandas as pd
import torch
from tqdm import tqdm

from actbench.cliutil import activation_list, positive_int
from actbench.diagnostics import DEFAULT_THRESHOLD, measure_dead_units, tutorial_dead_pct
from actbench.models import mlp
from actbench.studies.parts import add_job_arguments, finish, merge_parts
from actbench.train import fit, mnist

NAME = "dead_units"
KEY = ["part", "activation", "depth", "width", "init", "batchnorm", "lr", "seed", "stage", "layer_index"]
DEFAULT_ACTIVATIONS = ["relu", "leaky_relu", "prelu"]


def _bool(text: str) -> bool:
    if text.lower() in ("true", "on", "1", "yes"):
        return True
    if text.lower() in ("false", "off", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not a boolean; use on/off, true/false or 1/0")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--activations", nargs="+", type=activation_list, default=DEFAULT_ACTIVATIONS)
    p.add_argument("--depths", nargs="+", type=positive_int, default=[5, 10, 20, 50],
                   help="total Linear layers (depth - 1 activation layers)")
    p.add_argument("--width", type=positive_int, default=64)
    p.add_argument("--inits", nargs="+", choices=["xavier", "he", "lecun", "torch_default"], default=["xavier", "he"])
    p.add_argument("--batchnorm", nargs="+", type=_bool, default=[False, True])
    p.add_argument("--lrs", nargs="+", type=float, default=[1e-3, 1e-2])
    p.add_argument("--epochs", type=positive_int, default=2)
    p.add_argument("--batch-size", type=positive_int, default=128)
    p.add_argument("--train-subset", type=int, default=10000)
    p.add_argument("--test-subset", type=int, default=2000)
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    p.add_argument("--collapse", action="store_true",
                   help="run only the dead-at-initialisation Monte Carlo (no training)")
    p.add_argument("--collapse-widths", nargs="+", type=positive_int, default=[2, 3, 4, 5, 6, 8, 12, 16, 32])
    p.add_argument("--collapse-depths", nargs="+", type=positive_int, default=[10, 20, 50, 100])
    p.add_argument("--collapse-trials", type=positive_int, default=1000)
    p.add_argument("--collapse-probes", type=positive_int, default=256,
                   help="random inputs a net must map to a constant to count as dead")
    add_job_arguments(p, default_seeds=3)


def layer_rows(model, x_all, x_batch, threshold) -> pd.DataFrame:
    mon = measure_dead_units(model, x_all, threshold=threshold)
    df = mon.frame()
    # per-layer tutorial-style test on one batch, for the same layers
    batch_mon = measure_dead_units(model, x_batch, derivative=False)
    df["dead_never_positive_batch"] = batch_mon.frame()["dead_never_positive"].to_numpy()
    df["tutorial_dead_pct_pooled"] = tutorial_dead_pct(model, x_batch)
    return df.drop(columns=["samples"])


def run_config(activation, depth, width, init, batchnorm, lr, seed, data, args) -> pd.DataFrame:
    model = mlp([784] + [width] * (depth - 1) + [10], activation, init=init, batchnorm=batchnorm, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    batch = data.x_train[torch.randperm(len(data.x_train), generator=gen)[: args.batch_size]]
    at_init = layer_rows(model, data.x_train, batch, args.threshold).assign(stage="init")
    result = fit(model, data, epochs=args.epochs, lr=lr, batch_size=args.batch_size, seed=seed)
    frames = [at_init]
    if not result.diverged:
        frames.append(layer_rows(model, data.x_train, batch, args.threshold).assign(stage="trained"))
    final = result.final
    return pd.concat(frames, ignore_index=True).assign(
        part="training", activation=activation, depth=depth, width=width, init=init, batchnorm=batchnorm,
        lr=lr, seed=seed, test_accuracy=final.get("test_accuracy"), train_loss=final.get("train_loss"),
        diverged=result.diverged, diverged_epoch=result.diverged_epoch, trial=-1)


@torch.no_grad()
def dead_at_init(width: int, depth: int, trials: int, probes: int, gen: torch.Generator,
                 chunk: int = 50) -> torch.Tensor:
    """For each of ``trials`` random ReLU nets, the first hidden layer (1-based) whose output is
    zero for every probe input, or -1 if none is. He-normal weights, zero biases, inputs ~ N(0, I)."""
    first_dead = torch.full((trials,), -1)
    for start in range(0, trials, chunk):  # small chunks stay in cache (big temporaries page-fault)
        n = min(chunk, trials - start)
        h = torch.randn(n, probes, width, generator=gen)
        fd = torch.full((n,), -1)
        for layer in range(1, depth):  # depth Linear layers -> depth - 1 hidden ReLU layers
            w = torch.randn(n, width, width, generator=gen) * (2.0 / width) ** 0.5
            h = torch.relu(torch.bmm(h, w))
            newly = (fd < 0) & (h.abs().amax(dim=(1, 2)) == 0)
            fd[newly] = layer
        first_dead[start:start + n] = fd
    return first_dead


def collapse_rows(widths, depths, trials, probes, seed=0) -> pd.DataFrame:
    """P(a ReLU net of given width/depth is dead at init): some hidden layer outputs all zeros
    for every probe input, so the output is constant and no gradient reaches earlier layers."""
    rows = []
    for width, depth in tqdm(list(itertools.product(widths, depths)), desc=f"{NAME} collapse", unit="cell"):
        gen = torch.Generator().manual_seed(seed * 1_000_003 + width * 1009 + depth)
        fd = dead_at_init(width, depth, trials, probes, gen)
        dead = fd > 0
        rows.append({"part": "collapse", "width": width, "depth": depth, "trials": trials, "probes": probes,
                     "dead_nets": int(dead.sum()), "dead_probability": float(dead.float().mean()),
                     "median_dead_layer": float(fd[dead].float().median()) if dead.any() else float("nan")})
    return pd.DataFrame(rows)


def run(args) -> "Path":
    if args.merge:
        return merge_parts(NAME, args.results, args.merge)
    torch.set_num_threads(args.threads)
    if args.collapse:
        df = collapse_rows(args.collapse_widths, args.collapse_depths, args.collapse_trials, args.collapse_probes)
        df = df.assign(activation="relu", init="he", batchnorm=False, lr=float("nan"), seed=0, stage="init",
                       layer_index=-1)
        return finish(df, NAME, args, KEY)
    bad = [lr for lr in args.lrs if not lr > 0]
    if bad:
        raise ValueError(f"--lrs must be > 0, got {bad}")
    data = mnist(args.train_subset, args.test_subset)
    configs = list(itertools.product(args.activations, args.seeds, args.depths, args.inits, args.batchnorm, args.lrs))
    frames = [run_config(a, d, args.width, i, bn, lr, s, data, args)
              for a, s, d, i, bn, lr in tqdm(configs, desc=NAME, unit="net")]
    df = pd.concat(frames, ignore_index=True).assign(
        epochs=args.epochs, batch_size=args.batch_size, train_rows=len(data.x_train), threshold=args.threshold,
        threads=args.threads)
    return finish(df, NAME, args, KEY)
