"""Timing jobs run alone under `snakemake --cores 8`, even on a 2-core machine.

The proof comes from Snakemake's own record of the run: for every output it stores the
job's start time (when the job was launched) and end time (when its output was written)
in .snakemake/metadata/. No other job's interval may overlap a timing job's.
"""

import json
from pathlib import Path

import yaml

from actbench.hardware import hw_id
from test_workflow import ROOT, snakemake

TIMING_RULES = {"kernels", "training_step"}


def job_intervals(workdir: Path) -> list[tuple[str, float, float]]:
    """(rule, start, end) per job, from the metadata Snakemake keeps per output file."""
    jobs = set()
    for record in (workdir / ".snakemake" / "metadata").iterdir():
        meta = json.loads(record.read_text())
        jobs.add((meta["rule"], meta["starttime"], meta["endtime"]))  # a job's outputs share one record
    return sorted(jobs, key=lambda job: job[1])


def test_timing_jobs_run_alone_under_cores_8(tmp_path):
    config = yaml.safe_load((ROOT / "workflow" / "config.quick.yaml").read_text())
    # The quick config, with fewer training jobs: enough to compete for the cores.
    config["exp1_mnist"].update(activations=["relu", "gelu"], seeds=2)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump(config))
    workdir = tmp_path / "run"
    snakemake("kernels", "training_step", "shapes", "exp1_mnist",  # targets first: --configfile takes a list
              "--directory", str(workdir), "--cores", "8", "--configfile", str(cfg))
    assert (workdir / "results" / hw_id() / "kernels.parquet").exists()

    jobs = job_intervals(workdir)
    timing = [j for j in jobs if j[0] in TIMING_RULES]
    others = [j for j in jobs if j[0] not in TIMING_RULES]
    assert {j[0] for j in timing} == TIMING_RULES
    assert len(others) >= 5  # shapes, four training parts, their merge: they would share the cores
    for rule, start, end in timing:
        assert end > start
        overlapping = [o for o in jobs if o != (rule, start, end) and o[1] < end and o[2] > start]
        assert not overlapping, f"{rule} ran {start:.2f}-{end:.2f} together with {overlapping}"
