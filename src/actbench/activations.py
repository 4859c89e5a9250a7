"""The activation registry: one table, name -> spec.

Everything else in actbench (kernels, benchmarks, studies, docs tables, the CLI)
iterates this table, so adding an activation is one entry here (plus its Triton
kernel pair in ``actbench.kernels``).

Each elementwise entry carries:

* ``forward(x, **params)``      the function, written in closed form with torch ops;
* ``derivative(x, **params)``   the hand-derived df/dx (not autograd), used as the
                                reference for kernels and for gradient studies;
* ``module(**params)``          an ``nn.Module`` for building models;
* ``torch_builtin``             PyTorch's own implementation, where one exists;
* ``manual``                    the function composed from primitives the way a
                                tutorial writes it (the ``manual`` benchmark provider);
* ``init``                      the recommended weight initialisation;
* ``properties``                computed numerically on first access, never typed.

Forward and derivative return the mathematical limits at +-inf (e.g. GELU(-inf) = 0),
which is not always what PyTorch returns; the tests record those differences.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

Tensor = torch.Tensor

# SELU constants to full double precision (Klambauer et al. 2017, eq. 14), the same
# values PyTorch uses.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_LAMBDA = 1.0507009873554804934193349852946
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
GELU_TANH_COEFF = 0.044715

INIT_SCHEMES = ("xavier", "he", "lecun")


class UnknownActivationError(KeyError):
    """Raised for a name that is not in the registry; the message lists valid names."""

    def __str__(self) -> str:  # KeyError would otherwise print the repr of the message
        return str(self.args[0])


@dataclass(frozen=True)
class Activation:
    name: str
    forward: Callable[..., Tensor] | None
    derivative: Callable[..., Tensor] | None
    module_factory: Callable[..., nn.Module]
    init: str
    params: dict = field(default_factory=dict)
    learnable: tuple[str, ...] = ()
    torch_builtin: Callable[..., Tensor] | None = None
    manual: Callable[..., Tensor] | None = None
    aliases: tuple[str, ...] = ()
    description: str = ""
    label: str = ""   # display name in every table, legend and page
    colour: str = ""  # one colour per activation across every figure of the site
    # Filled by actbench.kernels at import time: provider name -> callable(x, **params).
    implementations: dict = field(default_factory=dict, compare=False)

    @property
    def elementwise(self) -> bool:
        return self.forward is not None

    def module(self, **params) -> nn.Module:
        return self.module_factory(**{**self.params, **params})

    @cached_property
    def module_class(self) -> type:
        """The nn.Module class ``module()`` builds (what a model holds for this entry)."""
        return type(self.module())

    def f(self, x: Tensor, **params) -> Tensor:
        """forward with the entry's default parameters filled in (same as ``forward``)."""
        return self.forward(x, **params)

    def df(self, x: Tensor, **params) -> Tensor:
        """derivative with the entry's default parameters filled in (same as ``derivative``)."""
        return self.derivative(x, **params)

    @cached_property
    def properties(self) -> dict:
        from actbench.properties import compute_properties

        return compute_properties(self) if self.elementwise else {}


def _limit_at_inf(x: Tensor, value: Tensor, at_pos_inf, at_neg_inf) -> Tensor:
    """Replace values at +-inf by the function's limit (0*inf would give NaN)."""
    value = torch.where(x == math.inf, torch.as_tensor(at_pos_inf, dtype=value.dtype), value)
    return torch.where(x == -math.inf, torch.as_tensor(at_neg_inf, dtype=value.dtype), value)


def _normal_cdf(x: Tensor) -> Tensor:
    return 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))


def _normal_pdf(x: Tensor) -> Tensor:
    return torch.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def _softplus(x: Tensor) -> Tensor:
    # log(1 + e^x) without overflow for large x
    return torch.logaddexp(x, torch.zeros_like(x))


def _keep_nan(x: Tensor, value: Tensor) -> Tensor:
    """Comparisons are False for NaN, so piecewise formulas would hide a NaN input."""
    return torch.where(torch.isnan(x), x, value)


def _channel_param(p, x: Tensor) -> Tensor:
    """A per-channel parameter (1-D tensor, channel dim 1) broadcast against x."""
    p = torch.as_tensor(p, dtype=x.dtype, device=x.device)
    if p.ndim == 1 and p.numel() > 1:
        if x.ndim < 2 or x.shape[1] != p.numel():
            raise ValueError(
                f"per-channel parameter has {p.numel()} values but input shape is {tuple(x.shape)}; "
                "channels are dimension 1"
            )
        p = p.reshape((1, -1) + (1,) * (x.ndim - 2))
    return p


