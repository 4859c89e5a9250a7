"""Computed properties agree with facts derivable by hand or by quadrature elsewhere."""

import math

import pytest
from scipy import integrate, stats

from actbench import activations


def props(name):
    return activations.get(name).properties


def test_ranges():
    assert (props("sigmoid")["range_low"], props("sigmoid")["range_high"]) == pytest.approx((0.0, 1.0))
    assert props("relu")["range_low"] == 0.0 and props("relu")["range_high"] == math.inf
    assert props("relu6")["range_high"] == pytest.approx(6.0)
    assert props("leaky_relu")["range_low"] == -math.inf
    assert props("elu")["range_low"] == pytest.approx(-1.0, abs=1e-9)
    assert props("tanh")["range_low"] == pytest.approx(-1.0)


@pytest.mark.parametrize("name, monotonic, smooth", [
    ("sigmoid", True, True), ("tanh", True, True), ("relu", True, False), ("relu6", True, False),
    ("leaky_relu", True, False), ("elu", True, True), ("selu", True, False), ("gelu", False, True),
    ("silu", False, True), ("mish", False, True), ("hardswish", False, False), ("softplus", True, True),
])
def test_monotonic_and_smooth(name, monotonic, smooth):
    p = props(name)
    assert p["monotonic"] is monotonic
    assert p["smooth"] is smooth


@pytest.mark.parametrize("name", ["relu", "tanh", "gelu", "selu", "softplus"])
def test_gaussian_moments_against_scipy_quad(name):
    spec = activations.get(name)
    import torch

    def f(z):
        return spec.f(torch.tensor([z], dtype=torch.float64)).item()

    pts = [0.0]
    mean = sum(integrate.quad(lambda z: f(z) * stats.norm.pdf(z), a, b, points=pts if a < 0 < b else None)[0]
               for a, b in ((-40, 0), (0, 40)))
    second = sum(integrate.quad(lambda z: f(z) ** 2 * stats.norm.pdf(z), a, b)[0] for a, b in ((-40, 0), (0, 40)))
    assert spec.properties["gauss_mean"] == pytest.approx(mean, abs=1e-9)
    assert spec.properties["gauss_var"] == pytest.approx(second - mean**2, abs=1e-9)


def test_relu_gaussian_moments_closed_form():
    # E[relu(z)] = 1/sqrt(2 pi), E[relu(z)^2] = 1/2
    p = props("relu")
    assert p["gauss_mean"] == pytest.approx(1 / math.sqrt(2 * math.pi), abs=1e-10)
    assert p["gauss_var"] == pytest.approx(0.5 - 1 / (2 * math.pi), abs=1e-10)


def test_selu_fixed_point():
    # SELU's constants are chosen so that N(0, 1) in gives mean 0, variance 1 out.
    p = props("selu")
    assert p["gauss_mean"] == pytest.approx(0.0, abs=1e-6)
    assert p["gauss_var"] == pytest.approx(1.0, abs=1e-6)


def test_max_abs_derivative():
    assert props("sigmoid")["max_abs_derivative"] == pytest.approx(0.25, abs=1e-9)
    assert props("tanh")["max_abs_derivative"] == pytest.approx(1.0, abs=1e-9)
    assert props("selu")["max_abs_derivative"] == pytest.approx(activations.SELU_LAMBDA * activations.SELU_ALPHA, rel=1e-4)
