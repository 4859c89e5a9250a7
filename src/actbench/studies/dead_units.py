"""Study `dead_units`: how many units die, by depth, init, BatchNorm and learning rate.

Dead-unit fractions after training for ReLU, LeakyReLU and PReLU (the tutorial's promised
Experiment 3), and a Monte Carlo estimate of how often a deep narrow ReLU net is dead at
initialisation.

Design: one factor at a time around a reference net (the first value of every factor
list: ReLU, He init, no BatchNorm, Adam at the first learning rate). The reference runs at
every ``--depths`` and every seed (the tutorial's depth table); each other level of each
factor (activation, init, BatchNorm, learning rate) runs at ``--variation-depths`` for the
first ``--variation-seeds`` seeds, the reference cells at those depths being its matched
partner. Every net is trained to a plateau (``actbench.studies.plateau``) and carries its
adequacy columns: whether it reached the accuracy threshold and whether its test accuracy
stopped rising."""

from __future__ import annotations

import argparse
import itertools
import time

import pandas as pd
import torch
from tqdm import tqdm

from actbench.cliutil import activation_list, positive_int
from actbench.diagnostics import DEFAULT_THRESHOLD, measure_dead_units, tutorial_dead_pct
from actbench.models import mlp
from actbench.studies.parts import add_job_arguments, finish, merge_parts
from actbench.studies.plateau import TRAINED_ACCURACY, PlateauRule, fit_to_plateau
from actbench.train import mnist

NAME = "dead_units"
KEY = ["part", "activation", "depth", "width", "init", "batchnorm", "lr", "seed", "stage", "layer_index"]
DEFAULT_ACTIVATIONS = ["relu", "leaky_relu", "prelu"]
FACTORS = ("activation", "init", "batchnorm", "lr")


def _bool(text: str) -> bool:
    if text.lower() in ("true", "on", "1", "yes"):
        return True
    if text.lower() in ("false", "off", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not a boolean; use on/off, true/false or 1/0")


def _accuracy(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; expected a test accuracy in (0, 1]") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"{value} is not allowed; expected a test accuracy in (0, 1]")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--activations", nargs="+", type=activation_list, default=DEFAULT_ACTIVATIONS,
                   help="activations to run in this job (the reference activation's job also runs the "
                        "init, BatchNorm and learning-rate variations)")
    p.add_argument("--reference-activation", type=activation_list, default="relu")
    p.add_argument("--depths", nargs="+", type=positive_int, default=[5, 10, 20, 50],
                   help="total Linear layers (depth - 1 activation layers) of the reference net")
    p.add_argument("--variation-depths", nargs="+", type=positive_int, default=[5, 10, 20],
                   help="depths at which the one-factor variations run")
    p.add_argument("--width", type=positive_int, default=64)
    p.add_argument("--inits", nargs="+", choices=["xavier", "he", "lecun", "torch_default"], default=["he", "xavier"],
                   help="first = the reference")
    p.add_argument("--batchnorm", nargs="+", type=_bool, default=[False, True], help="first = the reference")
    p.add_argument("--lrs", nargs="+", type=float, default=[3e-4, 1e-2, 1e-4], help="first = the reference")
    p.add_argument("--variation-seeds", type=positive_int, default=4,
                   help="the variations run for the seeds below this number")
    p.add_argument("--max-epochs", type=positive_int, default=40)
    p.add_argument("--patience", type=positive_int, default=3,
                   help="plateau: no gain of --min-delta in test accuracy over this many epochs")
    p.add_argument("--give-up", type=positive_int, default=10,
                   help="stop a net below the threshold after this many epochs without gain")
    p.add_argument("--min-delta", type=float, default=0.005)
    p.add_argument("--accuracy-threshold", type=_accuracy, default=TRAINED_ACCURACY,
                   help="test accuracy an adequately trained net reaches")
    p.add_argument("--batch-size", type=positive_int, default=128)
    p.add_argument("--train-subset", type=int, default=10000)
    p.add_argument("--test-subset", type=int, default=2000)
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD, help="gradient-dead: |f'(z)| below this")
    p.add_argument("--collapse", action="store_true",
                   help="run only the dead-at-initialisation Monte Carlo (no training)")
    p.add_argument("--collapse-widths", nargs="+", type=positive_int, default=[2, 3, 4, 5, 6, 8, 12, 16, 32])
    p.add_argument("--collapse-depths", nargs="+", type=positive_int, default=[10, 20, 50, 100])
    p.add_argument("--collapse-trials", type=positive_int, default=1000)
    p.add_argument("--collapse-probes", type=positive_int, default=256,
                   help="random inputs a net must map to a constant to count as dead")
    add_job_arguments(p, default_seeds=10)