# --- closed forms -----------------------------------------------------------------
def sigmoid(x):
    return torch.sigmoid(x)


def d_sigmoid(x):
    s = torch.sigmoid(x)
    return s * (1 - s)


def tanh(x):
    return torch.tanh(x)


def d_tanh(x):
    t = torch.tanh(x)
    return 1 - t * t


def relu(x):
    return torch.clamp(x, min=0)  # clamp propagates NaN


def d_relu(x):
    return _keep_nan(x, (x > 0).to(x.dtype))


def relu6(x):
    return torch.clamp(relu(x), max=6.0)


def d_relu6(x):
    return _keep_nan(x, ((x > 0) & (x < 6)).to(x.dtype))


def leaky_relu(x, negative_slope):
    return torch.where(x > 0, x, negative_slope * x)


def d_leaky_relu(x, negative_slope):
    return _keep_nan(x, torch.where(x > 0, torch.ones_like(x), torch.full_like(x, negative_slope)))


def prelu(x, alpha):
    a = _channel_param(alpha, x)
    return torch.where(x > 0, x, a * x)


def d_prelu(x, alpha):
    a = _channel_param(alpha, x)
    return _keep_nan(x, torch.where(x > 0, torch.ones_like(x), a * torch.ones_like(x)))


def d_prelu_alpha(x, alpha):
    """Elementwise df/dalpha (sum over positions sharing an alpha for the gradient)."""
    return torch.where(x > 0, torch.zeros_like(x), x)


def elu(x, alpha):
    return torch.where(x > 0, x, alpha * torch.expm1(x.clamp(max=0)))  # clamp: the unused branch must not overflow under autograd


def d_elu(x, alpha):
    return _keep_nan(x, torch.where(x > 0, torch.ones_like(x), alpha * torch.exp(x.clamp(max=0))))


def d_elu_alpha(x, alpha):
    return torch.where(x > 0, torch.zeros_like(x), torch.expm1(x.clamp(max=0)))


def selu(x):
    return SELU_LAMBDA * elu(x, SELU_ALPHA)


def d_selu(x):
    return SELU_LAMBDA * d_elu(x, SELU_ALPHA)


def gelu(x):
    return _limit_at_inf(x, x * _normal_cdf(x), math.inf, 0.0)


def d_gelu(x):
    return _limit_at_inf(x, _normal_cdf(x) + x * _normal_pdf(x), 1.0, 0.0)


def _gelu_tanh_inner(x):
    return SQRT_2_OVER_PI * (x + GELU_TANH_COEFF * x**3)


def gelu_tanh(x):
    return _limit_at_inf(x, 0.5 * x * (1 + torch.tanh(_gelu_tanh_inner(x))), math.inf, 0.0)


def d_gelu_tanh(x):
    t = torch.tanh(_gelu_tanh_inner(x))
    d_inner = SQRT_2_OVER_PI * (1 + 3 * GELU_TANH_COEFF * x * x)
    value = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * d_inner
    return _limit_at_inf(x, value, 1.0, 0.0)


def swish_beta(x, beta):
    return _limit_at_inf(x, x * torch.sigmoid(beta * x), math.inf, 0.0)


def d_swish_beta(x, beta):
    s = torch.sigmoid(beta * x)
    return _limit_at_inf(x, s + beta * x * s * (1 - s), 1.0, 0.0)


def d_swish_beta_beta(x, beta):
    s = torch.sigmoid(beta * x)
    return _limit_at_inf(x, x * x * s * (1 - s), 0.0, 0.0)


def silu(x):
    return swish_beta(x, 1.0)


def d_silu(x):
    return d_swish_beta(x, 1.0)


def hardswish(x):
    return _limit_at_inf(x, x * torch.clamp(x + 3, 0, 6) / 6, math.inf, 0.0)


def d_hardswish(x):
    # PyTorch's convention at the kinks: x < -3 -> 0, -3 <= x <= 3 -> x/3 + 1/2, x > 3 -> 1
    mid = x / 3 + 0.5
    value = torch.where(x < -3, torch.zeros_like(x), torch.where(x <= 3, mid, torch.ones_like(x)))
    return _keep_nan(x, value)


