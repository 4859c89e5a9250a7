# The report reads every machine's results (results/*/), not just this one's, and its
# declared inputs are everything the ledger's verdicts depend on: every machine's
# parquet, the claims file and the report and verdict code. Editing any of them makes
# `snakemake` run the report again (tests/test_workflow.py checks this).
import glob as _glob

REPORT_OUTPUTS = ["docs/generated/numbers.json", "docs/generated/claims.json"]
_SRC = f"{workflow.basedir}/src/actbench"
REPORT_CODE = sorted(
    _glob.glob(f"{_SRC}/report/*.py")
    + [f"{_SRC}/{name}" for name in ("claims.py", "claims.yaml", "columns.yaml", "verdicts.py", "measurement.py",
                                     "stats.py", "tutorial.py", "tutorial_outline.yaml")]
)


def report_inputs():
    """This run's study outputs plus the results other machines committed."""
    return sorted(set(study_outputs()) | set(_glob.glob(f"{RESULTS}/*/*.parquet")))


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
    shell:
        "{PY} report --results {RESULTS} --out docs/generated > {log} 2>&1"
