"""The numerical helpers of actbench.kernels._math, in float32, over wide ranges."""

import math

import pytest
import torch
import triton
import triton.language as tl

from actbench.kernels import _math


@triton.jit
def _apply(x_ptr, y_ptr, n, FN: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(y_ptr + offs, FN(tl.load(x_ptr + offs, mask=mask, other=0.0)), mask=mask)


def _run(fn, x):
    y = torch.empty_like(x)
    _apply[(triton.cdiv(x.numel(), 1024),)](x, y, x.numel(), FN=fn, BLOCK=1024)
    return y


def _log_spaced(lo, hi, n=2000):
    magnitudes = torch.logspace(lo, hi, n, dtype=torch.float64)
    return torch.cat([-magnitudes, magnitudes])


def _max_relative_error(ours, ref):
    keep = ref != 0
    return ((ours.double() - ref).abs()[keep] / ref.abs()[keep]).max().item()


CASES = {
    # helper: (input magnitudes as log10 range, float64 reference, float32 max relative error)
    "expm1": ((-30, 1.9), torch.expm1, 4e-7),   # up to |x| = 80 (e^80 < float32 max)
    "log1p": ((-30, 30), torch.log1p, 4e-7),    # negative side: x > -1 only (filtered below)
    "tanh": ((-30, 2), torch.tanh, 4e-7),
    "sigmoid": ((-30, 1.9), torch.sigmoid, 4e-7),  # sigmoid(-88) leaves the normal range
    "sigmoid_slope": ((-30, 1.9), lambda z: torch.sigmoid(z) * torch.sigmoid(-z), 8e-7),
}


@pytest.mark.parametrize("name", CASES)
def test_helpers_are_accurate_in_float32(name):
    (lo, hi), reference, tolerance = CASES[name]
    x = _log_spaced(lo, hi).float()
    if name == "log1p":
        x = x[x > -1]
    ours = _run(getattr(_math, name), x)
    assert _max_relative_error(ours, reference(x.double())) < tolerance


@pytest.mark.parametrize("name", CASES)
def test_helpers_at_special_values(name):
    x = torch.tensor([math.nan, math.inf, -math.inf, 0.0, 1e-40])
    ours = _run(getattr(_math, name), x)
    ref = CASES[name][1](x.double()).float()
    assert torch.isnan(ours[0])
    assert torch.allclose(ours[1:], ref[1:], rtol=1e-6, atol=0, equal_nan=True), f"{name}: {ours} vs {ref}"


@triton.jit
def _clamp_unit(x):
    return _math.clamp(x, 0.0, 1.0)


@triton.jit
def _keep_nan_of_zero(x):
    return _math.keep_nan(x, 0.0 * x + 2.0)


def test_keep_nan_and_clamp():
    x = torch.tensor([math.nan, -5.0, 0.5, 5.0])
    kept = _run(_keep_nan_of_zero, x)
    assert torch.isnan(kept[0]) and kept[1:].tolist() == [2.0, 2.0, 2.0]
    clamped = _run(_clamp_unit, x)
    assert torch.isnan(clamped[0]) and clamped[1:].tolist() == [0.0, 0.5, 1.0]
