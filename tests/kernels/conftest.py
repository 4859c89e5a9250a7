"""The kernel tests run on the CPU under Triton's interpreter (TRITON_INTERPRET=1).

Triton decides when a kernel is *decorated* whether it will be compiled or
interpreted, so the variable must be set before ``actbench.kernels`` is first
imported. pytest imports this conftest before any test module in this folder, and
nothing in ``actbench`` imports the kernels on its own; if something did import
them earlier in the session (compiled), we stop with a clear message rather than
fail every test.

Default run: a sample (each activation in one dtype, rotating; sizes up to 1025).
``pytest -m slow tests/kernels``: every activation x dtype x size (incl. 2^20 + 3)
x layout, and the CUDA compile check for every dtype.
"""

import importlib.util
import os
import sys

import pytest

os.environ["TRITON_INTERPRET"] = "1"

if importlib.util.find_spec("triton") is None:
    # Without triton only the import-guard tests can run.
    collect_ignore_glob = [f for f in os.listdir(os.path.dirname(__file__))
                           if f.startswith("test_") and f != "test_init.py"]


def pytest_configure(config):
    # The interpreter evaluates both sides of every tl.where with NumPy, which warns
    # about the overflow in the branch that is not taken (e.g. exp(-x) for x << 0).
    config.addinivalue_line("filterwarnings", "ignore::RuntimeWarning:triton.runtime.interpreter")
    template = sys.modules.get("actbench.kernels._template")
    if template is not None and not template.interpreted_kernels():
        raise pytest.UsageError(
            "actbench.kernels was imported before tests/kernels/conftest.py set TRITON_INTERPRET=1; "
            "run the kernel tests on their own (pytest tests/kernels) or set TRITON_INTERPRET=1"
        )
