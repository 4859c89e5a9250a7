# The report reads every machine's results (results/*/), not just this one's, and its
# declared inputs are everything the ledger's verdicts depend on: every machine's
# parquet, the claims file and the report and verdict code. Editing any of them makes
# `snakemake` run the report again (tests/test_workflow.py checks this).
import glob as _glob

REPORT_OUTPUTS = ["docs/generated/numbers.json", "docs/generated/claims.json"]
_SRC = f"{workflow.basedir}/src/actbench"
# Every top-level module, not a hand-kept list: the report imports many of them (rerun,
# timing, providers, devices, ...) and a list misses the next one. An unrelated edit costs
# a report rerun (about a minute); a missed one would leave the ledger stale.
REPORT_CODE = sorted(
    _glob.glob(f"{_SRC}/*.py")
    + _glob.glob(f"{_SRC}/report/*.py")
    + _glob.glob(f"{_SRC}/studies/*.py")  # a study may declare its claims and its report itself
    + _glob.glob(f"{_SRC}/*.yaml")  # claims, columns, the tutorial's outline, bad inputs
)

# The report replaces docs/generated/ as a whole (built aside, then swapped in; see
# actbench.report) and the notebook writes into that folder: were they to run at once,
# the swap could drop the notebook's file. One unit of `generated_folder` each keeps
# them apart (registered here, so it holds with or without a profile).
if "generated_folder" not in workflow.global_resources:
    workflow.register_resource("generated_folder", 1)


rule report:
    input:
        results=report_inputs(),
        code=REPORT_CODE,
    output:
        REPORT_OUTPUTS,
    log:
        "logs/report.log",
    conda:
        CONDA_ENV
    resources:
        slots=1,
        generated_folder=1,
    params:
        py=PY,
        results=lambda wildcards: RESULTS,
    shell:
        "{params.py} report --results {params.results} --out docs/generated > {log} 2>&1"
