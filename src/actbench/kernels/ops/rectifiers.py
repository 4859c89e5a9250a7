"""Piecewise-linear rectifiers: relu, relu6, leaky_relu, prelu.

Conditions are written so that NaN falls through to the branch that returns x
(``x < 0`` is False for NaN), which keeps NaN as NaN like PyTorch. Derivatives take
PyTorch's one-sided values at the kinks (0 at x = 0) and are NaN at NaN.
"""

import triton
import triton.language as tl

from actbench.kernels import _math
from actbench.kernels.ops import kernel_pair


@triton.jit
def relu_forward(x, p):
    return tl.where(x < 0, 0.0, x)


@triton.jit
def relu_backward(x, p):
    return _math.keep_nan(x, tl.where(x > 0, 1.0, 0.0))


@triton.jit
def relu6_forward(x, p):
    return _math.clamp(x, 0.0, 6.0)


@triton.jit
def relu6_backward(x, p):
    return _math.keep_nan(x, tl.where((x > 0) & (x < 6), 1.0, 0.0))


# leaky_relu and prelu share the kernels: p is the negative slope.
@triton.jit
def leaky_forward(x, p):
    return tl.where(x > 0, x, p * x)


@triton.jit
def leaky_backward(x, p):
    return _math.keep_nan(x, tl.where(x > 0, 1.0, p))


@triton.jit
def leaky_slope_grad(x, p):
    return tl.where(x > 0, 0.0, x)


kernel_pair("relu", relu_forward, relu_backward)
kernel_pair("relu6", relu6_forward, relu6_backward)
kernel_pair("leaky_relu", leaky_forward, leaky_backward, param="negative_slope")
kernel_pair("prelu", leaky_forward, leaky_backward, param="alpha", param_grad=leaky_slope_grad,
            per_channel=True)
