"""Plumbing shared by the ablation studies (init_pairing, leaky_slope, gelu_approx,
selu_norm, prelu_slopes, sparsity, precision, mistakes, architectures).

Each of those studies is a set of named *parts*. A part is a function
``fn(args, seed) -> DataFrame``; a *seeded* part runs once per seed (one Snakemake job
each, so they spread over the cores and are cached one by one), an unseeded part runs
once and loops over its own replicates (cheap, forward-only work). Timing parts are
unseeded and run in an exclusive Snakemake rule.

One command line serves three uses (the part files and the merge are those of
``actbench.studies.parts``, shared with the training studies)::

    python -m actbench leaky_slope --seeds 0 1 2          # everything, by hand (upserted)
    python -m actbench leaky_slope --part train-seed3     # one job -> results/<hw>/parts/leaky_slope/train-seed3.parquet
    python -m actbench leaky_slope --merge P1 P2 ...      # parts -> results/<hw>/leaky_slope.parquet

Part files carry the provenance columns, and the merge concatenates them unchanged, so
every row still says where and when it was made.
"""

from __future__ import annotations

import argparse
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd
import torch
import torch.nn.functional as F

from actbench import train
from actbench.studies import parts as jobs
from actbench.studies.unit import Param, Study

JOB_PATTERN = re.compile(r"^(?P<part>[a-z0-9_]+?)(?:-seed(?P<seed>\d+))?$")


@dataclass(frozen=True)
class Part:
    fn: Callable[[argparse.Namespace, int | None], pd.DataFrame]
    seeded: bool = True
    timing: bool = False  # needs the machine to itself (exclusive Snakemake rule)

    def __post_init__(self):
        if self.timing and self.seeded:
            raise ValueError("timing parts are unseeded: they run once, alone")


def job_names(parts: dict[str, Part], seeds: int) -> list[str]:
    """Every job of a study: '<part>-seed<s>' for seeded parts, '<part>' otherwise."""
    names = []
    for name, part in parts.items():
        names += [f"{name}-seed{s}" for s in range(seeds)] if part.seeded else [name]
    return names


def parse_job(job: str, parts: dict[str, Part]) -> tuple[str, int | None]:
    m = JOB_PATTERN.match(job)
    allowed = ", ".join(f"{n}-seed<N>" if p.seeded else n for n, p in parts.items())
    if not m or m.group("part") not in parts:
        raise ValueError(f"unknown job {job!r}; allowed: {allowed}")
    part, seed = m.group("part"), m.group("seed")
    if parts[part].seeded != (seed is not None):
        raise ValueError(f"job {job!r}: part {part!r} is {'seeded' if parts[part].seeded else 'unseeded'}; "
                         f"allowed: {allowed}")
    return part, None if seed is None else int(seed)


def add_job_arguments(p: argparse.ArgumentParser, parts: dict[str, Part], seeds: int) -> None:
    """--seeds, --threads, --part, --merge as every split study has them (``studies.parts``);
    here ``--part`` also says what to compute: '<part>-seed<N>' or an unseeded '<part>'."""
    jobs.add_job_arguments(p, seeds)
    p.description = "parts: " + ", ".join(f"{n}-seed<N>" if x.seeded else n for n, x in parts.items())


def study(name: str, summary: str, key: list[str], parts: dict[str, Part], seeds: int, quick_seeds: int,
          params: tuple, custom_run=None, page: str | None = None,
          seeds_help: str = "seeds of the seeded parts (replicates of the unseeded ones)") -> Study:
    """The declaration of an ablation study: its parts are its jobs ('<part>-seed<N>' or
    '<part>'), timing parts run alone, its config lives under ``ablations: <name>:``."""
    seed_param = Param("seeds", seeds, seeds_help, quick=quick_seeds, minimum=2, seeds=True)
    return Study(
        name=name, summary=summary, key=key, params=(seed_param, *params),
        run=custom_run or functools.partial(run, study=name, key=key, parts=parts),
        section=("ablations", name),
        jobs=lambda cfg: job_names(parts, cfg["seeds"]),
        timing=lambda job: parts[parse_job(job, parts)[0]].timing,
        job_arguments=lambda p: _job_flags(p, parts),
        report=f"actbench.report.{name}", page=page)


