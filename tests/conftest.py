import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Tests never write into the real results/ or docs/generated/.
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def root() -> Path:
    return ROOT
