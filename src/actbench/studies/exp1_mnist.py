"""Study `exp1_mnist`: the tutorial's Experiment 1, an MLP on MNIST per activation and seed.

MLP 784-256-128-10, Adam 1e-3, batch 128, pixels in [-1, 1]; per epoch: training loss, test
accuracy, and dead units measured the tutorial's way and over the whole training set.

One job per activation and seed (``--part <activation>-s<seed>``, e.g. ``relu-s0``); run by
hand without ``--part``, every activation x seed, upserted into the study file."""

from __future__ import annotations

import pandas as pd
import torch
from tqdm import tqdm

from actbench.cliutil import activation_list
from actbench.diagnostics import DEFAULT_THRESHOLD, TUTORIAL_HOOKED, DeadUnitCallback
from actbench.models import mlp
from actbench.studies import parts
from actbench.studies.parts import finish, merge_parts, seeded_job, split_seeded_job
from actbench.studies.unit import Param, Study
from actbench.train import fit, mnist

NAME = "exp1_mnist"
KEY = ["activation", "seed", "epoch"]
# The tutorial's eight, plus the three the issue adds.
DEFAULT_ACTIVATIONS = ["relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid", "mish",
                       "prelu", "selu", "hardswish"]
HIDDEN = [256, 128]
JOB_FORM = "<activation>-s<seed> for the given --activations and --seeds"


def job_names(activations, seeds) -> list[str]:
    """One job per activation x seed: '<activation>-s<seed>'."""
    return [seeded_job(a, s) for a in activations for s in seeds]


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
    """One job (``--part``), a merge (``--merge``), or by hand every activation x seed."""
    args = parts.job_args(STUDY, args, job_names(args.activations, args.seeds), JOB_FORM)
    if args.merge:
        return merge_parts(NAME, args.results, args.merge)
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


def _job_options(job: str, args) -> dict:
    activation, seed = split_seeded_job(job)
    return {"activations": [activation], "seeds": [seed]}


STUDY = Study(
    name=NAME,
    summary="The tutorial's Experiment 1: an MLP 784-256-128-10 on MNIST, trained with Adam per activation "
            "and seed, recording loss, accuracy and dead units every epoch.",
    key=KEY,
    params=(
        Param("activations", DEFAULT_ACTIVATIONS,
              "registry names, one job per activation and seed: the tutorial's eight plus prelu, selu and "
              "hardswish (the quick preset has fewer: each job pays Python start-up and the MNIST load)",
              quick=["relu", "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid", "mish"], parse=activation_list,
              unique=True),
        Param("seeds", 5, "training seeds of every activation", quick=2, minimum=1, seeds=True),
        Param("epochs", 10, "training epochs (the tutorial's 10)", quick=2, minimum=1),
        Param("batch_size", 128, "minibatch size (the tutorial's 128)", minimum=1),
        Param("lr", 1e-3, "Adam learning rate (the tutorial's 1e-3)", exclusive_minimum=0),
        Param("train_subset", 0, "stratified training subset; 0 = all 60,000 rows (the tutorial's spec)",
              quick=1000, minimum=0),
        Param("test_subset", 0, "test subset; 0 = all 10,000 test rows", quick=500, minimum=0),
        Param("dead_subset", 0, "rows for the whole-set dead-unit test; 0 = every training row", minimum=0),
        Param("threshold", DEFAULT_THRESHOLD, "gradient-dead threshold on |f'(z)|", exclusive_minimum=0,
              in_config=False),
        Param("init", "torch_default", "weight init (torch_default: PyTorch's, as in the tutorial)",
              choices=("torch_default", "recommended"), in_config=False),
    ),
    run=run,
    jobs=lambda cfg: job_names(cfg["activations"], range(cfg["seeds"])),
    job_options=_job_options,
    job_arguments=parts.add_job_flags,
    report="actbench.report.training",
    page="experiments.md#experiment-1-one-mlp-eleven-activations",
)
