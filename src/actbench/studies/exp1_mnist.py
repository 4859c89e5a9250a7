"""Study `exp1_mnist`: the tutorial's Experiment 1, an MLP on MNIST per activation and seed.

MLP 784-256-128-10, Adam 1e-3, batch 128, pixels in [-1, 1]; per epoch: training loss, test
accuracy, and dead units measured the tutorial's way and over the whole training set."""

from __future__ import annotations

import argparse

import pandas as pd
import torch
from tqdm import tqdm

from actbench.cliutil import activation_list, positive_int
from actbench.diagnostics import DEFAULT_THRESHOLD, TUTORIAL_HOOKED, DeadUnitCallback
from actbench.models import mlp
from actbench.studies.parts import add_job_arguments, finish, merge_parts
from actbench.train import fit, mnist

NAME = "exp1_mnist"
KEY = ["activation", "seed", "epoch"]
# The tutorial's eight, plus the three the issue adds.
DEFAULT_ACTIVATIONS = ["relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid", "mish",
                       "prelu", "selu", "hardswish"]
HIDDEN = [256, 128]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--activations", nargs="+", type=activation_list, default=DEFAULT_ACTIVATIONS,
                   help="registry names (default: the tutorial's eight plus prelu, selu, hardswish)")
    p.add_argument("--epochs", type=positive_int, default=10)
    p.add_argument("--batch-size", type=positive_int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--train-subset", type=int, default=0,
                   help="stratified training subset size; 0 = all 60,000 rows (the tutorial's spec)")
    p.add_argument("--test-subset", type=int, default=0, help="test subset size; 0 = all 10,000 rows")
    p.add_argument("--dead-subset", type=int, default=0,
                   help="rows used for the whole-set dead-unit test; 0 = every training row used")
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                   help="gradient-dead threshold on |f'(z)| (default 1e-3)")
    p.add_argument("--init", default="torch_default", choices=["torch_default", "recommended"],
                   help="weight init (default: PyTorch's, as in the tutorial)")
    add_job_arguments(p, default_seeds=5)


def run_one(activation: str, seed: int, data, args) -> pd.DataFrame:
    model = mlp([784, *HIDDEN, 10], activation, init=args.init, seed=seed)
    dead_rows = data.x_train if args.dead_subset <= 0 else data.x_train[: args.dead_subset]
    callback = DeadUnitCallback(dead_rows, data.x_train, batch_size=args.batch_size, seed=seed,
                                threshold=args.threshold)
    result = fit(model, data, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, seed=seed,
                 threads=args.threads, callbacks=[callback], desc=f"{activation} s{seed}")
    df = result.frame()
    df["activation"] = activation
    df["seed"] = seed
    # What the tutorial's own code would print: it hooks only ReLU/LeakyReLU/PReLU, 0.0 otherwise.
    df["dead_pct_tutorial_as_printed"] = df["dead_pct_tutorial"] if activation in TUTORIAL_HOOKED else 0.0
    return df


def run(args) -> "Path":
    if args.merge:
        return merge_parts(NAME, args.results, args.merge)
    if not (args.lr > 0):
        raise ValueError(f"--lr must be > 0, got {args.lr}")
    torch.set_num_threads(args.threads)
    data = mnist(args.train_subset, args.test_subset, scale="minus_one_one")
    frames = []
    jobs = [(a, s) for a in args.activations for s in args.seeds]
    for activation, seed in tqdm(jobs, desc=NAME, unit="run"):
        frames.append(run_one(activation, seed, data, args))
    df = pd.concat(frames, ignore_index=True)
    df = df.assign(hidden="-".join(map(str, HIDDEN)), optimizer="adam", lr=args.lr, batch_size=args.batch_size,
                   epochs=args.epochs, train_rows=len(data.x_train), test_rows=len(data.x_test),
                   scale="minus_one_one", init=args.init, threshold=args.threshold, threads=args.threads,
                   # jobs share the cores under Snakemake: per-epoch times are not comparable
                   wall_time_comparable=False)
    return finish(df, NAME, args, KEY)
