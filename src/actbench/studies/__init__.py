"""One module per study. Each defines ``NAME``, ``KEY`` (its upsert key),
``add_arguments(parser)`` and ``run(args) -> Path`` (writes results/<hw_id>/<NAME>.parquet).

The CLI and the docs iterate this table; adding a study is one line here.
"""

STUDIES = {
    "shapes": "actbench.studies.shapes",
}
