# Timing studies: kernels (activation x provider x mode x dtype x size x threads against
# the copy roofline), kernel_cost (each activation against ReLU in the compute-bound and
# the memory-bound regime, interleaved rounds) and training_step (one optimizer step per
# activation, interleaved rounds).
#
# Both run alone: `slots=ALL_SLOTS` takes every slot of the counting resource that every
# other job also takes one of, so no job starts while they time and they start only when
# the machine is otherwise idle (tests/test_kernels_workflow.py checks this from the
# run's job start and end times). `threads: 1` because the studies set their thread
# counts themselves (1 and all cores), explicitly. Timing results are never cached.
STUDY_NAMES.extend(["kernels", "kernel_cost", "training_step"])


def _list_flag(flag, values):
    return f"{flag} " + " ".join(shlex.quote(str(v)) for v in values) if values else ""


def kernel_sizes():
    sizes = sorted(config["kernels"]["log2_sizes"])
    if config["kernels"]["density"] == "dense":
        return list(range(sizes[0], sizes[-1] + 1))
    return sizes


def kernel_flags():
    k = config["kernels"]
    return " ".join(f for f in [
        activation_args("kernels"),
        _list_flag("--providers", k["providers"]),
        _list_flag("--modes", k["modes"]),
        _list_flag("--dtypes", k["dtypes"]),
        _list_flag("--log2-sizes", kernel_sizes()),
        _list_flag("--threads", k["threads"]),
        "" if k["reference_only_above"] is None else f"--reference-only-above {k['reference_only_above']}",
        f"--min-run-time {k['min_run_time']} --max-run-time {k['max_run_time']}",
    ] if f)


def kernel_cost_flags():
    k = config["kernel_cost"]
    return " ".join(f for f in [
        activation_args("kernel_cost"),
        f"--rounds {k['rounds']} --min-run-time {k['min_run_time']}",
        "" if k["compute_log2"] is None else f"--compute-log2 {k['compute_log2']}",
        "" if k["memory_log2"] is None else f"--memory-log2 {k['memory_log2']}",
    ] if f)


def training_step_flags():
    t = config["training_step"]
    return " ".join(f for f in [
        activation_args("training_step"),
        _list_flag("--models", t["models"]),
        _list_flag("--threads", t["threads"]),
        f"--mlp-batch {t['mlp_batch']} --tokens {t['tokens']} --image-batch {t['image_batch']}",
        f"--rounds {t['rounds']}",
        f"--min-run-time {t['min_run_time']} --max-run-time {t['max_run_time']}",
    ] if f)


rule kernels:
    output:
        result("kernels"),
    log:
        "logs/kernels.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        slots=ALL_SLOTS,
    params:
        flags=kernel_flags(),
    shell:
        "{PY} kernels --results {RESULTS} {params.flags} > {log} 2>&1"


rule kernel_cost:
    output:
        result("kernel_cost"),
    log:
        "logs/kernel_cost.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        slots=ALL_SLOTS,
    params:
        flags=kernel_cost_flags(),
    shell:
        "{PY} kernel_cost --results {RESULTS} {params.flags} > {log} 2>&1"


rule training_step:
    output:
        result("training_step"),
    log:
        "logs/training_step.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        slots=ALL_SLOTS,
    params:
        flags=training_step_flags(),
    shell:
        "{PY} training_step --results {RESULTS} {params.flags} > {log} 2>&1"
