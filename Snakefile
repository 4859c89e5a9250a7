# actbench pipeline: `snakemake --cores 8` (the default profile in workflow/profiles/default
# keeps timing jobs alone). Rules are split by stage under workflow/rules/.
from snakemake.utils import min_version, validate

min_version("9.19")


# Paths relative to this file, so `--directory elsewhere` (used by the tests) works.
configfile: f"{workflow.basedir}/workflow/config.yaml"


validate(config, f"{workflow.basedir}/workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/studies.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/notebook.smk"


# After every include: timing rules get a whole node on a cluster (common.smk).
exclusive_timing_on_cluster()


rule all:
    input:
        study_outputs(),
        REPORT_OUTPUTS,
        NOTEBOOK_OUTPUT,
    default_target: True
