"""Numerically computed properties of an activation (never typed by hand).

All computations run in float64 on a dense grid; the grid and tolerances are module
constants so the docs can state them.
"""

from __future__ import annotations

import math

import numpy as np
import torch

GRID_LIMIT = 12.0          # |x| range of the dense grid
GRID_POINTS = 480_001      # spacing 5e-5
FAR = 1e6                  # probe for unboundedness
MONOTONE_TOL = 1e-12       # allowed decrease between neighbours (rounding)
SMOOTH_JUMP_TOL = 1e-2     # max |f'(x+h) - f'(x)| over one grid step for "smooth" (C^1)
QUAD_LIMIT = 40.0          # z range for the Gaussian expectations
QUAD_POINTS = 1_600_001    # Simpson nodes (odd: 0 is a panel boundary, so kinks at 0 are exact)


def grid(limit: float = GRID_LIMIT, points: int = GRID_POINTS) -> torch.Tensor:
    return torch.linspace(-limit, limit, points, dtype=torch.float64)


def _gauss_moments(spec, points: int = QUAD_POINTS) -> tuple[float, float]:
    """E[f(z)] and Var[f(z)] for z ~ N(0, 1) by composite Simpson quadrature.

    Simpson on a fine grid that contains the kinks at 0 (and +-3, 6) is accurate to
    ~1e-12 here; scipy.integrate.quad gives the same digits but is slower.
    """
    z = torch.linspace(-QUAD_LIMIT, QUAD_LIMIT, points, dtype=torch.float64)
    pdf = torch.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    f = spec.f(z)
    h = (z[1] - z[0]).item()
    w = torch.ones_like(z)
    w[1:-1:2], w[2:-1:2] = 4.0, 2.0
    weights = w * h / 3
    mean = torch.sum(weights * f * pdf).item()
    second = torch.sum(weights * f * f * pdf).item()
    return mean, second - mean * mean


CURVATURE_TOL = 1e-6       # |f''| below this counts as 0 (float round-off in the tails)


def _inflections(dy: torch.Tensor, h: float) -> int:
    """Sign changes of a numerical f'' (differences of f'), ignoring |f''| < CURVATURE_TOL:
    the inflection points. Linear pieces (f'' = 0) do not count, so ReLU has none."""
    d2 = torch.diff(dy) / h
    signs = torch.sign(d2[d2.abs() >= CURVATURE_TOL])
    return int((signs[1:] != signs[:-1]).sum())


def compute_properties(spec, points: int = GRID_POINTS, quad_points: int = QUAD_POINTS) -> dict:
    """The properties of ``spec`` (anything with ``f`` and ``df``). Coarser ``points`` /
    ``quad_points`` trade digits for speed (the explorer's many parameter settings)."""
    x = grid(points=points)
    y = spec.f(x)
    dy = spec.df(x)
    far = torch.tensor([-FAR, FAR, -FAR / 10, FAR / 10], dtype=torch.float64)
    y_far = spec.f(far)
    h = (x[1] - x[0]).item()

    # Range: limits at +-FAR decide boundedness; interior extremes come from the grid.
    lo_far, hi_far = y_far[0].item(), y_far[1].item()
    lo = min(lo_far, y.min().item())
    hi = max(hi_far, y.max().item())
    # Unbounded when |f| keeps growing between FAR/10 and FAR (linear growth: x10).
    if lo_far < 0 and lo_far < 5 * y_far[2].item():
        lo = -math.inf
    if hi_far > 0 and hi_far > 5 * y_far[3].item():
        hi = math.inf

    increments = torch.diff(y)
    monotonic = bool((increments >= -MONOTONE_TOL).all())
    derivative_jump = torch.diff(dy).abs().max().item()
    smooth = derivative_jump < SMOOTH_JUMP_TOL
    mean, var = _gauss_moments(spec, quad_points)
    i_min = int(torch.argmin(y))
    interior_min = 0 < i_min < len(x) - 1 and not monotonic

    props = {
        "range_low": lo,
        "range_high": hi,
        "monotonic": monotonic,
        "smooth": smooth,
        "max_derivative_jump": derivative_jump,
        "gauss_mean": mean,
        "gauss_var": var,
        "max_abs_derivative": dy.abs().max().item(),
        "min_derivative": dy.min().item(),
        # sign changes of f' on the grid: the stationary points (0 for monotonic units)
        "derivative_zero_count": int((torch.sign(dy[1:]) * torch.sign(dy[:-1]) < 0).sum()),
        "second_derivative_zero_count": _inflections(dy, h),
        # share of grid points x < 0 where f(x) > 0 (0 for a unit never positive on the negative axis;
        # -0.0 from an underflowing tail does not count)
        "positive_fraction_on_negative_axis": float((y[x < 0] > 0).double().mean()),
        "derivative_at_0": spec.df(torch.zeros(1, dtype=torch.float64)).item(),
        "zero_centered": bool(abs(mean) < 0.1),
        "grid_step": h,
    }
    if interior_min:
        props["min_x"] = x[i_min].item()
        props["min_value"] = y[i_min].item()
    return props


def refine_minimum(spec, x0: float, iterations: int = 60) -> tuple[float, float]:
    """Newton on f' = 0 starting at the grid minimum, using a numerical f''.

    Gives the minimiser to ~1e-12, which the coarse grid cannot.
    """
    x = float(x0)
    for _ in range(iterations):
        t = torch.tensor([x], dtype=torch.float64)
        d = spec.df(t).item()
        step = 1e-6
        d2 = (spec.df(t + step).item() - spec.df(t - step).item()) / (2 * step)
        if d2 == 0 or not np.isfinite(d2):
            break
        dx = d / d2
        x -= dx
        if abs(dx) < 1e-15:
            break
    return x, spec.f(torch.tensor([x], dtype=torch.float64)).item()
