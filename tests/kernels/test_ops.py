"""Every kernel pair against the registry's float64 reference, PyTorch at special
values, and torch.autograd.gradcheck.

Tests iterate the registry, so a new activation is tested as soon as it has an
entry there; the first test fails until it also has a kernel pair.

Tolerances: ``actbench.kernels.verify.TOLERANCES`` (the table and its reasoning are
in that module's docstring).
"""

import math

import pytest
import torch

from actbench import activations
from actbench.kernels import activation
from actbench.kernels.ops import KERNELS
from actbench.kernels.verify import TOLERANCES, check_activation, dtype_name, sample_input

ELEMENTWISE = activations.elementwise_names()
DTYPES = (torch.float32, torch.bfloat16, torch.float16)
SIZES = (1, 127, 1025, 2**20 + 3)
# Default run: each activation in one dtype, rotating through the three.
SAMPLED = [(name, DTYPES[i % len(DTYPES)]) for i, name in enumerate(ELEMENTWISE)]


def _assert_rows_pass(rows, context):
    failed = [r for r in rows if not r["passed"]]
    assert not failed, f"{context}: {failed}"


def _check(name, x, grad=None, **params):
    grad = sample_input(x.numel(), x.dtype, x.device, seed=99, limit=1.0).reshape(x.shape) if grad is None else grad
    _assert_rows_pass(check_activation(name, x, grad, **params), f"{name} {dtype_name(x.dtype)} {tuple(x.shape)}")


def test_every_elementwise_registry_entry_has_a_kernel_pair():
    missing = sorted(set(ELEMENTWISE) - set(KERNELS))
    assert not missing, f"add a kernel pair in actbench/kernels/ops/ for: {missing}"
    assert set(KERNELS) <= set(ELEMENTWISE), "kernel pair without a registry entry"


def test_kernels_are_registered_as_the_triton_implementation():
    for name in ELEMENTWISE:
        impl = activations.get(name).implementations["triton"]
        x = torch.linspace(-3, 3, 7)
        assert torch.equal(impl(x), activation(name, x))


# --- values and gradients against the float64 reference ------------------------------
@pytest.mark.parametrize("name, dtype", SAMPLED, ids=[f"{n}-{dtype_name(d)}" for n, d in SAMPLED])
@pytest.mark.parametrize("numel", SIZES[:3])
def test_matches_reference_sampled(name, dtype, numel):
    _check(name, sample_input(numel, dtype, "cpu", seed=numel))


@pytest.mark.slow
@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_name)
@pytest.mark.parametrize("numel", SIZES)
def test_matches_reference_full(name, dtype, numel):
    _check(name, sample_input(numel, dtype, "cpu", seed=numel))


def _layouts(dtype):
    """2-D, transposed and sliced views over the same kind of values."""
    base = sample_input(40 * 36, dtype, "cpu", seed=7).reshape(40, 36)
    return {"2d": base, "transposed": base.t(), "sliced": base[3:37:2, 1::3], "3d-channels-middle": base.reshape(4, 10, 36)}


LAYOUT_SAMPLE = ["gelu", "prelu", "swish_beta", "elu_learnable"]


@pytest.mark.parametrize("name", LAYOUT_SAMPLE)
@pytest.mark.parametrize("layout", ["2d", "transposed", "sliced", "3d-channels-middle"])
def test_layouts_sampled(name, layout):
    _check(name, _layouts(torch.float32)[layout])


@pytest.mark.slow
@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_name)
@pytest.mark.parametrize("layout", ["2d", "transposed", "sliced", "3d-channels-middle"])
def test_layouts_full(name, dtype, layout):
    _check(name, _layouts(dtype)[layout])


def test_non_contiguous_input_and_grad_give_the_same_values_as_their_copies():
    x = _layouts(torch.float32)["sliced"]
    grad = torch.randn(x.shape[1], x.shape[0]).t()
    assert not x.is_contiguous() and not grad.is_contiguous()
    x1, x2 = x.requires_grad_(), x.detach().contiguous().requires_grad_()
    assert not x1.is_contiguous()
    y1, y2 = activation("mish", x1), activation("mish", x2)
    assert torch.equal(y1, y2) and y1.shape == x.shape
    assert torch.equal(torch.autograd.grad(y1, x1, grad)[0], torch.autograd.grad(y2, x2, grad.contiguous())[0])


