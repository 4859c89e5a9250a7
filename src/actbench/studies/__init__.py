"""One module per study. Each defines ``NAME``, ``KEY`` (its upsert key),
``add_arguments(parser)`` and ``run(args) -> Path`` (writes results/<hw_id>/<NAME>.parquet).

The CLI and the docs iterate this table; adding a study is one line here.
"""

STUDIES = {
    "shapes": "actbench.studies.shapes",
    "kernels": "actbench.studies.kernels",
    "kernel_cost": "actbench.studies.kernel_cost",
    "training_step": "actbench.studies.training_step",
    "exp1_mnist": "actbench.studies.exp1_mnist",
    "gradient_flow": "actbench.studies.gradient_flow",
    "dead_units": "actbench.studies.dead_units",
    "necessity": "actbench.studies.necessity",
    "init_pairing": "actbench.studies.init_pairing",
    "leaky_slope": "actbench.studies.leaky_slope",
    "gelu_approx": "actbench.studies.gelu_approx",
    "selu_norm": "actbench.studies.selu_norm",
    "prelu_slopes": "actbench.studies.prelu_slopes",
    "sparsity": "actbench.studies.sparsity",
    "precision": "actbench.studies.precision",
    "mistakes": "actbench.studies.mistakes",
    "architectures": "actbench.studies.architectures",
}
