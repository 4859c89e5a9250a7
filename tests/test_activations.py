"""Registry: names, errors, forward vs PyTorch, closed-form derivative vs autograd and
vs an independent 50-digit mpmath reference."""

import math

import pytest
import torch

from actbench import activations
from mp_reference import REFERENCE, argmin, df as mp_df, f as mp_f

ELEMENTWISE = activations.elementwise_names()
# Kinks where a one-sided derivative convention applies; reference points avoid them.
KINKS = {"relu": [0.0], "relu6": [0.0, 6.0], "leaky_relu": [0.0], "prelu": [0.0], "elu": [0.0],
         "selu": [0.0], "hardswish": [-3.0, 3.0]}
POINTS = [-7.5, -3.3, -1.0, -0.25, 0.4, 1.0, 2.5, 6.5]


def test_names_cover_the_required_entries():
    required = {"sigmoid", "tanh", "relu", "relu6", "leaky_relu", "prelu", "elu", "selu", "gelu",
                "gelu_tanh", "silu", "swish_beta", "hardswish", "mish", "softplus", "softmax", "maxout"}
    assert required <= set(activations.names())
    assert set(ELEMENTWISE) >= required - {"softmax", "maxout"}
    assert not activations.get("softmax").elementwise and not activations.get("maxout").elementwise


def test_alias_swish_is_silu():
    assert activations.get("swish") is activations.get("silu")


def test_unknown_name_lists_valid_names():
    with pytest.raises(activations.UnknownActivationError) as err:
        activations.get("gelu2")
    message = str(err.value)
    assert "'gelu2'" in message
    for name in ("relu", "gelu", "mish", "softmax"):
        assert name in message


def test_defaults_and_inits():
    assert activations.get("leaky_relu").params == {"negative_slope": 0.01}
    assert activations.get("prelu").params == {"alpha": 0.25}
    assert activations.get("elu").params == {"alpha": 1.0}
    assert activations.get("selu").init == "lecun"
    assert activations.get("relu").init == "he"
    assert activations.get("tanh").init == "xavier"
    for name in activations.names():
        assert activations.get(name).init in activations.INIT_SCHEMES