# --- special values ----------------------------------------------------------------
def _special_values(dtype):
    finfo = torch.finfo(dtype)
    smallest_subnormal = {torch.float32: 2.0**-149, torch.bfloat16: 2.0**-133, torch.float16: 2.0**-24}[dtype]
    values = [0.0, -0.0, math.inf, -math.inf, math.nan, finfo.smallest_normal / 4, -finfo.smallest_normal / 4,
              smallest_subnormal, -smallest_subnormal, 1e4, -1e4, 30.0, -30.0, 100.0, -100.0, 3.0, -3.0, 6.0]
    return torch.tensor(values, dtype=dtype)


def _torch_reference(name, x):
    """What PyTorch returns: its builtin in x's dtype; without a builtin the entry's
    manual composition, in float64 (its IEEE behaviour at +-inf, not float16 rounding)."""
    spec = activations.get(name)
    if spec.torch_builtin is not None:
        expected = spec.torch_builtin(x, **spec.params)
    else:
        expected = spec.manual(x.double(), **spec.params).to(x.dtype)
    if name == "gelu":
        # PyTorch's vectorised CPU gelu returns NaN at +inf for float32 and bfloat16 tensors
        # longer than one element (inf otherwise, and for float16/float64); the kernel
        # returns inf, the limit.
        expected = torch.where(x == math.inf, x, expected)
    return expected


def _assert_close_with_specials(ours, expected, tol, what):
    ours, expected = ours.double(), expected.double()
    assert torch.equal(torch.isnan(ours), torch.isnan(expected)), f"{what}: NaN positions {ours} vs {expected}"
    inf = torch.isinf(expected)
    assert torch.equal(ours[inf], expected[inf]), f"{what}: infinities {ours} vs {expected}"
    finite = torch.isfinite(expected)
    bound = tol.max_abs * torch.clamp(expected[finite].abs(), min=1.0)
    err = (ours[finite] - expected[finite]).abs()
    assert (err <= bound).all(), f"{what}: {ours[finite][err > bound]} vs {expected[finite][err > bound]}"


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_name)
def test_special_values_forward_agree_with_pytorch(name, dtype):
    x = _special_values(dtype)
    # 2x the tolerance: PyTorch's result carries its own rounding error too
    tol = TOLERANCES[dtype_name(dtype)]
    tol = type(tol)(2 * tol.rel_l2, 2 * tol.max_abs)
    _assert_close_with_specials(activation(name, x), _torch_reference(name, x), tol, f"{name}({x.tolist()})")


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("dtype", DTYPES, ids=dtype_name)
def test_special_values_backward_follow_the_registry_derivative(name, dtype):
    """Backward: the derivative's limits at +-inf, NaN at NaN (PyTorch itself is not
    consistent there: relu'(NaN) = 1, elu'(NaN) is 1 or NaN depending on the tensor
    length, silu'(+-inf) = NaN)."""
    x = _special_values(dtype).requires_grad_()
    (grad,) = torch.autograd.grad(activation(name, x), x, torch.ones_like(x))
    expected = activations.get(name).df(x.detach().double()).to(dtype)
    _assert_close_with_specials(grad, expected, TOLERANCES[dtype_name(dtype)], f"{name}'({x.tolist()})")


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_large_inputs_do_not_overflow(name):
    """|x| = 1e4 and the largest finite float32: finite in, finite (or the limit) out."""
    big = torch.finfo(torch.float32).max
    x = torch.tensor([1e4, -1e4, big, -big], requires_grad=True)
    y = activation(name, x)
    (grad,) = torch.autograd.grad(y, x, torch.ones_like(y))
    assert not torch.isnan(y).any() and not torch.isnan(grad).any(), f"{name}: {y}, {grad}"


# --- gradcheck in float64 ------------------------------------------------------------
def _away_from_kinks(x):
    """gradcheck's finite differences (eps 1e-6) are wrong across a kink."""
    for kink in (0.0, 3.0, -3.0, 6.0):
        x = torch.where((x - kink).abs() < 1e-3, x + 0.01, x)
    return x


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_gradcheck_float64(name):
    """The kernels compute in float64 for float64 inputs, so gradcheck applies; it
    checks the backward kernel (and parameter gradients) against finite differences
    of the forward kernel."""
    spec = activations.get(name)
    gen = torch.Generator().manual_seed(0)
    x = _away_from_kinks(torch.rand(3, 4, generator=gen, dtype=torch.float64) * 10 - 5).requires_grad_()
    params = {}
    for p in spec.learnable:
        value = [0.1, 0.2, 0.3, 0.4] if KERNELS[name].per_channel else spec.params[p]
        params[p] = torch.tensor(value, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x, *values: activation(name, x, **dict(zip(params, values))), (x, *params.values())
    )
