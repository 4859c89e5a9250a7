"""Small, readable model builders and weight-initialisation helpers.

Every builder takes activation *names* from the registry (``actbench.activations``),
so a study can sweep activations without knowing their classes. Each hidden layer gets
its own activation module (a shared PReLU instance would tie its slope across layers).

Initialisation schemes (``INITS``):

* ``xavier``  Var(W) = 2 / (fan_in + fan_out)   (Glorot & Bengio, for tanh/sigmoid)
* ``he``      Var(W) = 2 / fan_in               (He et al., for the ReLU family)
* ``lecun``   Var(W) = 1 / fan_in               (LeCun; SELU's self-normalising init)
* ``torch_default``  PyTorch's own ``reset_parameters`` (kaiming_uniform with a = sqrt(5),
  i.e. Var(W) = 1 / (3 fan_in))
* ``recommended``    whatever the registry recommends for the layer's activation
  (``activations.get(name).init``)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import contextmanager

import torch
import torch.nn as nn

from actbench import activations

INITS = ("xavier", "he", "lecun", "torch_default")
INIT_CHOICES = INITS + ("recommended",)
DISTRIBUTIONS = ("normal", "uniform")
BIAS_CHOICES = ("keep", "zero")
WEIGHT_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def activation_module(name: str, **params) -> nn.Module:
    """A fresh module for a registry name (aliases accepted); params override defaults."""
    spec = activations.get(name)
    return spec.module(**params)


def recommended_init(name: str) -> str:
    """The registry's recommended weight initialisation for an activation."""
    return activations.get(name).init


def tutorial_exp2_init(name: str) -> str:
    """The initialisation the tutorial's Experiment 2 uses: He (kaiming_normal_, 'relu')
    for ReLU and LeakyReLU, Xavier normal for everything else."""
    return "he" if activations.canonical(name) in ("relu", "leaky_relu") else "xavier"


def expected_weight_variance(scheme: str, fan_in: int, fan_out: int) -> float:
    """Var(W) a scheme aims for (same for its normal and uniform forms)."""
    if scheme == "xavier":
        return 2.0 / (fan_in + fan_out)
    if scheme == "he":
        return 2.0 / fan_in
    if scheme == "lecun":
        return 1.0 / fan_in
    if scheme == "torch_default":
        return 1.0 / (3.0 * fan_in)
    raise ValueError(f"unknown init scheme {scheme!r}; allowed: {', '.join(INITS)}")


def fans(weight: torch.Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a Linear or Conv weight, as torch.nn.init computes them."""
    return nn.init._calculate_fan_in_and_fan_out(weight)


def init_layer(layer: nn.Module, scheme: str, distribution: str = "normal", bias: str = "keep") -> None:
    """Re-initialise one Linear/Conv layer's weight in place (bias: keep or zero)."""
    if scheme not in INITS:
        raise ValueError(f"unknown init scheme {scheme!r}; allowed: {', '.join(INITS)}")
    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"unknown distribution {distribution!r}; allowed: {', '.join(DISTRIBUTIONS)}")
    if bias not in BIAS_CHOICES:
        raise ValueError(f"bias must be one of {BIAS_CHOICES}, got {bias!r}")
    if scheme == "torch_default":
        layer.reset_parameters()
    else:
        fan_in, fan_out = fans(layer.weight)
        std = math.sqrt(expected_weight_variance(scheme, fan_in, fan_out))
        with torch.no_grad():
            if distribution == "normal":
                layer.weight.normal_(0.0, std)
            else:  # uniform on [-a, a] has variance a^2 / 3
                bound = math.sqrt(3.0) * std
                layer.weight.uniform_(-bound, bound)
    if bias == "zero" and layer.bias is not None:
        with torch.no_grad():
            layer.bias.zero_()


def init_weights(model: nn.Module, scheme: str | Sequence[str], distribution: str = "normal",
                 bias: str = "keep") -> nn.Module:
    """Initialise every Linear/Conv layer of ``model`` in place and return it.

    ``scheme`` is one name for all layers or one name per weight layer (in module order).
    Biases are left as PyTorch initialised them unless ``bias='zero'`` (the tutorial's
    Experiment 2 re-initialises weights only).
    """
    layers = [m for m in model.modules() if isinstance(m, WEIGHT_LAYERS)]
    schemes = [scheme] * len(layers) if isinstance(scheme, str) else list(scheme)
    if len(schemes) != len(layers):
        raise ValueError(f"got {len(schemes)} init schemes for {len(layers)} weight layers")
    for layer, s in zip(layers, schemes):
        init_layer(layer, s, distribution, bias)
    return model


def _per_layer(value, count: int, what: str) -> list:
    if isinstance(value, str) or not isinstance(value, Sequence):
        return [value] * count
    if len(value) != count:
        raise ValueError(f"got {len(value)} {what} for {count} hidden layers")
    return list(value)


