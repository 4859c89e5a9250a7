# The experiments notebook, executed against every machine's results (nothing is
# trained or timed); the docs render this executed copy with execution off.
import glob as _glob

NOTEBOOK_OUTPUT = "docs/generated/experiments.ipynb"


rule notebook:
    input:
        notebook=f"{workflow.basedir}/notebooks/experiments.ipynb",
        # This run's study outputs plus the results other machines committed.
        results=sorted(set(study_outputs()) | set(_glob.glob(f"{RESULTS}/*/*.parquet"))),
    output:
        NOTEBOOK_OUTPUT,
    log:
        "logs/notebook.log",
    conda:
        CONDA_ENV
    resources:
        slots=1,
    params:
        results=RESULTS,
    shell:
        "python -m actbench.notebook --results {params.results} --notebook {input.notebook:q} "
        "--out {output} > {log} 2>&1"
