# The report reads every machine's results (results/*/), not just this one's.
REPORT_OUTPUTS = ["docs/generated/numbers.json", "docs/generated/claims.json"]


rule report:
    input:
        study_outputs(),
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
