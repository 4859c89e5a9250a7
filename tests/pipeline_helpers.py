"""Helpers for tests that run the pipeline as a user would (SLURM, faults, bad input)."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd

from actbench.results import is_provenance_column
from actbench.studies import module_name, study_names, units

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
QUICK = ROOT / "workflow" / "config.quick.yaml"
# Columns holding a measured time (or a rate derived from one) differ between two runs
# of the same study; a study lists others in its module's TIMING_COLUMNS.
TIMING_NAME = re.compile(r"(^|_)(wall|time|times|seconds|s|ms|us|ns|gbps)(_|$)")


def env(**extra) -> dict:
    """The test's environment with the venv first on PATH (jobs call `python -m actbench`)."""
    base = {k: v for k, v in os.environ.items() if k != "ACTBENCH_HW_ID"}
    base["PATH"] = f"{BIN}:{base['PATH']}"
    base.update({k: v for k, v in extra.items() if v is not None})
    return base


def snakemake_cmd(workdir: Path, *args) -> list[str]:
    return [str(BIN / "snakemake"), "-s", str(ROOT / "Snakefile"), "--directory", str(workdir), *args]


def snakemake(workdir: Path, *args, check=True, timeout=900, **env_extra) -> subprocess.CompletedProcess:
    proc = subprocess.run(snakemake_cmd(workdir, *args), cwd=ROOT, capture_output=True, text=True,
                          env=env(**env_extra), timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def study_module(study: str):
    return importlib.import_module(module_name(study)) if study in study_names() else None


def timing_studies() -> set[str]:
    """Studies that are one timing job (kernels, ...): their values are measurements, so
    two runs agree on rows and keys, not on values."""
    return {name for name, u in units().items() if not u.split and u.timing(name)}


def content(df: pd.DataFrame, study: str) -> pd.DataFrame:
    """A study table without provenance and timing columns, in a canonical row order."""
    module = study_module(study)
    timing = set(getattr(module, "TIMING_COLUMNS", ()))
    keep = [c for c in df.columns
            if not is_provenance_column(c) and c not in timing and not TIMING_NAME.search(c)]
    out = df[sorted(keep)]
    return out.sort_values(sorted(keep), na_position="last", kind="stable").reset_index(drop=True)


def assert_same_content(actual: pd.DataFrame, expected: pd.DataFrame, study: str, what: str) -> None:
    """Same columns, same rows (no duplicates by the study's KEY), same values, ignoring
    provenance and measured times; for a timing study, same columns and key rows."""
    assert sorted(actual.columns) == sorted(expected.columns), f"{study}: columns differ ({what})"
    assert len(actual) == len(expected), f"{study}: {len(actual)} rows, expected {len(expected)} ({what})"
    key = getattr(study_module(study), "KEY", None)
    if key:
        assert not actual.duplicated(subset=key).any(), f"{study}: duplicated {key} rows ({what})"
    if study in timing_studies():
        key = [k for k in key or [] if not is_provenance_column(k)]  # e.g. hw_id differs by design
        if key:
            rows = lambda df: sorted(map(tuple, df[key].astype(str).to_numpy()))  # noqa: E731
            assert rows(actual) == rows(expected), f"{study}: key rows differ ({what})"
        return
    a, e = content(actual, study), content(expected, study)
    for col in a.columns:
        assert a[col].equals(e[col]), (f"{study}: column {col!r} differs ({what}); if it is a measurement "
                                       f"that varies between runs, list it in {module_name(study)}.TIMING_COLUMNS")


def files_under(path: Path, skip: tuple[str, ...] = ()) -> dict[str, tuple[int, int]]:
    """relative path -> (size, mtime_ns) of every file below path (for 'nothing written')."""
    out = {}
    if not path.exists():
        return out
    for p in sorted(path.rglob("*")):
        rel = p.relative_to(path).as_posix()
        if any(rel == s or rel.startswith(s + "/") for s in skip):
            continue
        st = p.lstat()
        out[rel] = (st.st_size, st.st_mtime_ns) if p.is_file() else (-1, 0)
    return out


# The slice of the quick configuration the SLURM and fault tests run: one study of each
# kind of rule (plain, split into part jobs + merge, timing), with the split study cut
# to two jobs so the tests stay short.
SLICE_STUDIES = ["shapes", "exp1_mnist", "kernels"]
SLICE_CONFIG = """\
exp1_mnist:
  activations: [relu, tanh]
  seeds: 1
kernels:
  providers: [eager, manual]
"""