def mnist_params(train_subset: int, test_subset: int, epochs_help: str = "training epochs") -> tuple[Param, ...]:
    """The five settings every MNIST-training part shares (the quick preset: one epoch,
    500 training and 200 test rows)."""
    return (Param("epochs", 5, epochs_help, quick=1, minimum=1),
            Param("lr", 1e-3, "Adam learning rate", exclusive_minimum=0),
            Param("batch_size", 128, "minibatch size", minimum=1),
            Param("train_subset", train_subset, "MNIST training rows (0 = all 60000)", quick=500, minimum=0),
            Param("test_subset", test_subset, "MNIST test rows (0 = all 10000)", quick=200, minimum=0))


def _job_flags(p: argparse.ArgumentParser, parts: dict[str, Part]) -> None:
    jobs.add_job_flags(p)
    p.epilog = "parts: " + ", ".join(f"{n}-seed<N>" if x.seeded else n for n, x in parts.items())


def _run_part(args, parts: dict[str, Part], part: str, seed: int | None) -> pd.DataFrame:
    df = parts[part].fn(args, seed).copy()
    df["part"] = part
    if "seed" not in df.columns:
        df["seed"] = -1 if seed is None else seed
    return df


def run(args, study: str, key: list[str], parts: dict[str, Part]) -> Path:
    """The ``run(args)`` of an ablation study: one part job, a merge, or (by hand) every
    part for ``--seeds``, upserted into the study file."""
    torch.set_num_threads(args.threads)
    if args.merge:
        if args.part:
            raise ValueError("give either --part or --merge, not both")
        return jobs.merge_parts(study, args.results, args.merge)
    if args.part:
        part, seed = parse_job(args.part, parts)
        return jobs.finish(_run_part(args, parts, part, seed), study, args, key)
    frames = []
    for name, part in parts.items():
        for seed in (args.seeds if part.seeded else [None]):
            frames.append(_run_part(args, parts, name, seed))
    return jobs.finish(pd.concat(frames, ignore_index=True), study, args, key)


# ───────────────────────────── data and training helpers ─────────────────────────────
@functools.lru_cache(maxsize=4)
def mnist(train_subset: int, test_subset: int) -> train.Dataset:
    """Stratified MNIST subsets (0 = whole split), the same rows for every job."""
    return train.mnist(train_subset=train_subset, test_subset=test_subset)


def downsample(x: torch.Tensor, side: int) -> torch.Tensor:
    """MNIST rows (784) -> side*side rows by area averaging (keeps the [-1, 1] range)."""
    images = x.reshape(-1, 1, 28, 28)
    return F.adaptive_avg_pool2d(images, side).reshape(len(x), side * side)


@functools.lru_cache(maxsize=2)
def mnist_downsampled(side: int, train_subset: int, test_subset: int) -> train.Dataset:
    d = mnist(train_subset, test_subset)
    return train.Dataset(downsample(d.x_train, side), d.y_train, downsample(d.x_test, side), d.y_test,
                         name=f"mnist{side}x{side}")


def epoch_rows(result: train.FitResult, **config) -> pd.DataFrame:
    """Per-epoch records of a fit, with the run's configuration on every row.

    Epoch wall times are kept but flagged: pipeline jobs share the cores, so they are
    not comparable between runs (speed claims come from exclusive timing parts only).
    """
    df = result.frame()
    for k, v in config.items():
        df[k] = v
    df["wall_time_comparable"] = False
    return df


def final_row(result: train.FitResult) -> dict:
    """The last record, with divergence made explicit."""
    row = dict(result.final)
    row["diverged"] = bool(result.diverged)
    return row
