import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Tests never write into the real results/ or docs/generated/.
os.environ.setdefault("MPLBACKEND", "Agg")
# Triton kernels run under the interpreter on the CPU. Triton reads this when
# actbench.kernels is first imported, so it is set here, before any test imports it.
os.environ.setdefault("TRITON_INTERPRET", "1")


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def one_thread():
    """One torch thread for the test. On a shared 2-core machine, two spinning OpenMP
    threads per test process slow small ops down by orders of magnitude when other jobs
    run. Modules that train use it with `pytestmark = pytest.mark.usefixtures("one_thread")`."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
