# actbench pipeline: `snakemake --cores 8` (the default profile in workflow/profiles/default
# keeps timing jobs alone). Rules are split by stage under workflow/rules/.
from snakemake.utils import min_version, validate

min_version("9.19")


# Paths relative to this file, so `--directory elsewhere` (used by the tests) works.
configfile: f"{workflow.basedir}/workflow/config.yaml"


validate(config, f"{workflow.basedir}/workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/shapes.smk"
# report.smk comes last: its inputs are every study listed by the files above.
include: "workflow/rules/report.smk"


rule all:
    input:
        study_outputs(),
        REPORT_OUTPUTS,
    default_target: True
