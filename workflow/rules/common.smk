# Helpers shared by all rules.
import re as _re
import shlex

from actbench.hardware import hw_id as _hw_id

def refuse_duplicate_keys(paths):
    """A key written twice in a YAML config keeps only its last value, silently: refuse it."""
    import yaml

    class Strict(yaml.SafeLoader):
        pass

    def mapping(loader, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                raise ValueError(f"config file {path}: key {key!r} appears twice (line {key_node.start_mark.line + 1}); "
                                 "YAML would keep only the last value: remove one")
            seen.add(key)
        return loader.construct_mapping(node, deep)

    Strict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    for path in paths:
        with open(path) as f:
            yaml.load(f, Loader=Strict)


refuse_duplicate_keys(workflow.configfiles)

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
    PY = f"ACTBENCH_LINK_DIR={shlex.quote(f'{RESULTS}/{HW}')} python -m actbench"
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


def result(study):
    return f"{RESULTS}/{HW}/{study}.parquet"


# ── studies: everything below derives from the declarations (actbench.studies.unit) ──
from actbench.studies import units as _units

UNITS = _units()
PARTS = f"{RESULTS}/{HW}/parts"


def study_config(name):
    """The study's config section (e.g. config["ablations"]["leaky_slope"])."""
    section = config
    for key in UNITS[name].config_path:
        section = section[key]
    return section


def check_study_config(name):
    """Every value goes through the study's own command-line converter now, so a bad
    activation name or an out-of-range value stops the dry run with the CLI's message."""
    study, section = UNITS[name], study_config(name)
    where = ".".join(study.config_path)
    for p in study.config_params:
        values = section[p.name] if isinstance(section[p.name], list) else [section[p.name]]
        for value in values:
            if value is None:
                continue
            try:
                p.convert(str(value).lower() if isinstance(value, bool) else str(value))
            except Exception as exc:  # argparse.ArgumentTypeError, ValueError
                raise ValueError(f"config {where}.{p.name}: {exc}") from None
    # The whole section against this machine (e.g. its device). Not on a cluster: there the
    # jobs run on other nodes, and this head node's device says nothing about theirs.
    if study.check is not None and not CLUSTER:
        try:
            study.check(section)
        except ValueError as exc:
            raise ValueError(f"config {where}: {exc}") from None


for _name in UNITS:
    check_study_config(_name)


def study_jobs(name):
    return UNITS[name].job_names(study_config(name))


def study_flags(name):
    return UNITS[name].flags(study_config(name))


def any_of(names):
    names = sorted(set(names))
    return "|".join(_re.escape(n) for n in names) if names else "(?!)"


SPLIT = [n for n, u in UNITS.items() if u.split]
SINGLE = [n for n, u in UNITS.items() if not u.split and not u.timing(n)]
SINGLE_TIMING = [n for n, u in UNITS.items() if not u.split and u.timing(n)]
PART_JOBS = {n: [j for j in study_jobs(n) if not UNITS[n].timing(j)] for n in SPLIT}
TIMING_JOBS = {n: [j for j in study_jobs(n) if UNITS[n].timing(j)] for n in SPLIT}
_clash = {j for js in PART_JOBS.values() for j in js} & {j for js in TIMING_JOBS.values() for j in js}
if _clash:  # the two part rules are told apart by the job name alone
    raise ValueError(f"job names used both for timing and non-timing jobs: {sorted(_clash)}")



def study_outputs():
    return [result(s) for s in UNITS]


def report_inputs():
    """This run's study outputs plus the results other machines committed (report, notebook)."""
    import glob

    committed = glob.glob(f"{RESULTS}/*/*.parquet") + glob.glob(f"{RESULTS}/*/rerun/*.parquet")  # reruns: reproducibility
    return sorted(set(study_outputs()) | set(committed))
