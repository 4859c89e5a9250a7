"""The drop-ins: activation() and TritonActivation, parameters and their gradients."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from actbench import activations
from actbench.kernels import TritonActivation, activation
from actbench.kernels.verify import check_activation, dtype_name, sample_input

DTYPES = (torch.float32, torch.bfloat16, torch.float16)


def _passes(name, x, **params):
    grad = sample_input(x.numel(), x.dtype, "cpu", seed=5, limit=1.0).reshape(x.shape)
    rows = check_activation(name, x, grad, **params)
    assert {r["direction"] for r in rows} >= {"forward", "backward", "param_grad"}
    failed = [r for r in rows if not r["passed"]]
    assert not failed, failed


# --- parameter gradients against the registry's closed forms (float64) ------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_name)
def test_prelu_scalar_alpha_gradient(dtype):
    _passes("prelu", sample_input(1025, dtype, "cpu", seed=1), alpha=0.3)


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_name)
def test_prelu_per_channel_alpha_gradient(dtype):
    x = sample_input(4 * 3 * 50, dtype, "cpu", seed=2).reshape(4, 3, 50)
    _passes("prelu", x, alpha=torch.tensor([0.1, 0.25, -0.5]))


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_name)
def test_swish_beta_gradient(dtype):
    _passes("swish_beta", sample_input(1025, dtype, "cpu", seed=3), beta=1.7)


@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_name)
def test_elu_learnable_alpha_gradient(dtype):
    _passes("elu_learnable", sample_input(1025, dtype, "cpu", seed=4), alpha=0.7)


def test_prelu_matches_torch_values_and_gradients():
    x = torch.randn(8, 3, 7, requires_grad=True)
    alpha = torch.tensor([0.1, 0.2, 0.3], requires_grad=True)
    ours = activation("prelu", x, alpha=alpha)
    grads = torch.autograd.grad(ours.square().sum(), (x, alpha))
    theirs = F.prelu(x, alpha)
    torch_grads = torch.autograd.grad(theirs.square().sum(), (x, alpha))
    assert torch.allclose(ours, theirs)
    for g, t in zip(grads, torch_grads):
        assert torch.allclose(g, t, rtol=1e-5, atol=1e-6)


def test_parameter_gradient_without_input_gradient():
    x = torch.randn(100)
    beta = torch.tensor(0.8, requires_grad=True)
    (dbeta,) = torch.autograd.grad(activation("swish_beta", x, beta=beta).sum(), beta)
    ref = activations.param_derivative("swish_beta", "beta", x.double(), beta=0.8).sum()
    assert dbeta.item() == pytest.approx(ref.item(), rel=1e-5)


# --- arguments -------------------------------------------------------------------------
def test_fixed_parameters_override_the_defaults():
    x = torch.randn(50)
    assert torch.allclose(activation("leaky_relu", x, negative_slope=0.2), F.leaky_relu(x, 0.2))
    assert torch.allclose(activation("elu", x, alpha=0.5), F.elu(x, 0.5))
    assert torch.allclose(activation("leaky_relu", x), F.leaky_relu(x, 0.01))


def test_unknown_parameter_names_the_allowed_ones():
    with pytest.raises(ValueError, match="'beta'.*parameters: negative_slope"):
        activation("leaky_relu", torch.randn(3), beta=2.0)
    with pytest.raises(ValueError, match="parameters: none"):
        activation("relu", torch.randn(3), alpha=2.0)


def test_alias_and_unknown_name():
    x = torch.randn(10)
    assert torch.equal(activation("swish", x), activation("silu", x))
    with pytest.raises(activations.UnknownActivationError, match="valid names"):
        activation("gelu2", x)
    with pytest.raises(ValueError, match="no Triton kernel for 'softmax'"):
        activation("softmax", x)


# --- the module ------------------------------------------------------------------------
def test_module_parameters_follow_the_registry():
    assert list(dict(TritonActivation("relu").named_parameters())) == []
    assert list(dict(TritonActivation("leaky_relu", negative_slope=0.2).named_parameters())) == []
    prelu = TritonActivation("prelu", num_parameters=3, alpha=0.2)
    assert prelu.alpha.shape == (3,) and torch.all(prelu.alpha == 0.2)
    assert TritonActivation("swish_beta").beta.shape == ()
    assert TritonActivation("elu_learnable").alpha.item() == 1.0
    assert "leaky_relu" in repr(TritonActivation("leaky_relu", negative_slope=0.2))
    with pytest.raises(ValueError, match="per-channel"):
        TritonActivation("swish_beta", num_parameters=3)


def test_module_matches_nn_prelu_in_a_model():
    torch.manual_seed(0)
    reference = nn.Sequential(nn.Conv1d(2, 3, 3), nn.PReLU(3, init=0.2), nn.Flatten(), nn.Linear(3 * 6, 1))
    ours = nn.Sequential(nn.Conv1d(2, 3, 3), TritonActivation("prelu", num_parameters=3, alpha=0.2),
                         nn.Flatten(), nn.Linear(3 * 6, 1))
    ours.load_state_dict({k.replace("1.weight", "1.alpha"): v for k, v in reference.state_dict().items()})
    x = torch.randn(5, 2, 8)
    for model in (reference, ours):
        model.zero_grad()
        model(x).square().mean().backward()
    assert torch.allclose(ours(x), reference(x), atol=1e-6)
    assert torch.allclose(ours[1].alpha.grad, reference[1].weight.grad, rtol=1e-5, atol=1e-7)
    assert torch.allclose(ours[0].weight.grad, reference[0].weight.grad, rtol=1e-5, atol=1e-7)


def test_learnable_parameter_trains():
    module = TritonActivation("elu_learnable")
    optimizer = torch.optim.SGD(module.parameters(), lr=1.0)
    x = -torch.rand(64)
    target = 2.0 * torch.expm1(x)  # ELU with alpha = 2
    for _ in range(60):
        optimizer.zero_grad()
        (module(x) - target).square().mean().backward()
        optimizer.step()
    assert module.alpha.item() == pytest.approx(2.0, abs=1e-3)


def test_module_in_bfloat16():
    module = TritonActivation("swish_beta", beta=1.2).to(torch.bfloat16)
    x = torch.randn(33, dtype=torch.bfloat16, requires_grad=True)
    y = module(x)
    y.sum().backward()
    assert y.dtype == x.grad.dtype == module.beta.grad.dtype == torch.bfloat16
