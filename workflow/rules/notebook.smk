# The experiments notebook, executed against every machine's results (nothing is
# trained or timed); the docs render this executed copy with execution off.
NOTEBOOK_OUTPUT = "docs/generated/experiments.ipynb"


rule notebook:
    input:
        notebook=f"{workflow.basedir}/notebooks/experiments.ipynb",
        results=report_inputs(),  # this run's study outputs plus other machines' results (common.smk)
    output:
        NOTEBOOK_OUTPUT,
    log:
        "logs/notebook.log",
    conda:
        CONDA_ENV
    resources:
        slots=1,
        generated_folder=1,  # not while the report swaps the folder (common.smk)
    params:
        results=lambda wildcards: RESULTS,  # a folder, not a file: every machine's results
    shell:
        "python -m actbench.notebook --results {params.results} --notebook {input.notebook:q} "
        "--out {output} > {log} 2>&1"