def plateau_rule(args) -> PlateauRule:
    return PlateauRule(threshold=args.accuracy_threshold, patience=args.patience, min_delta=args.min_delta,
                       max_epochs=args.max_epochs, give_up=args.give_up)


def cells(args) -> list[dict]:
    """The nets this job trains: (activation, depth, init, batchnorm, lr, seed, factor).

    ``factor`` names what differs from the reference ("reference" for the reference net)."""
    ref = {"activation": args.reference_activation, "init": args.inits[0], "batchnorm": args.batchnorm[0],
           "lr": args.lrs[0]}
    levels = {"init": args.inits[1:], "batchnorm": args.batchnorm[1:], "lr": args.lrs[1:]}
    out = []
    for seed in args.seeds:
        varied = seed < args.variation_seeds
        for act in args.activations:
            if act == args.reference_activation:
                depths = sorted(set(args.depths) | (set(args.variation_depths) if varied else set()))
                out += [{**ref, "depth": d, "seed": seed, "factor": "reference"} for d in depths]
                if varied:
                    for factor, values in levels.items():
                        out += [{**ref, factor: v, "depth": d, "seed": seed, "factor": factor}
                                for v in values for d in args.variation_depths]
            elif varied:
                out += [{**ref, "activation": act, "depth": d, "seed": seed, "factor": "activation"}
                        for d in args.variation_depths]
    return out


def layer_rows(model, x_all, x_batch, threshold) -> pd.DataFrame:
    mon = measure_dead_units(model, x_all, threshold=threshold)
    df = mon.frame()
    # per-layer tutorial-style test on one batch, for the same layers
    batch_mon = measure_dead_units(model, x_batch, derivative=False)
    df["dead_never_positive_batch"] = batch_mon.frame()["dead_never_positive"].to_numpy()
    df["tutorial_dead_pct_pooled"] = tutorial_dead_pct(model, x_batch)
    return df.drop(columns=["samples"])


def run_config(cell: dict, data, args, rule: PlateauRule) -> pd.DataFrame:
    cpu0 = time.process_time()
    activation, depth, seed = cell["activation"], cell["depth"], cell["seed"]
    model = mlp([784] + [args.width] * (depth - 1) + [10], activation, init=cell["init"],
                batchnorm=cell["batchnorm"], seed=seed)
    gen = torch.Generator().manual_seed(seed)
    batch = data.x_train[torch.randperm(len(data.x_train), generator=gen)[: args.batch_size]]
    at_init = layer_rows(model, data.x_train, batch, args.threshold).assign(stage="init")
    result = fit_to_plateau(model, data, rule, lr=cell["lr"], batch_size=args.batch_size, seed=seed)
    frames = [at_init]
    if not result.fit.diverged:
        frames.append(layer_rows(model, data.x_train, batch, args.threshold).assign(stage="trained"))
    final = result.final
    return pd.concat(frames, ignore_index=True).assign(
        part="training", activation=activation, depth=depth, width=args.width, init=cell["init"],
        batchnorm=cell["batchnorm"], lr=cell["lr"], seed=seed, factor=cell["factor"],
        test_accuracy=final.get("test_accuracy"), train_loss=final.get("train_loss"),
        diverged=result.fit.diverged, diverged_epoch=result.fit.diverged_epoch, trial=-1,
        net_cpu_s=time.process_time() - cpu0, **result.columns())


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
    if args.min_delta < 0:
        raise ValueError(f"--min-delta must be >= 0, got {args.min_delta}")
    rule = plateau_rule(args)
    todo = cells(args)
    if not todo:
        raise ValueError(f"nothing to train: {', '.join(args.activations)} run only for the variation seeds "
                         f"(< {args.variation_seeds}) unless they are the reference activation "
                         f"({args.reference_activation}); got seeds {args.seeds}")
    data = mnist(args.train_subset, args.test_subset)
    frames = [run_config(c, data, args, rule) for c in tqdm(todo, desc=NAME, unit="net")]
    df = pd.concat(frames, ignore_index=True).assign(
        batch_size=args.batch_size, train_rows=len(data.x_train), threshold=args.threshold, threads=args.threads,
        reference_activation=args.reference_activation, reference_init=args.inits[0],
        reference_batchnorm=args.batchnorm[0], reference_lr=args.lrs[0], variation_seeds=args.variation_seeds)
    return finish(df, NAME, args, KEY)
