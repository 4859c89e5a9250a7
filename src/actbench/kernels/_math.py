"""Numerical building blocks shared by the kernels in ``ops/`` (all ``@triton.jit``).

Why not libdevice (``tanh``, ``expm1``, ``log1p``): Triton's interpreter, which runs
the test suite on the CPU, cannot execute libdevice calls, and they are tied to one
GPU vendor. These helpers use only ``tl.exp``, ``tl.log`` and arithmetic, so the code
the CPU tests check is the code the GPU runs. On NVIDIA ``tl.exp`` (float32) lowers to
``ex2.approx`` (about 2 ulp) and ``tl.log`` to libdevice's accurate ``logf``.

Every helper keeps NaN as NaN: comparisons are False for NaN, so a ``where`` whose
condition is "x is inside a range" would otherwise replace a NaN by a finite value.
"""

import triton
import triton.language as tl


@triton.jit
def keep_nan(x, value):
    """``value``, except NaN where ``x`` is NaN (piecewise derivatives hide NaN)."""
    return tl.where(x != x, x, value)


@triton.jit
def clamp(x, lo, hi):
    """min(max(x, lo), hi) that keeps NaN (``tl.minimum``/``tl.maximum`` may drop it)."""
    return tl.where(x < lo, lo, tl.where(x > hi, hi, x))


@triton.jit
def sigmoid(z):
    # exp(-z) overflows to inf for z < -88 (float32) and 1 / inf = 0 is the right answer.
    return 1.0 / (1.0 + tl.exp(-z))


@triton.jit
def sigmoid_slope(z):
    """sigmoid'(z) = sigmoid(z) (1 - sigmoid(z)), written as e / (1 + e)^2 with e = exp(-|z|).

    The textbook product cancels (1 - sigmoid(z) loses its digits for z > 10) and
    e^|z| would overflow; this form is accurate for every z and is 0 at +-inf.
    """
    e = tl.exp(-tl.abs(z))
    r = 1.0 / (1.0 + e)
    return e * r * r


@triton.jit
def expm1(x):
    """exp(x) - 1, accurate near 0 where the subtraction would cancel.

    For |x| < 0.5 the Taylor series to degree 10 (truncation error below 2e-11
    relative), elsewhere exp(x) - 1 (at most a factor 3 of cancellation there).
    """
    # Horner form of x (1 + x/2 (1 + x/3 (... (1 + x/10))))
    p = 1.0 + x * 0.1
    for k in tl.static_range(9, 1, -1):
        p = 1.0 + p * (x * (1.0 / k))
    return tl.where(tl.abs(x) < 0.5, x * p, tl.exp(x) - 1.0)


@triton.jit
def log1p(x):
    """log(1 + x), accurate near 0 (Goldberg's trick).

    With u = 1 + x rounded, log(u) * x / (u - 1) cancels the rounding error of u;
    it needs an accurate log, which ``tl.log`` is (see the module docstring).
    """
    u = 1.0 + x
    d = u - 1.0
    value = tl.where(d == 0.0, x, tl.log(u) * (x / d))
    return tl.where(x == float("inf"), x, value)  # inf / inf above


@triton.jit
def tanh(x):
    """tanh without overflow and without cancellation near 0.

    tanh|x| = -expm1(-2|x|) / (2 + expm1(-2|x|)); the sign is put back afterwards.
    """
    t = expm1(-2.0 * tl.abs(x))
    r = -t / (2.0 + t)
    return tl.where(x < 0, -r, r)