def mish(x):
    return _limit_at_inf(x, x * torch.tanh(_softplus(x)), math.inf, 0.0)


def d_mish(x):
    t = torch.tanh(_softplus(x))
    return _limit_at_inf(x, t + x * (1 - t * t) * torch.sigmoid(x), 1.0, 0.0)


def softplus(x):
    return _softplus(x)


def d_softplus(x):
    return torch.sigmoid(x)


# --- "manual" compositions: how the formulas are usually typed in user code --------------
# These are deliberately naive (several temporaries, no fused op) and are what the
# `manual` benchmark provider times.
MANUAL = {
    "sigmoid": lambda x: 1 / (1 + torch.exp(-x)),
    "tanh": lambda x: (torch.exp(x) - torch.exp(-x)) / (torch.exp(x) + torch.exp(-x)),
    "relu": lambda x: torch.maximum(x, torch.zeros_like(x)),
    "relu6": lambda x: torch.minimum(torch.maximum(x, torch.zeros_like(x)), torch.full_like(x, 6.0)),
    "leaky_relu": lambda x, negative_slope: torch.where(x > 0, x, negative_slope * x),
    "prelu": lambda x, alpha: torch.where(x > 0, x, _channel_param(alpha, x) * x),
    "elu": lambda x, alpha: torch.where(x > 0, x, alpha * (torch.exp(x) - 1)),
    "selu": lambda x: SELU_LAMBDA * torch.where(x > 0, x, SELU_ALPHA * (torch.exp(x) - 1)),
    "gelu": lambda x: x * 0.5 * (1 + torch.erf(x / math.sqrt(2.0))),
    "gelu_tanh": lambda x: 0.5 * x * (1 + torch.tanh(SQRT_2_OVER_PI * (x + GELU_TANH_COEFF * torch.pow(x, 3)))),
    "silu": lambda x: x * torch.sigmoid(x),
    "swish_beta": lambda x, beta: x * torch.sigmoid(beta * x),
    "hardswish": lambda x: x * torch.clamp(x + 3, 0, 6) / 6,
    "mish": lambda x: x * torch.tanh(torch.log1p(torch.exp(x))),
    "softplus": lambda x: torch.log1p(torch.exp(x)),
}


# --- modules that torch lacks ------------------------------------------------------
class SwishBeta(nn.Module):
    """x * sigmoid(beta * x) with a learnable scalar beta."""

    def __init__(self, beta: float = 1.0):
        super().__init__()
        self.beta = nn.Parameter(torch.tensor(float(beta)))

    def forward(self, x):
        return x * torch.sigmoid(self.beta * x)


class Maxout(nn.Module):
    """Maxout unit: k affine pieces per output feature, keep the largest."""

    def __init__(self, in_features: int = 64, out_features: int = 64, pieces: int = 2):
        super().__init__()
        if pieces < 1:
            raise ValueError(f"maxout pieces must be >= 1, got {pieces}")
        self.out_features, self.pieces = out_features, pieces
        self.linear = nn.Linear(in_features, out_features * pieces)

    def forward(self, x):
        z = self.linear(x).unflatten(-1, (self.out_features, self.pieces))
        return z.max(dim=-1).values


def _prelu_module(alpha=0.25, num_parameters: int = 1):
    return nn.PReLU(num_parameters=num_parameters, init=float(alpha))


