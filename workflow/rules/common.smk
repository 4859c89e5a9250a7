# Helpers shared by all rules.
import shlex

from actbench import activations as _registry
from actbench.hardware import hw_id as _hw_id

# Results of this machine go to results/<HW>/; the id is computed here, where the
# local jobs run. (On a cluster each job computes its own; see profiles/slurm.)
HW = _hw_id()
RESULTS = config["results_dir"]
PY = "python -m actbench"
CONDA_ENV = "../envs/actbench.yaml"
# Timing jobs run alone. `slots` is a counting resource: every rule takes one slot
# (`resources: slots=1`), timing rules take all of them. The limit comes from
# workflow/profiles/default/profile.yaml when that profile is used (the Makefile passes
# it); a plain `snakemake --cores 8` from the repository root does not find that
# profile (Snakemake looks in ./profiles/), so the same limit is registered here.
ALL_SLOTS = 8
if "slots" not in workflow.global_resources:
    workflow.register_resource("slots", ALL_SLOTS)


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
