# Ablation studies (config section `ablations`): init_pairing, leaky_slope, gelu_approx,
# selu_norm, prelu_slopes, sparsity, precision, mistakes, architectures.
#
# Each study is a set of parts (see actbench.ablation): seeded parts run as one job per
# seed, unseeded parts as one job, timing parts as one job that takes every slot (so it
# runs alone). Jobs write results/<hw>/parts/<study>/<job>.parquet; a cheap merge
# builds results/<hw>/<study>.parquet. Three generic rules serve all nine studies; the
# job list of a study comes from its module's PARTS table and its `seeds` count.
import importlib as _importlib

from actbench import ablation as _ablation
from actbench.studies.parts import cli_flags

ABLATION_STUDIES = list(config["ablations"])
STUDY_NAMES.extend(ABLATION_STUDIES)
ABLATION_PARTS = f"{RESULTS}/{HW}/parts"


def _ablation_table(study):
    return _importlib.import_module(f"actbench.studies.{study}").PARTS


def ablation_jobs(study):
    """Every job (part file stem) of a study: '<part>-seed<N>' or '<part>'."""
    return _ablation.job_names(_ablation_table(study), config["ablations"][study]["seeds"])


def ablation_flags(study):
    """The study's config entries as command-line flags (lists become several values);
    `seeds: n` becomes --seeds 0 .. n-1 (the replicates of unseeded parts)."""
    cfg = config["ablations"][study]
    seeds = "--seeds " + " ".join(str(s) for s in range(cfg["seeds"]))
    return f"{seeds} {cli_flags(cfg, [key for key in cfg if key != 'seeds'])}".strip()


_ABLATION_STUDY = "|".join(ABLATION_STUDIES) or "(?!)"


rule ablation_part:
    output:
        f"{ABLATION_PARTS}/{{ablation}}/{{job}}.parquet",
    wildcard_constraints:
        ablation=_ABLATION_STUDY,
        job=r"(?!timing)[a-z0-9_]+(-seed\d+)?",
    log:
        "logs/{ablation}/{job}.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        slots=1,
    cache: True
    params:
        flags=lambda wc: ablation_flags(wc.ablation),
    shell:
        "{PY} {wildcards.ablation} --results {RESULTS} --part {wildcards.job} --threads {threads} "
        "{params.flags} > {log} 2>&1"


# Exclusive timing (Mistake 5's CNN step time, GELU exact vs tanh): alone on the machine.
rule ablation_timing:
    output:
        f"{ABLATION_PARTS}/{{ablation}}/{{job}}.parquet",
    wildcard_constraints:
        ablation=_ABLATION_STUDY,
        job=r"timing[a-z0-9_]*",
    log:
        "logs/{ablation}/{job}.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        slots=ALL_SLOTS,
    params:
        flags=lambda wc: ablation_flags(wc.ablation),
    shell:
        "{PY} {wildcards.ablation} --results {RESULTS} --part {wildcards.job} --threads {threads} "
        "{params.flags} > {log} 2>&1"


rule ablation_merge:
    input:
        lambda wc: [f"{ABLATION_PARTS}/{wc.ablation}/{job}.parquet" for job in ablation_jobs(wc.ablation)],
    output:
        f"{RESULTS}/{HW}/{{ablation}}.parquet",
    wildcard_constraints:
        ablation=_ABLATION_STUDY,
    log:
        "logs/{ablation}/merge.log",
    conda:
        CONDA_ENV
    resources:
        slots=1,
    shell:
        "{PY} {wildcards.ablation} --results {RESULTS} --merge {input} > {log} 2>&1"