def test_selu_constants_full_precision():
    import mp_reference

    # the nearest doubles to the 50-digit constants
    assert activations.SELU_ALPHA == float(mp_reference.SELU_ALPHA)
    assert activations.SELU_LAMBDA == float(mp_reference.SELU_LAMBDA)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_module_matches_forward(name):
    spec = activations.get(name)
    x = torch.linspace(-8, 8, 1001, dtype=torch.float64)
    module = spec.module().double()
    with torch.no_grad():
        assert torch.allclose(module(x), spec.f(x), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", [n for n in ELEMENTWISE if activations.get(n).torch_builtin])
def test_forward_equals_torch_builtin(name):
    spec = activations.get(name)
    gen = torch.Generator().manual_seed(1)
    x = torch.cat([torch.randn(10_000, generator=gen, dtype=torch.float64) * 6,
                   torch.tensor([0.0, -0.0, 1e-8, -1e-8, 30.0, -30.0, 1e4, -1e4], dtype=torch.float64)])
    ours = spec.f(x)
    theirs = spec.torch_builtin(x, **spec.params)
    if name == "softplus":
        # PyTorch returns x itself above its threshold (x > 20): off by log1p(e^-x) <= 2.1e-9.
        above = x > 20
        assert (ours[above] - theirs[above]).abs().max() <= math.log1p(math.exp(-20))
        ours, theirs = ours[~above], theirs[~above]
    assert torch.allclose(ours, theirs, rtol=1e-12, atol=1e-13)


def _autograd(spec, x):
    x = x.clone().requires_grad_(True)
    fn = spec.torch_builtin or spec.f
    (grad,) = torch.autograd.grad(fn(x, **spec.params).sum() if spec.torch_builtin else fn(x).sum(), x)
    return grad


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_derivative_equals_autograd(name):
    spec = activations.get(name)
    gen = torch.Generator().manual_seed(2)
    x = torch.cat([torch.randn(10_000, generator=gen, dtype=torch.float64) * 5,
                   torch.tensor([0.0, 1e-8, -1e-8, 30.0, -30.0], dtype=torch.float64)])
    assert torch.allclose(spec.df(x), _autograd(spec, x), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_infinities_give_limits_and_nan_propagates(name):
    spec = activations.get(name)
    special = torch.tensor([math.inf, -math.inf, math.nan], dtype=torch.float64)
    value, slope = spec.f(special), spec.df(special)
    assert torch.isnan(value[2]) and torch.isnan(slope[2]), "NaN in must give NaN out"
    assert not torch.isnan(value[:2]).any() and not torch.isnan(slope[:2]).any()
    # The limits from the 50-digit reference at |x| = 1e6 (stands in for infinity).
    for i, far in enumerate((1e6, -1e6)):
        ref_f = float(mp_f(name, far))
        if abs(ref_f) < 1e3:
            assert value[i].item() == pytest.approx(ref_f, abs=1e-12)
        else:
            assert value[i].item() == math.copysign(math.inf, ref_f)
        ref_df = float(mp_df(name, far))
        if abs(ref_df) < 1e3:
            assert slope[i].item() == pytest.approx(ref_df, abs=1e-12)
        else:  # unbounded derivative (squared_relu)
            assert slope[i].item() == math.copysign(math.inf, ref_df)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_values_and_derivatives_match_mpmath(name):
    spec = activations.get(name)
    x = torch.tensor(POINTS, dtype=torch.float64)
    ours_f, ours_df = spec.f(x), spec.df(x)
    for i, xi in enumerate(POINTS):
        assert ours_f[i].item() == pytest.approx(float(mp_f(name, xi)), rel=1e-12, abs=1e-12), f"f({xi})"
        assert ours_df[i].item() == pytest.approx(float(mp_df(name, xi)), rel=1e-12, abs=1e-12), f"f'({xi})"


@pytest.mark.parametrize("name", [n for n in ELEMENTWISE if 0.0 not in KINKS.get(n, [])])
def test_derivative_at_zero_matches_mpmath(name):
    ours = activations.get(name).df(torch.zeros(1, dtype=torch.float64)).item()
    assert ours == pytest.approx(float(mp_df(name, 0)), abs=1e-12)


@pytest.mark.parametrize("name, guess", [("gelu", -0.75), ("gelu_tanh", -0.75), ("silu", -1.28), ("mish", -1.19)])
def test_minimum_matches_mpmath(name, guess):
    from actbench.properties import refine_minimum

    spec = activations.get(name)
    props = spec.properties
    x_ref, f_ref = argmin(name, guess)
    x_ours, f_ours = refine_minimum(spec, props["min_x"])
    assert x_ours == pytest.approx(float(x_ref), abs=1e-9)
    assert f_ours == pytest.approx(float(f_ref), abs=1e-12)
    # the coarse grid minimum is within one grid step
    assert abs(props["min_x"] - float(x_ref)) <= props["grid_step"]


def test_param_derivatives_match_autograd():
    x = torch.linspace(-4, 4, 101, dtype=torch.float64)
    beta = torch.tensor(1.7, dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad((x * torch.sigmoid(beta * x)).sum(), beta)
    ours = activations.param_derivative("swish_beta", "beta", x, beta=1.7).sum()
    assert ours.item() == pytest.approx(g.item(), rel=1e-12)
    alpha = torch.tensor([0.3], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(torch.nn.functional.prelu(x, alpha).sum(), alpha)
    assert activations.param_derivative("prelu", "alpha", x, alpha=0.3).sum().item() == pytest.approx(g.item())
    with pytest.raises(ValueError, match="learnable"):
        activations.param_derivative("relu", "alpha", x)


def test_prelu_per_channel_alpha():
    x = torch.randn(4, 3, 5, dtype=torch.float64)
    alpha = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64)
    spec = activations.get("prelu")
    assert torch.allclose(spec.f(x, alpha=alpha), torch.nn.functional.prelu(x, alpha))
    with pytest.raises(ValueError, match="channels are dimension 1"):
        spec.f(torch.randn(4, 2), alpha=alpha)


def test_maxout_and_softmax_modules():
    m = activations.get("maxout").module(in_features=6, out_features=4, pieces=3)
    assert m(torch.randn(5, 6)).shape == (5, 4)
    s = activations.get("softmax").module()
    assert torch.allclose(s(torch.randn(2, 7)).sum(-1), torch.ones(2))


# ── one table per name: every other table derives from the registry ───────────────

def test_every_entry_has_its_own_label_and_colour():
    specs = [activations.get(n) for n in activations.names()]
    assert all(s.label for s in specs)
    colours = [s.colour for s in specs]
    assert len(set(colours)) == len(colours), "two activations share a colour"
    assert activations.label("gelu_tanh") == "GELU (tanh)" and activations.label("identity") == "identity"
    assert activations.palette(["relu", "linear"]) == {"relu": activations.get("relu").colour, "linear": "#555555"}


def test_an_entry_without_label_or_with_a_taken_colour_is_refused():
    base = activations.get("relu")
    with pytest.raises(ValueError, match="needs a label and a colour"):
        activations.register(activations.Activation("x_no_label", base.forward, base.derivative, torch.nn.ReLU, "he"))
    with pytest.raises(ValueError, match="already 'relu''s"):
        activations.register(activations.Activation("x_same_colour", base.forward, base.derivative, torch.nn.ReLU,
                                                    "he", label="X", colour=base.colour))


@pytest.mark.parametrize("name", activations.elementwise_names())
def test_forward_and_derivative_use_the_default_parameters(name):
    spec = activations.get(name)
    x = torch.linspace(-3, 3, 7, dtype=torch.float64)
    assert torch.equal(spec.forward(x), spec.f(x)) and torch.equal(spec.derivative(x), spec.df(x))
    for param, value in spec.params.items():  # an explicit parameter still overrides the default
        if isinstance(value, float):
            assert spec.forward(x, **{param: value}).shape == x.shape


def test_side_tables_name_only_registry_entries_and_kernels_cover_every_entry():
    from actbench import providers
    from actbench.kernels.ops import KERNELS

    registry = set(activations.names())
    assert set(providers.OUT_OPS) <= registry
    assert set(KERNELS) <= registry
    assert set(activations.elementwise_names()) <= set(KERNELS), "an elementwise entry has no Triton kernel pair"
    assert {n for n, _ in activations.PARAM_DERIVATIVES} <= registry
    for name in activations.elementwise_names():  # every learnable parameter has its derivative
        for param in activations.get(name).learnable:
            assert (name, param) in activations.PARAM_DERIVATIVES, (name, param)
