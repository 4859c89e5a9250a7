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
stopped rising.

Jobs: ``<activation>-s<seed>`` (the reference activation, the first of ``--activations``,
for every seed, with the init, BatchNorm and learning-rate variations for the first
``--variation-seeds`` seeds; the other activations for those seeds only) and
``collapse`` (the dead-at-initialisation Monte Carlo, no training). Run by hand without
``--part``, every job, upserted into the study file."""

from __future__ import annotations

import argparse
import itertools
import time

import pandas as pd
import torch
from tqdm import tqdm

from actbench.cliutil import activation_list
from actbench.diagnostics import DEFAULT_THRESHOLD, measure_dead_units, tutorial_dead_pct
from actbench.models import mlp
from actbench.studies import parts
from actbench.studies.parts import finish, merge_parts, seeded_job, split_seeded_job
from actbench.studies.plateau import TRAINED_ACCURACY, PlateauRule, fit_to_plateau
from actbench.studies.unit import Param, Study
from actbench.train import mnist

NAME = "dead_units"
KEY = ["part", "activation", "depth", "width", "init", "batchnorm", "lr", "seed", "stage", "layer_index"]
DEFAULT_ACTIVATIONS = ["relu", "leaky_relu", "prelu"]
FACTORS = ("activation", "init", "batchnorm", "lr")
COLLAPSE = "collapse"  # the job of the dead-at-initialisation Monte Carlo
JOB_FORM = ("<activation>-s<seed> (the reference activation: every --seeds; the others: seeds below "
            f"--variation-seeds) or {COLLAPSE}")


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


def reference_activation(args) -> str:
    """The reference net's activation: --reference-activation, else the first of --activations."""
    return getattr(args, "reference_activation", None) or args.activations[0]


def job_names(activations, seeds, variation_seeds: int, reference: str | None = None) -> list[str]:
    """Every job: the reference activation for every seed, the others for the seeds below
    ``variation_seeds`` (nothing else to train), then the collapse Monte Carlo."""
    reference = reference or activations[0]
    jobs = [seeded_job(reference, s) for s in seeds] if reference in activations else []
    jobs += [seeded_job(a, s) for a in activations if a != reference for s in seeds if s < variation_seeds]
    return jobs + [COLLAPSE]


def _job_options(job: str, args) -> dict:
    if job == COLLAPSE:
        return {"run_training": False, "run_collapse": True}
    activation, seed = split_seeded_job(job)
    return {"activations": [activation], "seeds": [seed], "reference_activation": reference_activation(args),
            "run_training": True, "run_collapse": False}


def plateau_rule(args) -> PlateauRule:
    return PlateauRule(threshold=args.accuracy_threshold, patience=args.patience, min_delta=args.min_delta,
                       max_epochs=args.max_epochs, give_up=args.give_up)


def cells(args) -> list[dict]:
    """The nets this job trains: (activation, depth, init, batchnorm, lr, seed, factor).

    ``factor`` names what differs from the reference ("reference" for the reference net)."""
    reference = reference_activation(args)
    ref = {"activation": reference, "init": args.inits[0], "batchnorm": args.batchnorm[0], "lr": args.lrs[0]}
    levels = {"init": args.inits[1:], "batchnorm": args.batchnorm[1:], "lr": args.lrs[1:]}
    out = []
    for seed in args.seeds:
        varied = seed < args.variation_seeds
        for act in args.activations:
            if act == reference:
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
    """One job (``--part``), a merge (``--merge``), or by hand every job: the training cells
    of every activation and seed, and the collapse Monte Carlo."""
    args = parts.job_args(STUDY, args, job_names(args.activations, args.seeds, args.variation_seeds,
                                                 reference_activation(args)), JOB_FORM)
    if args.merge:
        return merge_parts(NAME, args.results, args.merge)
    torch.set_num_threads(args.threads)
    training, collapse = getattr(args, "run_training", True), getattr(args, "run_collapse", True)
    frames = []
    if training:
        rule = plateau_rule(args)
        todo = cells(args)
        if not todo:
            raise ValueError(f"nothing to train: {', '.join(args.activations)} run only for the variation seeds "
                             f"(< {args.variation_seeds}) unless they are the reference activation "
                             f"({reference_activation(args)}); got seeds {args.seeds}")
        data = mnist(args.train_subset, args.test_subset)
        nets = [run_config(c, data, args, rule) for c in tqdm(todo, desc=NAME, unit="net")]
        frames.append(pd.concat(nets, ignore_index=True).assign(
            batch_size=args.batch_size, train_rows=len(data.x_train), threshold=args.threshold,
            threads=args.threads, reference_activation=reference_activation(args), reference_init=args.inits[0],
            reference_batchnorm=args.batchnorm[0], reference_lr=args.lrs[0], variation_seeds=args.variation_seeds))
    if collapse:
        df = collapse_rows(args.collapse_widths, args.collapse_depths, args.collapse_trials, args.collapse_probes)
        frames.append(df.assign(activation="relu", init="he", batchnorm=False, lr=float("nan"), seed=0,
                                stage="init", layer_index=-1))
    return finish(pd.concat(frames, ignore_index=True), NAME, args, KEY)