def _resolve_init(init: str, act_names: list[str | None], n_layers: int) -> list[str]:
    """One scheme per weight layer; 'recommended' uses the activation after each layer
    (the output layer follows the last hidden layer's choice)."""
    if init not in INIT_CHOICES:
        raise ValueError(f"unknown init {init!r}; allowed: {', '.join(INIT_CHOICES)}")
    if init != "recommended":
        return [init] * n_layers
    hidden = [recommended_init(a) if a else "xavier" for a in act_names]
    return hidden + [hidden[-1] if hidden else "xavier"] * (n_layers - len(hidden))


@contextmanager
def _seeded(seed: int | None):
    """Build under a fixed seed without disturbing the caller's RNG state."""
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _apply_init(model: nn.Module, init: str, schemes: list[str], distribution: str, bias: str) -> None:
    """Initialise a freshly built model's layers; PyTorch's default init needs only the bias."""
    if init != "torch_default":
        init_weights(model, schemes, distribution, bias)
    elif bias == "zero":
        init_weights(model, "torch_default", bias="zero")


def mlp(widths: Sequence[int], activation: str | Sequence[str | None] | None = "relu",
        init: str = "torch_default", batchnorm: bool = False, output_activation: str | None = None,
        distribution: str = "normal", bias: str = "keep", seed: int | None = None,
        activation_params: dict | None = None) -> nn.Sequential:
    """A multilayer perceptron: Linear [-> BatchNorm1d] -> activation per hidden layer.

    ``widths`` = [in, hidden..., out]; e.g. the tutorial's Experiment 1 is
    ``mlp([784, 256, 128, 10], "relu")``. ``activation`` is one registry name, a list
    with one name per hidden layer, or None (no activation: a purely linear stack).
    ``output_activation`` appends an activation after the last layer (e.g. "sigmoid").
    """
    widths = list(widths)
    if len(widths) < 2 or any(int(w) <= 0 for w in widths):
        raise ValueError(f"widths must be at least [in, out] positive integers, got {widths}")
    n_hidden = len(widths) - 2
    acts = _per_layer(activation, n_hidden, "activations")
    params = activation_params or {}
    schemes = _resolve_init(init, acts, len(widths) - 1)
    with _seeded(seed):
        layers: list[nn.Module] = []
        for i in range(n_hidden):
            layers.append(nn.Linear(widths[i], widths[i + 1]))
            if batchnorm:
                layers.append(nn.BatchNorm1d(widths[i + 1]))
            if acts[i] is not None:
                layers.append(activation_module(acts[i], **params))
        layers.append(nn.Linear(widths[-2], widths[-1]))
        if output_activation is not None:
            layers.append(activation_module(output_activation))
        model = nn.Sequential(*layers)
        _apply_init(model, init, schemes, distribution, bias)
    return model


def cnn(activation: str | Sequence[str] = "relu", channels: Sequence[int] = (16, 32),
        num_classes: int = 10, in_channels: int = 1, image_size: int = 28, kernel_size: int = 3,
        init: str = "torch_default", batchnorm: bool = False, flat_input: bool = True,
        distribution: str = "normal", bias: str = "keep", seed: int | None = None) -> nn.Sequential:
    """A small CNN: per block Conv(k, padding same) [-> BatchNorm2d] -> activation -> MaxPool(2),
    then global average pooling and a Linear classifier.

    ``activation`` may list one name per conv block (e.g. ReLU early, GELU late).
    With ``flat_input`` the model accepts MNIST rows of 784 values and reshapes them.
    Global pooling keeps the classifier's input size fixed whatever the image size.
    """
    channels = list(channels)
    if not channels or any(int(c) <= 0 for c in channels):
        raise ValueError(f"channels must be a non-empty list of positive integers, got {channels}")
    acts = _per_layer(activation, len(channels), "activations")
    schemes = _resolve_init(init, acts, len(channels) + 1)
    with _seeded(seed):
        layers: list[nn.Module] = []
        if flat_input:
            layers.append(nn.Unflatten(1, (in_channels, image_size, image_size)))
        prev = in_channels
        for c, a in zip(channels, acts):
            layers.append(nn.Conv2d(prev, c, kernel_size, padding=kernel_size // 2))
            if batchnorm:
                layers.append(nn.BatchNorm2d(c))
            layers.append(activation_module(a))
            layers.append(nn.MaxPool2d(2))
            prev = c
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(prev, num_classes)]
        model = nn.Sequential(*layers)
        _apply_init(model, init, schemes, distribution, bias)
    return model


def deep_mlp(activation: str, depth: int, width: int, in_features: int = 10, out_features: int = 1,
             init: str = "torch_default", batchnorm: bool = False, seed: int | None = None,
             bias: str = "keep", distribution: str = "normal") -> nn.Sequential:
    """The tutorial's Experiment 2 network: ``depth`` Linear layers in total
    (in -> width, depth-2 times width -> width, width -> out), an activation after all
    but the last."""
    if depth < 2:
        raise ValueError(f"depth must be >= 2 (input and output layer), got {depth}")
    widths = [in_features] + [width] * (depth - 1) + [out_features]
    return mlp(widths, activation, init=init, batchnorm=batchnorm, seed=seed, bias=bias,
               distribution=distribution)


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, module) of every Linear/Conv layer in module order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, WEIGHT_LAYERS)]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
