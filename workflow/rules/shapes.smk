STUDY_NAMES.append("shapes")


rule shapes:
    output:
        result("shapes"),
    log:
        "logs/shapes.log",
    conda:
        CONDA_ENV
    resources:
        slots=1,
    params:
        activations=activation_args("shapes"),
        grid=config["shapes"]["grid_limit"],
        points=config["shapes"]["points"],
    shell:
        "{PY} shapes --results {RESULTS} {params.activations} "
        "--grid-limit {params.grid} --points {params.points} > {log} 2>&1"
