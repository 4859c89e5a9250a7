"""Self-gated activations x * g(x): gelu, gelu_tanh, silu, swish_beta, hardswish, mish.

At x = -inf the product x * g(x) is -inf * 0 = NaN. PyTorch's own gelu, gelu_tanh,
silu, hardswish and mish return NaN there too and the forward kernels match it.
Backward kernels return the derivative's limits at +-inf instead (0 * inf would
give NaN): they evaluate it at the input clamped to a point beyond which the
derivative already equals its limit in float32 and float64 (the *_SATURATION bounds).
"""

import math

import triton
import triton.language as tl

from actbench import activations
from actbench.kernels import _math
from actbench.kernels.ops import kernel_pair

# Module constants are tl.constexpr (required inside @triton.jit). They are written
# on the right of tensors: the interpreter turns constexpr * tensor into a constexpr.
SQRT_HALF = tl.constexpr(math.sqrt(0.5))
INV_SQRT_2PI = tl.constexpr(1.0 / math.sqrt(2.0 * math.pi))
SQRT_2_OVER_PI = tl.constexpr(activations.SQRT_2_OVER_PI)
GELU_TANH_COEFF = tl.constexpr(activations.GELU_TANH_COEFF)

# Beyond |x| = 40, Phi(x) is 0 or 1 and x * pdf(x) is 0, exactly, in float64.
GELU_SATURATION = tl.constexpr(40.0)
# Beyond |x| = 100, 2 * inner(x) > 7e4 and sigmoid(2 * inner) is exactly 0 or 1.
GELU_TANH_SATURATION = tl.constexpr(100.0)
# exp(-800) is 0 in float64: sigmoid(+-800) is exactly 1 or 0 and its slope 0.
SIGMOID_SATURATION = tl.constexpr(800.0)
# Beyond x = 43, tanh(softplus(x)) is exactly 1 and mish'(x) exactly 1 in float64,
# while e^(2x) is still finite in float32.
MISH_SATURATION = tl.constexpr(43.0)


@triton.jit
def gelu_forward(x, p):
    return 0.5 * x * (1.0 + tl.math.erf(x * SQRT_HALF))


@triton.jit
def gelu_backward(x, p):
    x = _math.clamp(x, -GELU_SATURATION, GELU_SATURATION)
    cdf = 0.5 * (1.0 + tl.math.erf(x * SQRT_HALF))
    pdf = tl.exp(-0.5 * x * x) * INV_SQRT_2PI
    return cdf + x * pdf


# gelu_tanh: 0.5 x (1 + tanh(u)) = x * sigmoid(2u), u = sqrt(2/pi) (x + c x^3):
# one exp, no cancellation in 1 + tanh(u) for u << 0.
@triton.jit
def gelu_tanh_forward(x, p):
    u = (x + x * x * x * GELU_TANH_COEFF) * SQRT_2_OVER_PI
    return x * _math.sigmoid(2.0 * u)


@triton.jit
def gelu_tanh_backward(x, p):
    x = _math.clamp(x, -GELU_TANH_SATURATION, GELU_TANH_SATURATION)  # also keeps x^3 finite
    u = (x + x * x * x * GELU_TANH_COEFF) * SQRT_2_OVER_PI
    du = (1.0 + x * x * (3.0 * GELU_TANH_COEFF)) * SQRT_2_OVER_PI
    return _math.sigmoid(2.0 * u) + x * 2.0 * _math.sigmoid_slope(2.0 * u) * du


# swish_beta: x * sigmoid(p x) with learnable p = beta; silu is p = 1.
@triton.jit
def swish_forward(x, p):
    return x * _math.sigmoid(p * x)


@triton.jit
def swish_backward(x, p):
    # d/dx = s(z) + z s'(z) with z = p x: a function of z alone.
    z = _math.clamp(p * x, -SIGMOID_SATURATION, SIGMOID_SATURATION)
    return _math.sigmoid(z) + z * _math.sigmoid_slope(z)


@triton.jit
def swish_beta_grad(x, p):
    # d/dp = x^2 s'(p x); 0 once s' underflows (also where x^2 would be inf).
    z = p * x
    return tl.where(tl.abs(z) > SIGMOID_SATURATION, 0.0, x * x * _math.sigmoid_slope(z))


@triton.jit
def silu_forward(x, p):
    return swish_forward(x, 1.0)


@triton.jit
def silu_backward(x, p):
    return swish_backward(x, 1.0)


@triton.jit
def hardswish_forward(x, p):
    return x * _math.clamp(x + 3.0, 0.0, 6.0) / 6.0


@triton.jit
def hardswish_backward(x, p):
    # PyTorch's convention at the kinks: x < -3 -> 0, -3 <= x <= 3 -> x/3 + 1/2, x > 3 -> 1
    slope = tl.where(x < -3.0, 0.0, tl.where(x <= 3.0, x / 3.0 + 0.5, 1.0))
    return _math.keep_nan(x, slope)


# mish: x tanh(softplus(x)). With e = e^x and n = e (e + 2),
# tanh(softplus(x)) = n / (n + 2) and tanh' * sigmoid = 4 e (e + 1) / (n + 2)^2:
# one exp, no log, no cancellation.
@triton.jit
def mish_forward(x, p):
    e = tl.exp(tl.minimum(x, MISH_SATURATION))  # a NaN x still gives NaN: the factor x
    n = e * (e + 2.0)
    return x * (n / (n + 2.0))


@triton.jit
def mish_backward(x, p):
    x = _math.clamp(x, -SIGMOID_SATURATION, MISH_SATURATION)
    e = tl.exp(x)
    n = e * (e + 2.0)
    q = 1.0 / (n + 2.0)
    # products ordered so that nothing overflows in float32 up to x = 43
    return n * q + 4.0 * x * (e * q) * ((e + 1.0) * q)


kernel_pair("gelu", gelu_forward, gelu_backward)
kernel_pair("gelu_tanh", gelu_tanh_forward, gelu_tanh_backward)
kernel_pair("silu", silu_forward, silu_backward)
kernel_pair("swish_beta", swish_forward, swish_backward, param="beta", param_grad=swish_beta_grad)
kernel_pair("hardswish", hardswish_forward, hardswish_backward)
kernel_pair("mish", mish_forward, mish_backward)
