"""Exponential-family activations: elu, selu, softplus."""

import triton
import triton.language as tl

from actbench import activations
from actbench.kernels import _math
from actbench.kernels.ops import kernel_pair

SELU_ALPHA = tl.constexpr(activations.SELU_ALPHA)
SELU_LAMBDA = tl.constexpr(activations.SELU_LAMBDA)


# p is ELU's alpha. expm1 keeps the digits of alpha (e^x - 1) for x near 0.
@triton.jit
def elu_forward(x, p):
    return tl.where(x > 0, x, p * _math.expm1(x))


@triton.jit
def elu_backward(x, p):
    return _math.keep_nan(x, tl.where(x > 0, 1.0, p * tl.exp(x)))


@triton.jit
def selu_forward(x, p):
    return elu_forward(x, SELU_ALPHA) * SELU_LAMBDA


@triton.jit
def selu_backward(x, p):
    return elu_backward(x, SELU_ALPHA) * SELU_LAMBDA


@triton.jit
def softplus_forward(x, p):
    # log(1 + e^x) = max(x, 0) + log1p(e^-|x|): e^x never overflows.
    return tl.where(x > 0, x, 0.0) + _math.log1p(tl.exp(-tl.abs(x)))


@triton.jit
def softplus_backward(x, p):
    return _math.sigmoid(x)


kernel_pair("elu", elu_forward, elu_backward, param="alpha")
kernel_pair("selu", selu_forward, selu_backward)
kernel_pair("softplus", softplus_forward, softplus_backward)
