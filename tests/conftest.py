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