STUDY = Study(
    name=NAME,
    summary="Dead units after training, one factor at a time (activation, depth, init, BatchNorm, learning "
            "rate) around a reference ReLU net, and how often a deep narrow ReLU net is dead at initialisation.",
    key=KEY,
    params=(
        Param("activations", DEFAULT_ACTIVATIONS,
              "registry names; the first is the reference (its jobs run every seed and the init, BatchNorm and "
              "learning-rate variations), the others run at variation_depths for the variation seeds",
              parse=activation_list, unique=True),
        Param("seeds", 10, "seeds of the reference net (ReLU, he, no BatchNorm, lrs[0]) at every depth: the "
              "depth table", quick=2, minimum=1, seeds=True),
        Param("variation_seeds", 4, "each other level of each factor runs for the seeds below this number, at "
              "variation_depths", quick=1, minimum=1),
        Param("depths", [5, 10, 20, 50], "total Linear layers (depth - 1 activation layers) of the reference net",
              quick=[5, 20, 50], **parts.DEPTH_LIST),
        Param("variation_depths", [5, 10, 20], "depths at which the one-factor variations run", quick=[5],
              **parts.DEPTH_LIST),
        Param("width", 64, "hidden width of every net", quick=8, minimum=1),
        Param("inits", ["he", "xavier"], "weight inits; first = the reference",
              choices=("xavier", "he", "lecun", "torch_default"), unique=True),
        Param("batchnorm", [False, True], "without and with BatchNorm; first = the reference", parse=_bool,
              unique=True),
        Param("lrs", [3e-4, 1e-2, 1e-4], "Adam learning rates; first = the reference: 3e-4 trains 50 plain "
              "layers, and 1e-2 against 1e-4 is the tutorial's 'lower learning rate'", quick=[1e-3, 1e-2, 1e-4],
              exclusive_minimum=0, unique=True),
        Param("max_epochs", 40, "budget: every net is trained to a plateau (no gain of min_delta in test "
              "accuracy over patience epochs) or for this many epochs", quick=1, minimum=1),
        Param("patience", 3, "plateau: no gain of min_delta in test accuracy over this many epochs", quick=1,
              minimum=1),
        Param("give_up", 10, "a net below accuracy_threshold stops after this many epochs without gain", quick=1,
              minimum=1),
        Param("min_delta", 0.005, "test-accuracy gain (fraction) that counts as progress", minimum=0),
        Param("accuracy_threshold", TRAINED_ACCURACY, "test accuracy an adequately trained net reaches: adequate "
              "= plateaued at or above it", exclusive_minimum=0, maximum=1, parse=_accuracy),
        Param("train_subset", 10000, "MNIST training rows (0 = all)", quick=500, minimum=0),
        Param("test_subset", 2000, "MNIST test rows (0 = all)", quick=200, minimum=0),
        Param("collapse_widths", [2, 3, 4, 5, 6, 8, 12, 16, 32], "widths of the dead-at-initialisation Monte "
              "Carlo (ReLU nets, He init)", quick=[2, 16], **parts.DEPTH_LIST),
        Param("collapse_depths", [10, 20, 50, 100], "depths (Linear layers) of the dead-at-initialisation Monte "
              "Carlo", quick=[10, 100], **parts.DEPTH_LIST),
        Param("collapse_trials", 1000, "random nets per width and depth of the Monte Carlo", quick=50, minimum=1),
        Param("collapse_probes", 256, "random inputs a net must map to a constant to count as dead", minimum=1,
              in_config=False),
        Param("reference_activation", None, "the reference net's activation (unset: the first of "
              "--activations; a job of another activation names it)", type=str, parse=activation_list,
              in_config=False),
        Param("batch_size", 128, "minibatch size", minimum=1, in_config=False),
        Param("threshold", DEFAULT_THRESHOLD, "gradient-dead: |f'(z)| below this for every sample",
              exclusive_minimum=0, in_config=False),
    ),
    run=run,
    jobs=lambda cfg: job_names(cfg["activations"], range(cfg["seeds"]), cfg["variation_seeds"]),
    job_options=_job_options,
    job_arguments=parts.add_job_flags,
    report="actbench.report.dead_units",
    page="dead-units.md",
)
