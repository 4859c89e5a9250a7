"""Saturating activations: sigmoid and tanh."""

import triton
import triton.language as tl

from actbench.kernels import _math
from actbench.kernels.ops import kernel_pair


@triton.jit
def sigmoid_forward(x, p):
    return _math.sigmoid(x)


@triton.jit
def sigmoid_backward(x, p):
    return _math.sigmoid_slope(x)


@triton.jit
def tanh_forward(x, p):
    return _math.tanh(x)


@triton.jit
def tanh_backward(x, p):
    t = _math.tanh(x)
    return 1.0 - t * t


kernel_pair("sigmoid", sigmoid_forward, sigmoid_backward)
kernel_pair("tanh", tanh_forward, tanh_backward)
