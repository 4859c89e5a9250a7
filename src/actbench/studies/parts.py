"""Helpers for studies split into many independent jobs (one per activation x seed).

Each job writes ``results/<hw_id>/parts/<study>/<part>.parquet`` (atomically, with
provenance); a cheap merge step concatenates the parts the pipeline names into
``results/<hw_id>/<study>.parquet``. Run by hand without ``--part``, a study upserts its
rows straight into the study file instead.

Not a study itself (it declares no ``STUDY``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from actbench.cliutil import positive_int, write_and_report
from actbench.hardware import hw_id
from actbench.results import (SETTINGS, SETTINGS_HASH, atomic_write_parquet, link_declared, read_parquet,
                              settings_differences, study_path, write_study)


def part_name(part: str) -> str:
    """A part name is a plain file stem (checked before any work starts)."""
    if not part or "/" in part or "\\" in part or part.startswith("."):
        raise argparse.ArgumentTypeError(f"part name {part!r} is not allowed; use a plain file stem such as 'relu-s0'")
    return part


def part_path(results_dir, study: str, part: str) -> Path:
    return Path(results_dir) / hw_id() / "parts" / study / f"{part_name(part)}.parquet"


def add_job_arguments(p: argparse.ArgumentParser, default_seeds: int) -> None:
    """--seeds, --threads, --part and --merge, shared by every split study."""
    p.add_argument("--seeds", nargs="+", type=int, default=list(range(default_seeds)),
                   help=f"seeds to run (default 0..{default_seeds - 1})")
    add_job_flags(p)


def add_job_flags(p: argparse.ArgumentParser) -> None:
    """--threads, --part and --merge of a split study (its seeds are one of its parameters)."""
    p.add_argument("--threads", type=positive_int, default=1,
                   help="torch threads (the pipeline passes the rule's `threads`)")
    p.add_argument("--part", default=None, type=part_name,
                   help="write results/<hw>/parts/<study>/<PART>.parquet instead of the study file")
    p.add_argument("--merge", nargs="+", default=None, metavar="PART_FILE",
                   help="only merge these part files into the study file (no computation)")


def seeded_job(activation: str, seed: int) -> str:
    """The job name of one activation and seed: '<activation>-s<seed>'."""
    return f"{activation}-s{seed}"


def split_seeded_job(job: str) -> tuple[str, int]:
    """'<activation>-s<seed>' -> (activation, seed)."""
    activation, sep, seed = job.rpartition("-s")
    if not sep or not activation or not seed.isdigit():
        raise ValueError(f"job {job!r} is not of the form <activation>-s<seed>")
    return activation, int(seed)


def job_args(study, args: argparse.Namespace, allowed: list[str], form: str) -> argparse.Namespace:
    """``args`` narrowed to the job that ``--part`` names (``study.for_job``), after checking
    that it is one of the jobs these settings make (``allowed``; ``form`` says their
    pattern); ``args`` unchanged without ``--part``. Checked before any work starts."""
    if getattr(args, "merge", None) and args.part:
        raise ValueError("give either --part or --merge, not both")
    if not args.part:
        return args
    if args.part not in allowed:
        listed = ", ".join(allowed[:8]) + (f", ... ({len(allowed)} jobs)" if len(allowed) > 8 else "")
        raise ValueError(f"--part {args.part!r} is not one of this study's jobs for these settings; "
                         f"allowed: {form}: {listed}")
    return study.for_job(args)


def merge_parts(study: str, results_dir, files: list) -> Path:
    """Concatenate part files (already carrying provenance) into the study file of the
    machine that computed them. Parts from different machines are refused: they are
    different experiments."""
    frames = []
    for f in files:
        df = read_parquet(Path(f))
        if "study" in df.columns and set(df["study"]) != {study}:
            raise ValueError(f"{f} holds rows of study {sorted(set(df['study']))}, not {study!r}")
        frames.append(df)
    if not frames:
        raise ValueError(f"no part files given to merge for {study!r}")
    check_same_settings(study, files, frames)
    merged = pd.concat(frames, ignore_index=True)
    machines = sorted(set(merged["hw_id"])) if "hw_id" in merged.columns else [hw_id()]
    if len(machines) != 1:
        raise ValueError(f"the {study} parts come from several machines ({', '.join(machines)}); "
                         "merge each machine's parts separately")
    target = study_path(study, Path(results_dir), hw=machines[0])
    atomic_write_parquet(merged, target)
    link_declared(target, f"{study}.parquet")
    print(f"{study}: merged {len(files)} parts ({len(merged)} rows) into {target}")
    return target


def check_same_settings(study: str, files: list, frames: list[pd.DataFrame]) -> None:
    """Refuse to merge parts made with different settings (of those that change what a row
    holds): the study file would mix two experiments. Parts without recorded settings
    (written before actbench recorded them) are not compared."""
    from actbench.studies import get

    seen: dict[str, tuple[Path, dict]] = {}
    for f, df in zip(files, frames):
        if SETTINGS_HASH in df.columns and SETTINGS in df.columns:
            for digest, text in df[[SETTINGS_HASH, SETTINGS]].dropna().drop_duplicates().itertuples(index=False):
                seen.setdefault(digest, (Path(f), json.loads(text)))
    if len(seen) < 2:
        return
    (first, a), (other, b) = list(seen.values())[:2]
    names = [p.name for p in get(study).params if not p.chooses_rows]
    differences = settings_differences(a, b, names, labels=(f"in {first.name}", f"in {other.name}"))
    raise ValueError(f"the {study} parts were made with different settings ({'; '.join(differences)}); "
                     f"rerun the parts with one setting (the pipeline does: `make`), then merge")


def finish(df: pd.DataFrame, study: str, args, key: list[str]) -> Path:
    """Write a job's rows: to its part file, or (by hand) upsert them into the study file."""
    if args.part:
        path = write_study(df, study, Path(args.results), key=None, path=part_path(args.results, study, args.part))
        link_declared(path, f"parts/{study}/{args.part}.parquet")
        print(f"{study}: wrote {len(df)} rows to {path}")
        return path
    return write_and_report(df, study, args.results, key=key)


def cli_flags(section: dict, keys: list[str]) -> str:
    """Command-line flags for a study from its config section (used by the Snakemake rules):
    each key becomes --key-with-dashes followed by its value, or its values for a list."""
    import shlex

    out = []
    for key in keys:
        value = section[key]
        flag = "--" + key.replace("_", "-")
        if isinstance(value, list):
            if value:
                out.append(flag + " " + " ".join(shlex.quote(str(v)) for v in value))
        else:
            out.append(f"{flag} {shlex.quote(str(value))}")
    return " ".join(out)


# Bounds of a parameter listing depths (Linear layers) or widths: at least 2 each, no repeats.
DEPTH_LIST = dict(minimum=2, unique=True)