# --- the table ---------------------------------------------------------------------
_ENTRIES = [
    Activation("sigmoid", sigmoid, d_sigmoid, nn.Sigmoid, "xavier",
               torch_builtin=torch.sigmoid, description="logistic function 1/(1+e^-x)",
               label="Sigmoid", colour="#7f7f7f"),
    Activation("tanh", tanh, d_tanh, nn.Tanh, "xavier",
               torch_builtin=torch.tanh, description="hyperbolic tangent",
               label="Tanh", colour="#8c564b"),
    Activation("relu", relu, d_relu, nn.ReLU, "he",
               torch_builtin=F.relu, description="max(0, x)",
               label="ReLU", colour="#1f77b4"),
    Activation("relu6", relu6, d_relu6, nn.ReLU6, "he",
               torch_builtin=F.relu6, description="min(max(0, x), 6)",
               label="ReLU6", colour="#aec7e8"),
    Activation("leaky_relu", leaky_relu, d_leaky_relu,
               lambda negative_slope: nn.LeakyReLU(negative_slope), "he",
               params={"negative_slope": 0.01},
               torch_builtin=lambda x, negative_slope: F.leaky_relu(x, negative_slope),
               description="x for x > 0, slope * x otherwise",
               label="LeakyReLU", colour="#17becf"),
    Activation("prelu", prelu, d_prelu, _prelu_module, "he",
               params={"alpha": 0.25}, learnable=("alpha",),
               torch_builtin=lambda x, alpha: F.prelu(x, torch.as_tensor(alpha, dtype=x.dtype).reshape(-1)),
               description="leaky ReLU whose negative slope alpha is learned (per channel or shared)",
               label="PReLU", colour="#9edae5"),
    Activation("elu", elu, d_elu, lambda alpha: nn.ELU(alpha), "he",
               params={"alpha": 1.0},
               torch_builtin=lambda x, alpha: F.elu(x, alpha),
               description="x for x > 0, alpha (e^x - 1) otherwise",
               label="ELU", colour="#2ca02c"),
    Activation("selu", selu, d_selu, nn.SELU, "lecun",
               torch_builtin=F.selu, description="scaled ELU with the self-normalising constants",
               label="SELU", colour="#98df8a"),
    Activation("gelu", gelu, d_gelu, nn.GELU, "he",
               torch_builtin=F.gelu, description="x * Phi(x), exact (erf) form",
               label="GELU", colour="#d62728"),
    Activation("gelu_tanh", gelu_tanh, d_gelu_tanh, lambda: nn.GELU(approximate="tanh"), "he",
               torch_builtin=lambda x: F.gelu(x, approximate="tanh"),
               description="GELU with the tanh approximation",
               label="GELU (tanh)", colour="#ff9896"),
    Activation("silu", silu, d_silu, nn.SiLU, "he", aliases=("swish",),
               torch_builtin=F.silu, description="x * sigmoid(x) (Swish with beta = 1)",
               label="SiLU", colour="#ff7f0e"),
    Activation("swish_beta", swish_beta, d_swish_beta, SwishBeta, "he",
               params={"beta": 1.0}, learnable=("beta",),
               description="x * sigmoid(beta x) with learnable beta",
               label="Swish-β", colour="#ffbb78"),
    Activation("hardswish", hardswish, d_hardswish, nn.Hardswish, "he",
               torch_builtin=F.hardswish, description="x * relu6(x + 3) / 6, piecewise Swish",
               label="Hardswish", colour="#bcbd22"),
    Activation("mish", mish, d_mish, nn.Mish, "he",
               torch_builtin=F.mish, description="x * tanh(softplus(x))",
               label="Mish", colour="#9467bd"),
    Activation("softplus", softplus, d_softplus, nn.Softplus, "he",
               torch_builtin=F.softplus, description="log(1 + e^x)",
               label="Softplus", colour="#c5b0d5"),
    # module-only entries: not elementwise, used as output layers / adaptive units
    Activation("softmax", None, None, lambda dim=-1: nn.Softmax(dim=dim), "xavier",
               params={"dim": -1}, description="normalised exponentials over a dimension (output layer)",
               label="Softmax", colour="#393b79"),
    Activation("maxout", None, None, Maxout, "he",
               params={"in_features": 64, "out_features": 64, "pieces": 2},
               description="max over k learned affine pieces (adaptive unit)",
               label="Maxout", colour="#637939"),
]

PARAM_DERIVATIVES = {
    ("prelu", "alpha"): d_prelu_alpha,
    ("swish_beta", "beta"): d_swish_beta_beta,
}

REGISTRY: dict[str, Activation] = {}
ALIASES: dict[str, str] = {}


def _with_defaults(fn: Callable[..., Tensor], defaults: dict) -> Callable[..., Tensor]:
    """fn with the entry's default parameters filled in: get("elu").forward(x) works."""
    def call(x: Tensor, **params) -> Tensor:
        return fn(x, **{**defaults, **params})

    call.__name__, call.__doc__ = getattr(fn, "__name__", "forward"), fn.__doc__
    return call


