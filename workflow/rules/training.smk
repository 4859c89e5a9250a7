# Training studies: exp1_mnist, gradient_flow, dead_units, necessity.
# Training is split into independent jobs (one per activation x seed, or per activation)
# that write part files under results/<hw>/parts/<study>/; a cheap merge rule builds
# results/<hw>/<study>.parquet. Jobs take one slot and the threads Snakemake gives them
# (passed on to torch.set_num_threads); results are deterministic given the seed and the
# machine, so the part rules may use Snakemake's between-workflow cache (`--cache`); the
# hardware id is a parameter so that machines sharing a cache never swap results.
STUDY_NAMES.extend(["exp1_mnist", "gradient_flow", "dead_units", "necessity"])

from actbench.studies.parts import cli_flags

PARTS = f"{RESULTS}/{HW}/parts"


wildcard_constraints:
    activation="[a-z0-9_]+",
    seed=r"\d+",


# Unknown activation names stop the run here, with the list of valid names.
for _section in ("exp1_mnist", "gradient_flow", "dead_units"):
    _check_activations(_section)


# ── Experiment 1: MLP on MNIST, one job per activation x seed ────────────────
rule exp1_mnist_part:
    output:
        f"{PARTS}/exp1_mnist/{{activation}}-s{{seed}}.parquet",
    log:
        "logs/exp1_mnist/{activation}-s{seed}.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        slots=1,
    cache: True
    params:
        hw=HW,
        flags=cli_flags(
            config["exp1_mnist"], ["epochs", "batch_size", "lr", "train_subset", "test_subset", "dead_subset"]
        ),
    shell:
        "{PY} exp1_mnist --results {RESULTS} --activations {wildcards.activation} "
        "--seeds {wildcards.seed} --threads {threads} --part {wildcards.activation}-s{wildcards.seed} "
        "{params.flags} > {log} 2>&1"


rule exp1_mnist:
    input:
        expand(
            f"{PARTS}/exp1_mnist/{{activation}}-s{{seed}}.parquet",
            activation=config["exp1_mnist"]["activations"],
            seed=range(config["exp1_mnist"]["seeds"]),
        ),
    output:
        result("exp1_mnist"),
    log:
        "logs/exp1_mnist/merge.log",
    conda:
        CONDA_ENV
    resources:
        slots=1,
    shell:
        "{PY} exp1_mnist --results {RESULTS} --merge {input} > {log} 2>&1"


# ── Experiment 2 (gradient flow) and trainability, one job per activation ────
rule gradient_flow_part:
    output:
        f"{PARTS}/gradient_flow/{{activation}}.parquet",
    log:
        "logs/gradient_flow/{activation}.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        slots=1,
    cache: True
    params:
        hw=HW,
        seeds=lambda wc: " ".join(str(s) for s in range(config["gradient_flow"]["seeds"])),
        flags=cli_flags(
            config["gradient_flow"],
            [
                "depths",
                "width",
                "batch",
                "train_depths",
                "train_seeds",
                "train_max_epochs",
                "train_threshold",
                "train_patience",
                "train_subset",
                "test_subset",
            ],
        ),
        train=lambda wc: "--train-activations "
        + " ".join(shlex.quote(a) for a in config["gradient_flow"]["train_activations"]),
    shell:
        "{PY} gradient_flow --results {RESULTS} --activations {wildcards.activation} --seeds {params.seeds} "
        "--threads {threads} --part {wildcards.activation} {params.flags} {params.train} > {log} 2>&1"


rule gradient_flow:
    input:
        expand(
            f"{PARTS}/gradient_flow/{{activation}}.parquet",
            activation=config["gradient_flow"]["activations"],
        ),
    output:
        result("gradient_flow"),
    log:
        "logs/gradient_flow/merge.log",
    conda:
        CONDA_ENV
    resources:
        slots=1,
    shell:
        "{PY} gradient_flow --results {RESULTS} --merge {input} > {log} 2>&1"


# ── Dead units: one job per activation x seed, plus the dead-at-init Monte Carlo ──
# The first activation is the reference: its jobs run every seed (the depth table) and, for
# the first `variation_seeds` seeds, the init, BatchNorm and learning-rate variations; the
# other activations run only those seeds (see actbench.studies.dead_units).
def dead_unit_jobs():
    cfg = config["dead_units"]
    reference, others = cfg["activations"][0], cfg["activations"][1:]
    jobs = [f"{reference}-s{s}" for s in range(cfg["seeds"])]
    jobs += [f"{a}-s{s}" for a in others for s in range(min(cfg["variation_seeds"], cfg["seeds"]))]
    return jobs


rule dead_units_part:
    output:
        f"{PARTS}/dead_units/{{activation}}-s{{seed}}.parquet",
    log:
        "logs/dead_units/{activation}-s{seed}.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        slots=1,
    cache: True
    params:
        hw=HW,
        reference=config["dead_units"]["activations"][0],
        flags=cli_flags(
            config["dead_units"],
            [
                "depths",
                "variation_depths",
                "variation_seeds",
                "width",
                "inits",
                "batchnorm",
                "lrs",
                "max_epochs",
                "patience",
                "give_up",
                "min_delta",
                "accuracy_threshold",
                "train_subset",
                "test_subset",
            ],
        ),
    shell:
        "{PY} dead_units --results {RESULTS} --activations {wildcards.activation} --seeds {wildcards.seed} "
        "--reference-activation {params.reference} --threads {threads} "
        "--part {wildcards.activation}-s{wildcards.seed} {params.flags} > {log} 2>&1"


rule dead_units_collapse:
    output:
        f"{PARTS}/dead_units/collapse.parquet",
    log:
        "logs/dead_units/collapse.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        slots=1,
    cache: True
    params:
        hw=HW,
        flags=cli_flags(
            config["dead_units"], ["collapse_widths", "collapse_depths", "collapse_trials"]),
    shell:
        "{PY} dead_units --results {RESULTS} --collapse --threads {threads} --part collapse "
        "{params.flags} > {log} 2>&1"


rule dead_units:
    input:
        expand(f"{PARTS}/dead_units/{{job}}.parquet", job=dead_unit_jobs()),
        f"{PARTS}/dead_units/collapse.parquet",
    output:
        result("dead_units"),
    log:
        "logs/dead_units/merge.log",
    conda:
        CONDA_ENV
    resources:
        slots=1,
    shell:
        "{PY} dead_units --results {RESULTS} --merge {input} > {log} 2>&1"


# ── Demo 1: why activations exist (small, one job) ──────────────────────────
rule necessity:
    output:
        result("necessity"),
    log:
        "logs/necessity.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        slots=1,
    cache: True
    params:
        hw=HW,
        flags=cli_flags(
            config["necessity"], ["seeds", "samples", "noise", "epochs", "region_trials"]),
    shell:
        "{PY} necessity --results {RESULTS} --threads {threads} {params.flags} > {log} 2>&1"
