# Helpers shared by all rules.
import shlex

from actbench import activations as _registry
from actbench.hardware import hw_id as _hw_id

RESULTS = config["results_dir"]
# Locally, results of this machine go to results/<HW>/, with the id computed here, where
# the jobs run. On a cluster (`cluster: true`, set by workflow/profiles/slurm) Snakemake
# runs on a head node that cannot know which machine a job lands on, so outputs are
# declared under results/.cluster/declared/ instead: each job computes its own hardware
# id, writes results/<that id>/, and links the declared path to it (ACTBENCH_LINK_DIR,
# read by actbench.results.write_study). The report reads every results/<hw_id>/.
CLUSTER = config.get("cluster", False)
if CLUSTER:
    HW = ".cluster/declared"
    PY = f"ACTBENCH_LINK_DIR={shlex.quote(RESULTS + '/' + HW)} python -m actbench"
else:
    HW = _hw_id()
    PY = "python -m actbench"
CONDA_ENV = "../envs/actbench.yaml"
# Timing jobs run alone. `slots` is a counting resource: every rule takes one slot
# (`resources: slots=1`), timing rules take all of them. The limit comes from
# workflow/profiles/default/profile.yaml when that profile is used (the Makefile passes
# it); a plain `snakemake --cores 8` from the repository root does not find that
# profile (Snakemake looks in ./profiles/), so the same limit is registered here.
# On a cluster the limit is not registered (jobs on different nodes do not compete);
# timing rules get a whole node instead (exclusive_timing_on_cluster below).
ALL_SLOTS = 8
if not CLUSTER and "slots" not in workflow.global_resources:
    workflow.register_resource("slots", ALL_SLOTS)


def exclusive_timing_on_cluster():
    """On a cluster, every timing rule (one taking all slots) runs alone on its node.

    Called by the Snakefile after every stage file is included, so a new timing rule
    gets this without editing the SLURM profile.
    """
    if not CLUSTER:
        return
    for r in workflow.rules:
        if r.resources.get("slots") != ALL_SLOTS:
            continue
        extra = r.resources.get("slurm_extra")
        if hasattr(extra, "is_evaluable"):  # a snakemake Resource
            if extra.is_evaluable():
                continue  # a function of the job: leave it to its author
            extra = extra.value
        extra = str(extra or "")
        if "--exclusive" not in extra.split():
            r.resources["slurm_extra"] = f"{extra} --exclusive".strip()


def _check_activations(section):
    names = config[section].get("activations", [])
    for name in names:
        try:
            _registry.get(name)
        except _registry.UnknownActivationError as exc:
            raise ValueError(f"config {section}.activations: {exc}") from None


def activation_args(section):
    """--activations a b c, or nothing (meaning every elementwise entry)."""
    _check_activations(section)
    names = config[section].get("activations", [])
    return ("--activations " + " ".join(shlex.quote(n) for n in names)) if names else ""


def result(study):
    return f"{RESULTS}/{HW}/{study}.parquet"


# Each stage file (shapes.smk, kernels.smk, ...) appends the studies it produces.
STUDY_NAMES = []


def study_outputs():
    return [result(s) for s in STUDY_NAMES]
