"""One module per study, each declaring ``STUDY`` (an ``actbench.studies.unit.Study``):
its parameters, jobs, result key, report and page. The CLI, the generated config and
schema, the Snakemake rules and the report all iterate this table; adding a study is
one module here plus its docs page (see docs/custom-activation.md, "Add a study").
"""

from __future__ import annotations

import importlib

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


def unit(name: str):
    """The declaration (``STUDY``) of one study."""
    if name not in STUDIES:
        raise KeyError(f"unknown study {name!r}; studies: {', '.join(STUDIES)}")
    study = importlib.import_module(STUDIES[name]).STUDY
    if study.name != name:
        raise ValueError(f"{STUDIES[name]} declares study {study.name!r}, listed as {name!r}")
    return study


def units() -> dict:
    """Every study's declaration, in registry order."""
    return {name: unit(name) for name in STUDIES}
