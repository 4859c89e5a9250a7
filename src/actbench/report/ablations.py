"""Reports of the ablation studies, one module each (registered once in report/__init__.py)."""

from __future__ import annotations

import importlib

MODULES = [
    "actbench.report.init_pairing",
    "actbench.report.leaky_slope",
    "actbench.report.gelu_approx",
    "actbench.report.selu_norm",
    "actbench.report.prelu_slopes",
    "actbench.report.sparsity",
    "actbench.report.precision",
    "actbench.report.mistakes",
    "actbench.report.architectures",
]


def build(results_dir, out_dir, book) -> None:
    for name in MODULES:
        importlib.import_module(name).build(results_dir, out_dir, book)