def register(spec: Activation) -> Activation:
    """Add an entry (used for the table above and by extensions)."""
    if spec.name in REGISTRY or spec.name in ALIASES:
        raise ValueError(f"activation {spec.name!r} is already registered")
    if spec.init not in INIT_SCHEMES:
        raise ValueError(f"init {spec.init!r} for {spec.name!r}: allowed {', '.join(INIT_SCHEMES)}")
    if not spec.label or not re.fullmatch(r"#[0-9a-f]{6}", spec.colour or ""):
        raise ValueError(f"activation {spec.name!r} needs a label and a colour '#rrggbb' "
                         f"(got label={spec.label!r}, colour={spec.colour!r})")
    taken = {s.colour: n for n, s in REGISTRY.items()}
    if spec.colour in taken:
        raise ValueError(f"colour {spec.colour} of {spec.name!r} is already {taken[spec.colour]!r}'s; "
                         "every activation keeps one colour of its own across the site")
    if spec.forward is not None and spec.manual is None and spec.name in MANUAL:
        object.__setattr__(spec, "manual", MANUAL[spec.name])
    if spec.forward is not None and spec.params:
        object.__setattr__(spec, "forward", _with_defaults(spec.forward, spec.params))
        object.__setattr__(spec, "derivative", _with_defaults(spec.derivative, spec.params))
    REGISTRY[spec.name] = spec
    for alias in spec.aliases:
        ALIASES[alias] = spec.name
    return spec


for _spec in _ENTRIES:
    register(_spec)


def names() -> list[str]:
    """All canonical names: elementwise entries first (table order), then module-only ones."""
    return [n for n, s in REGISTRY.items() if s.elementwise] + [n for n, s in REGISTRY.items() if not s.elementwise]


def elementwise_names() -> list[str]:
    return [n for n, s in REGISTRY.items() if s.elementwise]


def canonical(name: str) -> str:
    if name in REGISTRY:
        return name
    if name in ALIASES:
        return ALIASES[name]
    valid = ", ".join(names())
    alias_text = ", ".join(f"{a} -> {t}" for a, t in ALIASES.items())
    raise UnknownActivationError(
        f"unknown activation {name!r}; valid names: {valid} (aliases: {alias_text})"
    )


def get(name: str) -> Activation:
    return REGISTRY[canonical(name)]


def label(name: str) -> str:
    """The display name of a registry entry; other names (a model variant, "identity")
    are returned as they are."""
    try:
        return get(name).label
    except UnknownActivationError:
        return str(name)


def colour(name: str, default: str = "#000000") -> str:
    """The entry's colour, the same in every figure; ``default`` for names outside the registry."""
    try:
        return get(name).colour
    except UnknownActivationError:
        return default


def palette(names) -> dict[str, str]:
    """name -> colour for a figure's hue order (registry colours, grey for others)."""
    return {n: colour(n, "#555555") for n in names}


def param_derivative(name: str, param: str, x: Tensor, **params) -> Tensor:
    """Elementwise d f / d param for a learnable parameter."""
    spec = get(name)
    try:
        fn = PARAM_DERIVATIVES[(spec.name, param)]
    except KeyError:
        raise ValueError(
            f"{spec.name!r} has no learnable parameter {param!r}; learnable: {list(spec.learnable) or 'none'}"
        ) from None
    return fn(x, **{**spec.params, **params})


# --- custom activations torch lacks (worked example: docs/custom-activation.md) -------
# Each is one register() call; its Triton kernel pair is in actbench/kernels/ops/custom.py.
def squared_relu(x):
    return relu(x) ** 2


def d_squared_relu(x):
    return 2 * relu(x)  # relu keeps NaN


class SquaredReLU(nn.Module):
    """relu(x)^2 (So et al. 2021, "Primer")."""

    def forward(self, x):
        return squared_relu(x)


class LearnableELU(nn.Module):
    """ELU whose alpha is a learnable scalar."""

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = nn.Parameter(torch.tensor(float(alpha)))

    def forward(self, x):
        return elu(x, self.alpha)


register(Activation("squared_relu", squared_relu, d_squared_relu, SquaredReLU, "he",
                    manual=lambda x: torch.relu(x) ** 2,
                    description="relu(x)^2, the Primer activation",
               label="Squared ReLU", colour="#e377c2"))
register(Activation("elu_learnable", elu, d_elu, LearnableELU, "he",
                    params={"alpha": 1.0}, learnable=("alpha",),
                    manual=lambda x, alpha: torch.where(x <= 0, alpha * (x.exp() - 1), x),
                    description="ELU with a learnable alpha",
               label="ELU (learnable α)", colour="#c49c94"))
PARAM_DERIVATIVES[("elu_learnable", "alpha")] = d_elu_alpha
# --- end of custom activations ---------------------------------------------------------
