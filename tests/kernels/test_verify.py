"""verify(): the device check, run here on the CPU under the interpreter."""

import math

import pytest
import torch

from actbench import activations
from actbench.kernels import verify as verify_module
from actbench.kernels.ops import KERNELS
from actbench.kernels.verify import TOLERANCES, Tolerance, compare, verify


def test_verify_on_cpu_small_sizes_passes_for_every_kernel():
    table = verify("cpu", sizes=(1, 127, 1025))
    assert set(table.activation) == set(KERNELS)
    assert set(table.dtype) == {"float32", "bfloat16", "float16"}
    assert set(table.direction) == {"forward", "backward", "param_grad"}
    learnable = {n for n in KERNELS if activations.get(n).learnable}
    assert set(table[table.direction == "param_grad"].activation) == learnable
    # one row per (activation, dtype, numel, direction), plus one per learnable parameter
    assert len(table) == len(KERNELS) * 3 * 3 * 2 + len(learnable) * 3 * 3
    assert table.passed.all(), table[~table.passed].to_string()
    assert (table.rel_l2 <= table.rel_l2_tol).all() and (table.max_abs <= table.max_abs_tol).all()


def test_verify_detects_a_wrong_kernel(monkeypatch):
    monkeypatch.setitem(KERNELS, "tanh", KERNELS["sigmoid"])
    table = verify("cpu", dtypes=("float32",), sizes=(127,), names=["tanh", "relu"])
    assert not table[table.activation == "tanh"].passed.any()
    assert table[table.activation == "relu"].passed.all()


def test_compare_fails_on_nan_and_floors_the_reference_norm():
    tol = TOLERANCES["float32"]
    ref = torch.zeros(4, dtype=torch.float64)
    assert compare(torch.zeros(4), ref, tol)["passed"]
    assert not compare(torch.tensor([0.0, math.nan, 0.0, 0.0]), ref, tol)["passed"]
    # a reference near 0 is compared in absolute terms, not divided by ~0
    row = compare(torch.tensor([1e-12]), torch.tensor([1e-30], dtype=torch.float64), tol)
    assert row["passed"] and row["rel_l2"] == pytest.approx(1e-12)
    # max_abs tolerance scales with the largest reference value
    assert compare(torch.tensor([100.0]), torch.tensor([100.0 + 1e-4], dtype=torch.float64),
                   Tolerance(1.0, 2e-6))["passed"]


def test_tolerance_table_covers_the_verified_dtypes():
    assert set(verify_module.DEFAULT_DTYPES) <= set(TOLERANCES)
    # half precision: 2 units of roundoff for max_abs
    assert TOLERANCES["bfloat16"].max_abs == 2 * 2.0**-8
