"""The shared launch logic: sizes, dtypes, rounding, parameter layouts, errors, and
that every kernel also compiles for a real GPU (not only under the interpreter)."""

import math
import os
import subprocess
import sys

import pytest
import torch

from actbench.kernels import _template, activation
from actbench.kernels.ops import KERNELS


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float16, torch.float64])
def test_output_has_the_input_dtype_shape_and_device(dtype):
    x = torch.randn(3, 5, dtype=dtype, requires_grad=True)
    y = activation("gelu", x)
    (grad,) = torch.autograd.grad(y.sum(), x)
    assert y.dtype == grad.dtype == dtype and y.shape == grad.shape == x.shape


def test_empty_input():
    x = torch.empty(0, 4, requires_grad=True)
    alpha = torch.tensor(0.25, requires_grad=True)
    y = activation("prelu", x, alpha=alpha)
    dx, dalpha = torch.autograd.grad(y.sum(), (x, alpha), allow_unused=True)
    assert y.shape == (0, 4) and dx.shape == (0, 4) and dalpha.item() == 0


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_results_are_rounded_to_nearest_even(dtype):
    """p * x is computed in float32 and rounded once, as torch rounds a float32 tensor.

    Under the interpreter this checks the software bfloat16 conversion (ties, carries
    into the exponent, overflow to inf, NaN); compiled kernels use the hardware one.
    """
    gen = torch.Generator().manual_seed(0)
    finfo = torch.finfo(dtype)
    x = torch.cat([-torch.rand(100_000, generator=gen) * 10.0 ** torch.randint(-6, 6, (100_000,), generator=gen),
                   torch.tensor([-finfo.max, -math.inf, math.nan, -finfo.smallest_normal / 8])]).to(dtype)
    slope = 1.3  # 1.3 x overflows for x = -max
    expected = torch.where(x > 0, x.float(), x.float() * torch.tensor(slope, dtype=torch.float32)).to(dtype)
    ours = activation("leaky_relu", x, negative_slope=slope)
    assert torch.equal(torch.isnan(ours), torch.isnan(expected))
    assert torch.equal(ours[~torch.isnan(ours)], expected[~torch.isnan(expected)])


def test_unsupported_dtype_is_rejected_with_the_allowed_ones():
    with pytest.raises(TypeError, match="float32, bfloat16, float16, float64"):
        activation("relu", torch.arange(4))


def test_per_channel_parameter_must_match_dimension_1():
    alpha = torch.tensor([0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="channels are dimension 1"):
        activation("prelu", torch.randn(4, 2), alpha=alpha)
    with pytest.raises(ValueError, match="channels are dimension 1"):
        activation("prelu", torch.randn(3), alpha=alpha)
    with pytest.raises(ValueError, match="takes a scalar"):
        activation("swish_beta", torch.randn(2, 3), beta=alpha)


def test_per_channel_parameter_uses_channel_dimension_1():
    x = torch.randn(2, 3, 4, 5)
    alpha = torch.tensor([0.1, 0.2, 0.3])
    assert torch.allclose(activation("prelu", x, alpha=alpha), torch.nn.functional.prelu(x, alpha))


def test_fixed_parameters_are_cached_on_the_device():
    a = _template.fixed_param(0.01, torch.bfloat16, torch.device("cpu"))
    assert a is _template.fixed_param(0.01, torch.bfloat16, torch.device("cpu"))
    assert a.dtype == torch.float32  # the compute dtype, not the input dtype
    assert _template.fixed_param(0.01, torch.float64, torch.device("cpu")).item() == 0.01


def test_more_than_one_block_with_a_masked_tail():
    n = 3 * _template.launch_config(torch.float32)[0] + 5
    x = torch.linspace(-5, 5, n, requires_grad=True)
    beta = torch.tensor(1.5, requires_grad=True)
    y = activation("swish_beta", x, beta=beta)
    dx, dbeta = torch.autograd.grad(y.sum(), (x, beta))
    x64 = x.detach().double()
    assert torch.allclose(y.double(), x64 * torch.sigmoid(1.5 * x64), atol=1e-6)
    s = torch.sigmoid(1.5 * x64)
    assert dbeta.item() == pytest.approx((x64 * x64 * s * (1 - s)).sum().item(), rel=1e-5)


# --- the kernels compile for a GPU -----------------------------------------------------
# The interpreter accepts code the compiler rejects (and the reverse), so compile every
# kernel variant for an H100/H200 target (sm_90) and check its PTX (128-bit accesses, no
# spills): actbench.kernels.aot, which `make gpu-preflight` also runs under triton 3.6.
# This needs no GPU: Triton ships the compiler and ptxas. It runs in a subprocess because
# this process has the interpreter on.
def _compile_for_cuda(*args):
    pytest.importorskip("triton.backends.nvidia", reason="Triton's NVIDIA backend is not installed")
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    env["TRITON_DEFAULT_FP_FUSION"] = "1"  # the default; silences Triton 3.9's notice
    result = subprocess.run([sys.executable, "-m", "actbench.kernels.aot", *args], env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "AOT check OK" in result.stdout


def test_kernels_compile_for_cuda_float32():
    _compile_for_cuda("--arch", "90", "--dtypes", "float32")


@pytest.mark.slow
def test_kernels_compile_for_cuda_all_dtypes_and_archs():
    _compile_for_cuda("--arch", "80", "90")


def test_launch_config_gives_every_dtype_32_bytes_per_thread():
    for dtype in _template.SUPPORTED_DTYPES:
        block, num_warps = _template.launch_config(dtype)
        assert block // (32 * num_warps) * dtype.itemsize == _template.BYTES_PER_THREAD


def test_an_explicit_launch_config_gives_the_same_values():
    pair = KERNELS["gelu"]
    x = torch.randn(5000, dtype=torch.bfloat16)
    g = torch.randn(5000, dtype=torch.bfloat16)
    default_y = _template.forward(pair, x, None)
    default_dx, _ = _template.backward(pair, x, None, g, False)
    for config in _template.LAUNCH_ALTERNATIVES:
        assert torch.equal(_template.forward(pair, x, None, config=config), default_y)
        assert torch.equal(_template.backward(pair, x, None, g, False, config=config)[0], default_dx)
