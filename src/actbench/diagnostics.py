"""Diagnostics for activation problems: dead units, gradient flow, init and output mismatches.

Library (used by the studies) and command line (``python -m actbench diagnose MODULE:FACTORY``).

Two meanings of "dead" are measured for every hidden unit (see docs/diagnostics.md):

* **never positive** – the unit's output is never > 0 on the samples seen. This is the
  tutorial's test. For ReLU it is exactly "no gradient ever flows", but for activations
  with negative outputs (LeakyReLU, ELU, GELU, tanh ...) a never-positive unit can still
  pass gradient, and a sigmoid unit is never "never positive".
* **gradient-dead** – |f'(z)| < ``threshold`` (default 1e-3) for *every* sample: no
  gradient reaches the unit's incoming weights, whatever the loss. For ReLU this is the
  same as never positive (f' = 0 for z <= 0); it also catches saturated sigmoid/tanh units
  and leaves LeakyReLU (f' >= slope) alive by construction.

A "unit" is one feature of a Linear layer's output or one channel of a conv feature map
(reduced over batch and spatial positions).

What is watched: activation *modules* whose class is a registry entry's module (custom entries
such as ``squared_relu`` included) or one of PyTorch's own elementwise activations, and
activation *functions* called in forward (``F.relu``, ``torch.tanh``, ``x.sigmoid()`` ...),
seen through a ``TorchFunctionMode``. What cannot be inspected is listed, and a check that
could not inspect everything says SKIP, never PASS.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import importlib.util
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch
import torch.nn as nn
from torch.overrides import TorchFunctionMode

from actbench import activations
from actbench.cliutil import positive_int
from actbench.models import INITS, WEIGHT_LAYERS, expected_weight_variance, fans
from actbench.train import Callback

DEFAULT_THRESHOLD = 1e-3   # |f'(z)| below this for every sample -> gradient-dead
NEAR_ZERO = 1e-3           # |a| below this counts as near zero (sparsity)
STATUSES = ("pass", "warn", "fail", "skip")
# The tutorial's Experiment 1 only hooks these module types; for all others it prints 0.0.
TUTORIAL_HOOKED = ("relu", "leaky_relu", "prelu")

# PyTorch's elementwise activations that have no registry entry. They are watched for dead
# units and sparsity (f'(z) comes from autograd) but have no recommended init to compare with.
TORCH_ONLY_ACTIVATIONS = {
    nn.CELU: "celu", nn.Hardtanh: "hardtanh", nn.Hardsigmoid: "hardsigmoid", nn.LogSigmoid: "log_sigmoid",
    nn.Softsign: "softsign", nn.Tanhshrink: "tanhshrink", nn.Threshold: "threshold", nn.RReLU: "rrelu",
    nn.Hardshrink: "hardshrink", nn.Softshrink: "softshrink",
}
# Output heads that normalise over a dimension: not elementwise (no dead-unit test), but the
# output/loss check must recognise them.
OUTPUT_HEADS = {nn.Softmax: "softmax", nn.LogSoftmax: "log_softmax"}
# Leaf modules from these torch.nn files reshape, normalise, pool, pad, embed or drop out;
# none of them hides an activation, so they are not reported as unseen.
_STRUCTURAL_FILES = frozenset({"linear", "conv", "batchnorm", "normalization", "instancenorm", "dropout",
                               "pooling", "flatten", "padding", "sparse", "pixelshuffle", "upsampling",
                               "channelshuffle", "distance", "fold", "container"})


@functools.lru_cache(maxsize=8)
def _module_classes(names: tuple[str, ...]) -> dict[type, list[tuple[str, str]]]:
    """class -> [(registry name, settings of the entry's default module)] for the given names."""
    table: dict[type, list[tuple[str, str]]] = {}
    with torch.random.fork_rng(devices=[]):  # building a module (maxout's Linear) must not move the caller's RNG
        for name in names:
            module = activations.get(name).module()
            table.setdefault(type(module), []).append((name, module.extra_repr()))
    return table


def activation_name(module: nn.Module) -> str | None:
    """What an activation module is: its registry name (custom entries included), else PyTorch's
    own name for an activation the registry lacks ('celu', 'softmax'); None for other modules.

    Derived from the registry by building each entry's module; entries sharing a class
    (gelu and gelu_tanh are both nn.GELU) are told apart by the module's settings."""
    table = _module_classes(tuple(activations.names()))  # the key follows registrations made later
    for cls in type(module).__mro__:  # a subclass of an activation is that activation
        if cls in table:
            entries = table[cls]
            return next((name for name, settings in entries if settings == module.extra_repr()), entries[0][0])
        if cls in TORCH_ONLY_ACTIVATIONS or cls in OUTPUT_HEADS:
            return TORCH_ONLY_ACTIVATIONS.get(cls) or OUTPUT_HEADS[cls]
    return None


def elementwise_activation_names() -> frozenset[str]:
    """Activations measured per unit: the registry's elementwise entries and PyTorch's own."""
    return frozenset(activations.elementwise_names()) | frozenset(TORCH_ONLY_ACTIVATIONS.values())


def is_activation(module: nn.Module) -> bool:
    """True for an elementwise activation module (the monitor measures its units)."""
    return activation_name(module) in elementwise_activation_names()


def _function_name(func) -> str:
    """torch.relu, F.relu, Tensor.relu and the in-place relu_ are all 'relu'; F.threshold is
    '_threshold' to the function mode. Dunder methods (__mul__) keep their name."""
    name = getattr(func, "__name__", "")
    return name if name.startswith("__") else name.strip("_")


def _argument(args: tuple, kwargs: dict, position: int, keyword: str, default=None):
    return args[position] if len(args) > position else kwargs.get(keyword, default)


def _with_input(args: tuple, kwargs: dict, value) -> tuple[tuple, dict]:
    """The same call with its input tensor replaced (positional or input=)."""
    return ((value, *args[1:]), kwargs) if args else ((), {**kwargs, "input": value})


def _units_last(t: torch.Tensor, unit_dim: int) -> torch.Tensor:
    """[..., units] view: move the unit axis last and flatten everything else."""
    if t.ndim <= 1:
        return t.reshape(-1, 1)
    return t.movedim(unit_dim, -1).reshape(-1, t.shape[unit_dim])


def _where(name: str, module: nn.Module) -> str:
    return f"'{name or '<model>'}' ({type(module).__name__})"


def _is_structural(module: nn.Module) -> bool:
    return any(cls.__module__.startswith("torch.nn.modules.") and cls.__module__.rsplit(".", 1)[-1] in _STRUCTURAL_FILES
               for cls in type(module).__mro__)


# ───────────────────────────── dead units and sparsity ─────────────────────────────
@dataclass
class LayerStats:
    """Running per-unit statistics of one activation layer (one call site)."""

    name: str
    activation: str
    units: int
    samples: int = 0
    elements: int = 0
    exact_zero: int = 0
    near_zero: int = 0
    ever_positive: torch.Tensor = None
    positive_count: torch.Tensor = None
    max_abs_derivative: torch.Tensor = None

    def __post_init__(self):
        self.ever_positive = torch.zeros(self.units, dtype=torch.bool)
        self.positive_count = torch.zeros(self.units, dtype=torch.float64)
        self.max_abs_derivative = torch.zeros(self.units, dtype=torch.float64)

    def dead_never_positive(self) -> torch.Tensor:
        return ~self.ever_positive

    def dead_gradient(self, threshold: float = DEFAULT_THRESHOLD) -> torch.Tensor:
        return self.max_abs_derivative < threshold


@dataclass
class Call:
    """One thing a forward pass called, in call order (what the init and output checks read)."""

    name: str
    kind: str                      # weight, activation, head, layer (other known leaf), unknown
    activation: str | None = None  # for activation and head calls
    module: nn.Module | None = None


# Module roles whose own torch calls are part of them, not activations of their own.
_RECOGNISED = ("activation", "head", "opaque")


class _ActivationFunctions(TorchFunctionMode):
    """Hands every torch function called during the model's forward to the monitor."""

    def __init__(self, monitor: "DeadUnitMonitor"):
        super().__init__()
        self.monitor = monitor

    def __torch_function__(self, func, types, args=(), kwargs=None):
        return self.monitor._function_call(func, args, kwargs or {})


class DeadUnitMonitor:
    """Watch every activation of ``model`` while it runs: activation modules through hooks, and
    activation functions called in forward (``F.relu``, ``torch.tanh``, ``x.sigmoid()`` ...)
    through a ``TorchFunctionMode`` that is active only during the model's forward.

    Use as a context manager; the hooks are removed on exit (also on error)::

        with DeadUnitMonitor(model) as monitor:
            for xb in batches:
                model(xb)
        monitor.frame()          # one row per activation layer
        monitor.dead_fraction()  # gradient-dead fraction over all hidden units

    It works during training too (hooks see detached tensors and compute f'(z) with a
    separate small autograd call that does not touch the model's graph). A module used
    at several places in ``forward`` is tracked per call position ("name#1", ...); a
    function call is named after the module whose forward made it ("block.relu()", or
    "relu()" in the model's own forward) and numbered the same way.
    ``unit_dim`` is the feature axis (1 for [N, C] and [N, C, H, W]; use -1 for [N, T, C]).
    ``modules`` restricts the monitor to those activation modules (functions are then not watched).

    What it cannot inspect goes to ``unseen`` (where -> why): a TorchScript module, a registry
    entry that is not elementwise (maxout), and a leaf module that is neither a known layer nor
    an activation and inside which no activation function ran (a C++ module such as LSTM, an
    activation the registry lacks). ``calls`` lists the last forward pass's layers and activations.
    """

    def __init__(self, model: nn.Module, threshold: float = DEFAULT_THRESHOLD, near_zero: float = NEAR_ZERO,
                 derivative: bool = True, unit_dim: int = 1, modules: list[str] | None = None):
        self.model = model
        self.threshold = threshold
        self.near_zero = near_zero
        self.derivative = derivative
        self.unit_dim = unit_dim
        self.stats: dict[str, LayerStats] = {}
        self.unseen: dict[str, str] = {}
        self.calls: list[Call] = []
        # Set to a set() to collect the autograd nodes of activation outputs: diagnose tells a
        # recognised activation's own autograd.Function from a hidden one with them.
        self.activation_nodes: set | None = None
        self._elementwise = elementwise_activation_names()
        self._function_names = self._elementwise | frozenset(OUTPUT_HEADS.values())
        self._roles = self._classify(model)
        found = [name for name, _, role, _ in self._roles if role == "activation"]
        if modules is not None:
            unknown = sorted(set(modules) - set(found))
            if unknown:
                raise ValueError(f"no activation modules named {unknown}; found: {found}")
        self._watched = set(found if modules is None else modules)
        self.functional = modules is None
        self._handles: list = []
        self._mode: _ActivationFunctions | None = None
        self._calls: dict[str, int] = {}
        self._saved_input: dict[int, torch.Tensor] = {}
        self._stack: list[str] = []          # names of the modules whose forward is running
        self._inside_recognised = 0          # > 0 while a recognised activation module runs
        self._ran_activation: set[str] = set()  # modules inside which an activation function ran

    def _classify(self, model: nn.Module) -> list[tuple[str, nn.Module, str, str | None]]:
        """(name, module, role, activation name) of every module that gets hooks."""
        roles, script_prefixes = [], []
        for name, module in model.named_modules():
            if any(name.startswith(prefix) for prefix in script_prefixes):
                continue
            if isinstance(module, torch.jit.ScriptModule):  # hooks cannot be registered on it
                self.unseen[_where(name, module)] = ("TorchScript: it runs in the TorchScript interpreter, "
                                                     "where hooks and function modes cannot see")
                script_prefixes.append(f"{name}." if name else "")
                continue
            act = activation_name(module)
            if act in self._elementwise:
                role = "activation"
            elif act in OUTPUT_HEADS.values():
                role = "head"
            elif act is not None:
                role = "opaque"  # a registry entry that is not elementwise, e.g. maxout
            elif isinstance(module, WEIGHT_LAYERS):
                role = "weight"
            elif next(module.children(), None) is not None:
                role = "container"
            else:
                role = "layer" if _is_structural(module) else "unknown"
            roles.append((name, module, role, act))
        return roles

    # -- hook management
    @property
    def attached(self) -> bool:
        return bool(self._handles)

    def attach(self) -> "DeadUnitMonitor":
        if self.attached or not self._roles:  # no roles: a TorchScript model, nothing can be hooked
            return self
        self._handles.append(self.model.register_forward_pre_hook(self._start_pass))
        # always_call: the function mode is left even when forward raises
        self._handles.append(self.model.register_forward_hook(lambda *_: self._leave_mode(), always_call=True))
        for name, module, role, act in self._roles:
            self._handles.append(module.register_forward_pre_hook(self._enter_hook(name, role)))
            self._handles.append(module.register_forward_hook(self._exit_hook(name, role, act)))
        return self

    def detach(self) -> None:
        self._leave_mode()
        for h in self._handles:
            h.remove()
        self._handles.clear()
        self._saved_input.clear()

    def __enter__(self) -> "DeadUnitMonitor":
        return self.attach()

    def __exit__(self, *exc) -> None:
        self.detach()

    def reset(self) -> None:
        """Forget the statistics (what is unseen is a fact about the model and stays)."""
        self.stats.clear()

    def _start_pass(self, module, inputs):
        self._calls.clear()
        self.calls = []
        self._stack.clear()
        self._inside_recognised = 0
        self._ran_activation.clear()
        if self.functional and self._mode is None:
            self._mode = _ActivationFunctions(self)
            self._mode.__enter__()

    def _leave_mode(self) -> None:
        if self._mode is not None:
            self._mode.__exit__(None, None, None)
            self._mode = None

    def _call_key(self, name: str) -> str:
        call = self._calls.get(name, 0)
        self._calls[name] = call + 1
        return name if call == 0 else f"{name}#{call}"

    def _measures(self, role: str, name: str) -> bool:
        """A watched activation module, unless it runs inside another recognised one (part of it)."""
        return role == "activation" and name in self._watched and self._inside_recognised == 1

    def _enter_hook(self, name: str, role: str):
        def hook(module, inputs):
            self._stack.append(name)
            if role in _RECOGNISED:
                self._inside_recognised += 1
            if self._measures(role, name):
                z = inputs[0].detach()
                # An in-place activation overwrites its input; keep a copy to recompute f'(z).
                self._saved_input[id(module)] = z.clone() if getattr(module, "inplace", False) else z
        return hook

    def _exit_hook(self, name: str, role: str, act: str | None):
        def hook(module, inputs, output):
            try:
                if self._measures(role, name):
                    z = self._saved_input.pop(id(module), inputs[0].detach())
                    self._record(self._call_key(name), act, z, output, module.forward)
                elif role == "head":
                    self.calls.append(Call(name, "head", act))
                elif role == "weight":
                    self.calls.append(Call(name, "weight", module=module))
                elif role == "layer":
                    self.calls.append(Call(name, "layer"))
                elif role == "opaque":
                    self.unseen[_where(name, module)] = f"{act} is not elementwise: no per-unit test applies"
                    self.calls.append(Call(name, "unknown", act))
                elif role == "unknown" and name not in self._ran_activation:
                    self.unseen[_where(name, module)] = ("not a layer or activation diagnose recognises, and no "
                                                         "activation function ran inside it")
                    self.calls.append(Call(name, "unknown"))
            finally:  # after _record: computing f'(z) calls the activation again, which must not count
                if role in _RECOGNISED:
                    self._inside_recognised -= 1
                if self._stack:
                    self._stack.pop()
        return hook

    def _function_call(self, func, args: tuple, kwargs: dict):
        """Run one torch call made during forward; record it when it is an activation function."""
        function = _function_name(func)
        name = "gelu_tanh" if function == "gelu" and _argument(args, kwargs, 1, "approximate") == "tanh" else function
        z = _argument(args, kwargs, 0, "input")
        if (self._inside_recognised or name not in self._function_names
                or not (isinstance(z, torch.Tensor) and z.is_floating_point())):
            return func(*args, **kwargs)
        # An in-place call (relu_, inplace=True) overwrites its input; keep a copy for f'(z).
        in_place = getattr(func, "__name__", "").endswith("_") or kwargs.get("inplace", False)
        z = z.detach().clone() if in_place else z.detach()
        output = func(*args, **kwargs)
        owner = self._stack[-1] if self._stack else ""
        self._ran_activation.add(owner)
        key = self._call_key(f"{owner}.{function}()" if owner else f"{function}()")
        if name not in self._elementwise:
            self.calls.append(Call(key, "head", name))
        elif not isinstance(output, torch.Tensor) or output.shape != z.shape:
            self.unseen[key] = f"{name} returned a different shape than its input: not elementwise here"
        else:
            def replay(value):  # the same call on another input, for f'(z)
                replay_args, replay_kwargs = _with_input(args, kwargs, value)
                return func(*replay_args, **replay_kwargs)
            self._record(key, name, z, output, replay)
        return output

    def _record(self, key: str, act: str, z: torch.Tensor, output: torch.Tensor, forward) -> None:
        self._update(key, act, z, output.detach(), forward)
        self.calls.append(Call(key, "activation", act))
        if self.activation_nodes is not None and output.grad_fn is not None:
            self.activation_nodes.add(output.grad_fn)

    @torch.no_grad()
    def _update(self, key: str, act: str, z: torch.Tensor, a: torch.Tensor, forward) -> None:
        a2 = _units_last(a.float(), self.unit_dim)
        st = self.stats.get(key)
        if st is None:
            st = self.stats[key] = LayerStats(key, act, a2.shape[1])
        elif st.units != a2.shape[1]:
            raise ValueError(f"activation {key!r} had {st.units} units and now {a2.shape[1]} along dim "
                             f"{self.unit_dim}; pass the feature axis as unit_dim (e.g. -1 for [N, T, C])")
        st.samples += a.shape[0] if a.ndim > 1 else 1
        st.elements += a2.numel()
        st.exact_zero += int((a2 == 0).sum())
        st.near_zero += int((a2.abs() < self.near_zero).sum())
        positive = a2 > 0
        st.ever_positive |= positive.any(dim=0)
        st.positive_count += positive.sum(dim=0).double()
        if self.derivative:
            d = _units_last(self._derivative(forward, z), self.unit_dim)
            st.max_abs_derivative = torch.maximum(st.max_abs_derivative, d.abs().amax(dim=0).double())

    @staticmethod
    def _derivative(forward, z: torch.Tensor) -> torch.Tensor:
        """f'(z) elementwise via a private autograd call of the activation (no hooks fire)."""
        with torch.enable_grad():
            zz = z.float().detach().requires_grad_(True)
            y = forward(zz.clone())  # a non-leaf copy, so in-place activations work
            (g,) = torch.autograd.grad(y.sum(), zz)
        return g

    # -- results
    def frame(self) -> pd.DataFrame:
        """One row per activation layer: units, dead counts both ways, sparsity, activation rate."""
        rows = []
        for i, st in enumerate(self.stats.values()):
            rows.append({
                "layer_index": i, "layer": st.name, "activation": st.activation, "units": st.units,
                "samples": st.samples,
                "dead_never_positive": int(st.dead_never_positive().sum()),
                "dead_gradient": int(st.dead_gradient(self.threshold).sum()) if self.derivative else -1,
                "exact_zero_fraction": st.exact_zero / max(st.elements, 1),
                "near_zero_fraction": st.near_zero / max(st.elements, 1),
                "mean_positive_rate": float((st.positive_count / max(st.elements // st.units, 1)).mean()),
            })
        return pd.DataFrame(rows)

    def dead_fraction(self, kind: str = "gradient") -> float:
        """Fraction of all watched units that are dead ('gradient' or 'never_positive')."""
        if kind not in ("gradient", "never_positive"):
            raise ValueError(f"kind must be 'gradient' or 'never_positive', got {kind!r}")
        if kind == "gradient" and not self.derivative:
            raise ValueError("this monitor was created with derivative=False")
        total = sum(st.units for st in self.stats.values())
        if total == 0:
            return math.nan
        dead = sum(int((st.dead_gradient(self.threshold) if kind == "gradient" else st.dead_never_positive()).sum())
                   for st in self.stats.values())
        return dead / total


@torch.no_grad()
def measure_dead_units(model: nn.Module, x: torch.Tensor, batch_size: int = 4096,
                       threshold: float = DEFAULT_THRESHOLD, derivative: bool = True,
                       unit_dim: int = 1) -> DeadUnitMonitor:
    """Run ``x`` through ``model`` in eval mode under a monitor and return it (hooks removed)."""
    was_training = model.training
    model.eval()
    try:
        with DeadUnitMonitor(model, threshold=threshold, derivative=derivative, unit_dim=unit_dim) as mon:
            for i in range(0, len(x), batch_size):
                model(x[i:i + batch_size])
    finally:
        model.train(was_training)
    return mon


def tutorial_dead_pct(model: nn.Module, batch: torch.Tensor) -> float:
    """The tutorial's Experiment 1 measurement: one batch, eval mode, a unit is dead when its
    output is never > 0; percentage over the units of all activation layers pooled.

    Unlike the tutorial (which hooks only ReLU/LeakyReLU/PReLU and prints 0.0 otherwise)
    this applies the same test to every activation; ``TUTORIAL_HOOKED`` says which ones the
    tutorial's own code would have measured."""
    mon = measure_dead_units(model, batch, batch_size=len(batch), derivative=False)
    return 100.0 * mon.dead_fraction("never_positive")


# ───────────────────────────── gradient flow ─────────────────────────────
def gradient_magnitudes(model: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None,
                        loss_fn: nn.Module | None = None) -> pd.DataFrame:
    """Mean |dL/dW| per Linear/Conv weight after one backward pass (layer 0 = input layer).

    Without a loss, the surrogate L = mean(output^2) is used (the layer-to-layer ratios
    matter, not the scale). Parameter gradients are cleared again afterwards.
    """
    params = list(model.parameters())
    saved = [p.grad for p in params]
    for p in params:
        p.grad = None
    try:
        out = model(x)
        if loss_fn is None or y is None:
            loss = out.float().pow(2).mean()
        else:
            loss = loss_fn(out, y)
        loss.backward()
        rows = []
        for i, (name, layer) in enumerate((n, m) for n, m in model.named_modules() if isinstance(m, WEIGHT_LAYERS)):
            g = layer.weight.grad
            rows.append({"layer_index": i, "layer": name, "fan_in": fans(layer.weight)[0],
                         "mean_abs_grad": float(g.abs().mean()) if g is not None else 0.0,
                         "max_abs_grad": float(g.abs().max()) if g is not None else 0.0,
                         "loss": float(loss.detach())})
    finally:
        for p, g in zip(params, saved):
            p.grad = g
    return pd.DataFrame(rows)



# ───────────────────────────── one observed forward pass ─────────────────────────────
@dataclass
class Observation:
    """What one eval-mode forward pass of the sample showed: the monitor (per-unit statistics and
    the calls in order), the output, and everything that could not be inspected (where -> why)."""

    monitor: DeadUnitMonitor
    output: torch.Tensor
    unseen: dict[str, str]


def _custom_functions(output: torch.Tensor, known: set) -> list[str]:
    """Names of the custom autograd.Functions in ``output``'s graph, other than the nodes of
    recognised activations (``known``): code that neither hooks nor function modes see into."""
    found, visited, todo = set(), set(), [output.grad_fn]
    while todo:
        node = todo.pop()
        if node is None or node in visited:
            continue
        visited.add(node)
        if isinstance(node, torch.autograd.function.BackwardCFunction) and node not in known:
            found.add(node._forward_cls.__name__)
        todo.extend(parent for parent, _ in node.next_functions)
    return sorted(found)


def _expected_input(layer: nn.Module) -> tuple[str, tuple]:
    """(what a Linear/Conv layer is, the input shape it takes, N for the batch)."""
    if isinstance(layer, nn.Linear):
        return f"Linear with in_features={layer.in_features}", ("N", layer.in_features)
    spatial = ("D", "H", "W")[3 - (layer.weight.ndim - 2):]
    return f"{type(layer).__name__} with in_channels={layer.in_channels}", ("N", layer.in_channels, *spatial)


def input_mismatch(model: nn.Module, x, exc: Exception) -> str:
    """One line for a forward pass that raised: the input's shape against what the model's first
    weight layer takes, then the error itself."""
    given = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
    error = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}"
    first = next(((n, m) for n, m in model.named_modules() if isinstance(m, WEIGHT_LAYERS)), None)
    if first is None or not isinstance(x, torch.Tensor):
        return f"the model's forward failed on the input of shape {given}: {error}"
    name, layer = first
    what, shape = _expected_input(layer)
    expected = "(" + ", ".join(map(str, shape)) + ")"
    if isinstance(layer, nn.Linear):  # Linear takes any leading dimensions
        fits = x.ndim >= 1 and x.shape[-1] == layer.in_features
    else:
        fits = x.ndim == len(shape) and x.shape[1] == layer.in_channels
    if fits:
        return (f"the model's forward failed on the input of shape {given}, although that fits its first layer "
                f"'{name}' ({what}): {error}")
    return (f"the input has shape {given} but the model expects {expected}: its first layer '{name}' is {what}; "
            f"the forward raised {error}")


def observe(model: nn.Module, x: torch.Tensor, threshold: float = DEFAULT_THRESHOLD) -> Observation:
    """Run ``x`` once through ``model`` in eval mode under a monitor, with gradients on (a custom
    autograd.Function shows only in the graph); the model's mode and parameters are restored."""
    was_training = model.training
    model.eval()
    monitor = DeadUnitMonitor(model, threshold=threshold)
    monitor.activation_nodes = set()
    x_in = x.detach().requires_grad_() if torch.is_floating_point(x) else x
    try:
        with monitor, torch.enable_grad():
            output = model(x_in)
    except Exception as exc:  # noqa: BLE001 - whatever the forward raised, say what input it expects
        raise ValueError(input_mismatch(model, x, exc)) from None
    finally:
        model.train(was_training)
    if not isinstance(output, torch.Tensor):
        raise ValueError(f"the model returned a {type(output).__name__}; diagnose needs a single output tensor")
    unseen = dict(monitor.unseen)
    for name in _custom_functions(output, monitor.activation_nodes):
        unseen[f"autograd.Function {name}"] = "custom autograd.Function: hooks and function modes cannot see into it"
    monitor.activation_nodes = None
    return Observation(monitor, output.detach(), unseen)


# ───────────────────────────── checks (one verdict each) ─────────────────────────────
@dataclass
class Verdict:
    """One check's outcome. ``skip``: the check could not inspect what it needs (or not all of
    it); the reason says what it missed. A check never passes over something it did not see."""

    check: str
    status: str
    reason: str
    details: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")

    def line(self) -> str:
        return f"{self.status.upper():4}  {self.check:<16} {self.reason}"


def _not_inspected(unseen: dict[str, str], shown: int = 3) -> str:
    items = [f"{where}: {why}" for where, why in unseen.items()]
    more = f"; and {len(items) - shown} more" if len(items) > shown else ""
    return "not inspected: " + "; ".join(items[:shown]) + more


def _account_for(verdict: Verdict, unseen: dict[str, str]) -> Verdict:
    """A check that could not inspect everything does not pass: PASS becomes SKIP. WARN and FAIL
    stand (what was seen is already wrong) and say what was not seen."""
    if not unseen:
        return verdict
    details = {**verdict.details, "not_inspected": list(unseen)}
    if verdict.status == "pass":
        return Verdict(verdict.check, "skip", f"{_not_inspected(unseen)}; what was inspected is fine: {verdict.reason}",
                       details)
    return Verdict(verdict.check, verdict.status, f"{verdict.reason}; {_not_inspected(unseen)}", details)


def _nothing_watched(check: str, unseen: dict[str, str]) -> Verdict:
    reason = "no activation seen: the model calls no activation module or function diagnose recognises"
    return Verdict(check, "skip", reason + (f"; {_not_inspected(unseen)}" if unseen else ""),
                   {"not_inspected": list(unseen)})


def check_dead_units(obs: Observation) -> Verdict:
    """Gradient-dead units on the sample, worst layer; bands follow the tutorial's action
    table (< 15% fine, 15-30% consider LeakyReLU, >= 30% severe)."""
    mon = obs.monitor
    df = mon.frame()
    if df.empty:
        return _nothing_watched("dead_units", obs.unseen)
    df["dead_pct"] = 100 * df["dead_gradient"] / df["units"]
    worst = df.loc[df["dead_pct"].idxmax()]
    overall = 100 * mon.dead_fraction("gradient")
    detail = (f"{overall:.1f}% of {int(df['units'].sum())} units have |f'(z)| < {mon.threshold:g} on all "
              f"{int(worst['samples'])} samples; worst layer {worst['layer']} ({worst['activation']}) "
              f"{worst['dead_pct']:.1f}%")
    status = "fail" if worst["dead_pct"] >= 30 else "warn" if worst["dead_pct"] >= 15 else "pass"
    verdict = Verdict("dead_units", status, detail, {"overall_pct": overall, "worst_pct": float(worst["dead_pct"])})
    return _account_for(verdict, obs.unseen)


def check_gradients(model, x, y=None, loss_fn=None) -> Verdict:
    """Input-layer vs output-layer weight-gradient ratio after one backward pass."""
    g = gradient_magnitudes(model, x, y, loss_fn)
    if len(g) < 2:
        return Verdict("gradient_flow", "skip", f"{len(g)} Linear/Conv layer(s); the check compares the first "
                       "and the last, so it needs two")
    surrogate = "" if (loss_fn is not None and y is not None) else " (surrogate loss mean(output^2))"
    mags = g["mean_abs_grad"].to_numpy()
    if not all(math.isfinite(v) for v in mags):
        return Verdict("gradient_flow", "fail", "non-finite gradients" + surrogate)
    zero = g.loc[g["mean_abs_grad"] == 0, "layer"].tolist()
    if zero:
        return Verdict("gradient_flow", "fail", f"layers {zero} receive exactly zero gradient" + surrogate)
    ratio = mags[0] / mags[-1]
    text = (f"mean |dL/dW| input layer {mags[0]:.3g}, output layer {mags[-1]:.3g}, ratio {ratio:.3g} "
            f"over {len(g)} layers" + surrogate)
    log_r = abs(math.log10(ratio))
    status = "fail" if log_r >= 5 else "warn" if log_r >= 2 else "pass"
    if status != "pass":
        text = ("vanishing: " if ratio < 1 else "exploding: ") + text
    return Verdict("gradient_flow", status, text, {"ratio": ratio})


def layer_activation_pairs(calls: list[Call]) -> list[tuple[Call, Call | None]]:
    """(weight layer, what follows it or None) in call order. Known layers between a weight layer
    and its activation (normalisation, pooling, dropout) are skipped over; an unrecognised module
    there is paired, since it may be the activation."""
    pairs, pending = [], None
    for call in calls:
        if call.kind == "weight":
            if pending is not None:
                pairs.append((pending, None))
            pending = call
        elif call.kind in ("activation", "unknown") and pending is not None:
            pairs.append((pending, call))
            pending = None
    if pending is not None:
        pairs.append((pending, None))
    return pairs


def check_init(obs: Observation) -> Verdict:
    """Weight variance of each layer against the registry's recommended init for the
    activation that follows it. Meaningful for freshly initialised models."""
    rows, log2_total, unseen = [], 0.0, dict(obs.unseen)
    for layer_call, act_call in layer_activation_pairs(obs.monitor.calls):
        if act_call is None or act_call.kind != "activation":
            continue  # an output layer, or an unrecognised module already listed as unseen
        name, layer, act_name = layer_call.name, layer_call.module, act_call.activation
        if act_name not in activations.names():
            unseen[f"'{name}'"] = f"feeds {act_name}, which has no registry entry and so no recommended init"
            continue
        rec = activations.get(act_name).init
        fan_in, fan_out = fans(layer.weight)
        var = float(layer.weight.detach().float().var())
        expected = {s: expected_weight_variance(s, fan_in, fan_out) for s in INITS}
        # a constant (e.g. all-zero) weight matrix matches no scheme and counts as infinitely off
        ratio = max(var / expected[rec], 1e-300)
        closest = min(expected, key=lambda s: abs(math.log(max(var, 1e-300) / expected[s]))) if var > 0 else "constant"
        log2_total += math.log2(ratio)
        rows.append((name, act_name, rec, closest, ratio))
    if not rows:
        reason = "no layer is followed by a registry activation; nothing to compare"
        return Verdict("init", "skip", reason + (f"; {_not_inspected(unseen)}" if unseen else ""),
                       {"not_inspected": list(unseen)})
    bad = [r for r in rows if abs(math.log2(r[4])) > 0.5]
    if not bad:
        return _account_for(Verdict("init", "pass", f"all {len(rows)} layers within a factor sqrt(2) of the variance "
                                    f"the registry recommends for their activation"), unseen)
    first = bad[0]
    shrink = 2.0 ** log2_total
    example = (f"{first[0]} feeds {first[1]} with constant weights (zero variance)" if first[3] == "constant"
               else f"{first[0]} feeds {first[1]} with {first[3]}-like weights (Var = {first[4]:.2g} x the "
                    f"{first[2]} variance)")
    text = (f"{len(bad)}/{len(rows)} layers mismatched, e.g. {example}; compounded, the forward signal "
            f"variance is {shrink:.2g} x what the recommended init would give")
    status = "fail" if abs(log2_total) * math.log10(2) >= 3 else "warn"
    return _account_for(Verdict("init", status, text, {"compounded_variance_ratio": shrink, "mismatched": len(bad)}),
                        unseen)


_REGRESSION_LOSSES = (nn.MSELoss, nn.L1Loss, nn.SmoothL1Loss, nn.HuberLoss)


def _output_range(head: str) -> tuple[float, float]:
    """The values an output head can take: the registry's computed range, else unbounded."""
    if head in activations.elementwise_names():
        props = activations.get(head).properties
        return props["range_low"], props["range_high"]
    return -math.inf, math.inf


def check_output_loss(obs: Observation, y=None, loss_fn=None) -> Verdict:
    """The output activation / loss / target combination (the tutorial's Mistake 3 table)."""
    if loss_fn is None or y is None:
        return Verdict("output_loss", "skip", "not checked: the factory supplied no loss and targets")
    last = obs.monitor.calls[-1] if obs.monitor.calls else None
    if last is None or last.kind == "unknown":
        where = ("no layer or activation was seen" if last is None
                 else f"the output comes from '{last.name}', which diagnose does not recognise")
        return Verdict("output_loss", "skip", f"not checked: {where}")
    head = last.activation if last.kind in ("activation", "head") else "linear"
    out = obs.output.float()
    width = out.shape[-1] if out.ndim > 1 else 1
    y_t = torch.as_tensor(y)
    integer_targets = not torch.is_floating_point(y_t)
    n_classes = int(y_t.max()) + 1 if integer_targets and y_t.numel() else 0
    lossname = type(loss_fn).__name__

    def v(status, reason):
        return Verdict("output_loss", status, f"{head} output ({width} wide) + {lossname}: {reason}")

    if isinstance(loss_fn, (nn.CrossEntropyLoss, nn.NLLLoss)):
        if head == "sigmoid":
            return v("fail", "sigmoid scores for mutually exclusive classes; feed raw logits to CrossEntropyLoss")
        if isinstance(loss_fn, nn.CrossEntropyLoss) and head in OUTPUT_HEADS.values():
            return v("fail", "CrossEntropyLoss applies log-softmax itself; remove the output softmax")
        if isinstance(loss_fn, nn.NLLLoss) and head != "log_softmax":
            return v("fail", "NLLLoss expects log-probabilities (LogSoftmax output)")
        if width == 1:
            return v("fail", "one output: cross-entropy over a single logit is constant; use BCEWithLogitsLoss")
        if n_classes > width:
            return v("fail", f"targets have {n_classes} classes but the model has {width} outputs")
        if head in elementwise_activation_names():
            return v("warn", "a hidden-style activation on the logits limits their range; use a linear output")
        return v("pass", f"logits for {width} exclusive classes")
    if isinstance(loss_fn, (nn.BCELoss, nn.BCEWithLogitsLoss)):
        if head == "softmax" and width == 2:
            return v("warn", "two-way softmax is sigmoid of the logit difference: redundant; use one logit "
                     "with BCEWithLogitsLoss")
        if integer_targets and n_classes > 2 and width > 1 and not torch.all((y_t == 0) | (y_t == 1)):
            return v("fail", f"class indices with {n_classes} classes: multi-class needs CrossEntropyLoss")
        if float(y_t.min()) < 0 or float(y_t.max()) > 1:
            return v("fail", "BCE targets must lie in [0, 1]")
        if isinstance(loss_fn, nn.BCEWithLogitsLoss):
            if head in ("sigmoid", "softmax"):
                return v("fail", "BCEWithLogitsLoss applies the sigmoid itself; the output is squashed twice")
            return v("pass", "logits with a built-in sigmoid (binary or multi-label)")
        if head == "sigmoid":
            return v("pass", "probabilities for binary or multi-label targets")
        if float(out.min()) < 0 or float(out.max()) > 1:
            return v("fail", "BCELoss needs probabilities in [0, 1]; add a sigmoid or use BCEWithLogitsLoss")
        return v("warn", "outputs happen to lie in [0, 1] but no sigmoid guarantees it")
    if isinstance(loss_fn, _REGRESSION_LOSSES):
        if head == "sigmoid" and width > 2 and integer_targets:
            return v("fail", "sigmoid per class on class labels: use logits with CrossEntropyLoss")
        y_f = y_t.float()
        y_low, y_high = float(y_f.min()), float(y_f.max())
        neg = float((y_f < 0).float().mean())
        low, high = float(out.min()), float(out.max())
        range_low, range_high = _output_range(head)
        if neg > 0 and (range_low >= 0 or (low >= 0 and head != "linear")):
            return v("fail", f"the output cannot be negative but {100 * neg:.0f}% of the targets are")
        if y_low < range_low or y_high > range_high:
            return v("fail", f"{head} output is confined to [{range_low:.3g}, {range_high:.3g}] but the targets "
                     f"span [{y_low:.3g}, {y_high:.3g}]")
        if head in OUTPUT_HEADS.values():
            return v("warn", "a softmax output for a regression loss")
        if head == "linear":
            return v("pass", f"unbounded output for targets in [{y_low:.3g}, {y_high:.3g}]")
        return v("pass", f"bounded output [{low:.3g}, {high:.3g}] covers targets in [{y_low:.3g}, {y_high:.3g}]")
    return Verdict("output_loss", "skip", f"not checked: {lossname} is not in the checked table")


def check_sparsity(obs: Observation) -> Verdict:
    """Exactly-zero activations per layer: informative; a layer that is all zeros blocks everything."""
    df = obs.monitor.frame()
    if df.empty:
        return _nothing_watched("sparsity", obs.unseen)
    worst = df.loc[df["exact_zero_fraction"].idxmax()]
    mean_zero = float((df["exact_zero_fraction"] * df["units"]).sum() / df["units"].sum())
    text = (f"{100 * mean_zero:.1f}% of activations are exactly 0 ({100 * float((df['near_zero_fraction'] * df['units']).sum() / df['units'].sum()):.1f}% "
            f"below {NEAR_ZERO:g}); most in {worst['layer']} ({100 * worst['exact_zero_fraction']:.1f}%)")
    status = "fail" if worst["exact_zero_fraction"] >= 1.0 else "warn" if worst["exact_zero_fraction"] >= 0.9 else "pass"
    if status == "fail":
        text = "a layer outputs only zeros, so the output ignores the input: " + text
    return _account_for(Verdict("sparsity", status, text, {"exact_zero_fraction": mean_zero}), obs.unseen)


THRESHOLD_RANGE = ("a number strictly between 0 and 1 (a unit is gradient-dead when |f'(z)| stays below it "
                   "on every sample; at 1 a working tanh unit would count as dead)")


def _valid_threshold(value: float) -> bool:
    return 0 < value < 1  # False for NaN too


def diagnose(model: nn.Module, x: torch.Tensor, y=None, loss_fn=None,
             threshold: float = DEFAULT_THRESHOLD) -> list[Verdict]:
    """Run every check; the model's parameters are not changed. A check that could not inspect
    what it needs says SKIP with the reason, never PASS."""
    if not _valid_threshold(threshold):
        raise ValueError(f"threshold {threshold!r} is not allowed; expected {THRESHOLD_RANGE}")
    obs = observe(model, x, threshold)
    return [
        check_dead_units(obs),
        check_gradients(model, x, y, loss_fn),
        check_init(obs),
        check_output_loss(obs, y, loss_fn),
        check_sparsity(obs),
    ]


def summary(verdicts: list[Verdict]) -> str:
    """One closing line; it calls the model clean only when every check passed."""
    by_status = {s: [v.check for v in verdicts if v.status == s] for s in STATUSES}
    if len(by_status["pass"]) == len(verdicts):
        return f"summary: all {len(verdicts)} checks passed"
    words = {"pass": "passed", "warn": "warned", "fail": "failed", "skip": "skipped"}
    text = "summary: " + ", ".join(f"{len(checks)} {words[s]}" for s, checks in by_status.items() if checks)
    if by_status["skip"]:
        text += (f"; not a clean bill of health: {', '.join(by_status['skip'])} could not inspect everything "
                 "(see the SKIP lines)")
    return text


# ───────────────────────────── command line ─────────────────────────────
FACTORY_HELP = ("MODULE:FACTORY where MODULE is an importable module (pkg.mod) or a .py file path and "
                "FACTORY a callable returning a model, a tuple (model, x[, y[, loss]]) or a dict with keys "
                "model, x, y, loss")


def load_factory(spec: str):
    """Import MODULE:FACTORY and return the callable; every failure is a ValueError naming it."""
    if spec.count(":") < 1 or not all(part.strip() for part in spec.rsplit(":", 1)):
        raise ValueError(f"{spec!r} is not MODULE:FACTORY; expected {FACTORY_HELP}")
    module_name, factory_name = spec.rsplit(":", 1)
    try:
        if module_name.endswith(".py"):
            path = Path(module_name)
            if not path.is_file():
                raise ValueError(f"module file {module_name!r} does not exist")
            mod_spec = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(mod_spec)
            mod_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - any import failure is reported the same way
        raise ValueError(f"cannot import module {module_name!r}: {type(exc).__name__}: {exc}") from None
    if not hasattr(module, factory_name):
        public = sorted(n for n in dir(module) if not n.startswith("_") and callable(getattr(module, n)))
        raise ValueError(f"module {module_name!r} has no attribute {factory_name!r}; callables there: "
                         f"{', '.join(public) or 'none'}")
    factory = getattr(module, factory_name)
    if not callable(factory):
        raise ValueError(f"{spec!r} is a {type(factory).__name__}, not a callable factory")
    return factory


def unpack_factory_output(obj, samples: int = 256, seed: int = 0) -> tuple:
    """(model, x, y, loss) from what a factory returned; x is synthesised for an MLP if absent."""
    keys = ("model", "x", "y", "loss")
    if isinstance(obj, nn.Module):
        parts = {"model": obj}
    elif isinstance(obj, dict):
        extra = set(obj) - set(keys)
        if extra:
            raise ValueError(f"factory dict has unknown keys {sorted(extra)}; allowed: {', '.join(keys)}")
        parts = dict(obj)
    elif isinstance(obj, (tuple, list)) and 1 <= len(obj) <= 4:
        parts = dict(zip(keys, obj))
    else:
        raise ValueError(f"factory returned {type(obj).__name__}; expected {FACTORY_HELP}")
    model = parts.get("model")
    if not isinstance(model, nn.Module):
        raise ValueError(f"factory's model is a {type(model).__name__}, not a torch.nn.Module")
    x = parts.get("x")
    if x is None:
        first = next((m for m in model.modules() if isinstance(m, WEIGHT_LAYERS)), None)
        if not isinstance(first, nn.Linear):
            raise ValueError("the factory gave no input sample and the first layer is not Linear; "
                             "return (model, x) so the checks have data to run")
        x = torch.randn(samples, first.in_features, generator=torch.Generator().manual_seed(seed))
    loss = parts.get("loss")
    if loss is not None and not isinstance(loss, nn.Module):
        raise ValueError(f"factory's loss is a {type(loss).__name__}, not a torch.nn.Module loss")
    return model, x, parts.get("y"), loss


def gradient_threshold(text: str) -> float:
    """argparse type for --threshold: a number in (0, 1)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; expected {THRESHOLD_RANGE}") from None
    if not _valid_threshold(value):
        raise argparse.ArgumentTypeError(f"{text} is not allowed; expected {THRESHOLD_RANGE}")
    return value


SEED_RANGE = "an integer from 0 to 4294967295"


def seed(text: str) -> int:
    """argparse type for --seed: an integer every torch and numpy generator accepts."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer; expected {SEED_RANGE}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"{value} is not allowed; expected {SEED_RANGE}")
    return value


def add_subparser(sub) -> None:
    """Register ``diagnose`` on the actbench command line. Every option is checked as it is
    parsed, before the factory is imported or anything runs."""
    p = sub.add_parser("diagnose", help="Run the activation diagnostics on a model: one verdict per check.",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("factory", metavar="MODULE:FACTORY", help=FACTORY_HELP)
    p.add_argument("--samples", type=positive_int, default=256,
                   help="input sample size when the factory gives none (a positive integer)")
    p.add_argument("--seed", type=seed, default=0,
                   help=f"seed for the factory and the synthesised sample ({SEED_RANGE})")
    p.add_argument("--threshold", type=gradient_threshold, default=DEFAULT_THRESHOLD,
                   help=f"gradient-dead threshold on |f'(z)|, strictly between 0 and 1 (default {DEFAULT_THRESHOLD:g})")
    p.set_defaults(handler=run_cli)


def run_cli(args) -> None:
    factory = load_factory(args.factory)
    torch.manual_seed(args.seed)
    try:
        obj = factory()
    except Exception as exc:  # noqa: BLE001 - report the factory's own failure plainly
        raise ValueError(f"factory {args.factory!r} raised {type(exc).__name__}: {exc}") from None
    model, x, y, loss = unpack_factory_output(obj, args.samples, args.seed)
    verdicts = diagnose(model, x, y, loss, args.threshold)
    print(f"diagnose {args.factory}: {sum(p.numel() for p in model.parameters())} parameters, "
          f"sample {tuple(x.shape)}")
    for v in verdicts:
        print(v.line())
    print(summary(verdicts))
    failed = [v.check for v in verdicts if v.status == "fail"]
    if failed:
        print(f"{len(failed)} check(s) failed: {', '.join(failed)}", file=sys.stderr)
        raise SystemExit(1)


# ───────────────────────────── training callback ─────────────────────────────
def dead_unit_columns(model: nn.Module, x_all: torch.Tensor, tutorial_batch: torch.Tensor,
                      threshold: float = DEFAULT_THRESHOLD) -> dict:
    """Dead units both ways plus sparsity, as flat columns for a per-epoch record:

    dead_pct_tutorial        one batch, never > 0, all activation layers pooled (the tutorial's test)
    dead_pct_never_positive  never > 0 over every row of ``x_all``
    dead_pct_gradient        |f'(z)| < threshold for every row of ``x_all`` (the correct test)
    dead_pct_gradient_l<i>   the same per activation layer (1 = first hidden layer)
    exact_zero_pct, near_zero_pct   share of activations that are exactly 0 / below NEAR_ZERO
    """
    mon = measure_dead_units(model, x_all, threshold=threshold)
    df = mon.frame()
    cols = {
        "dead_pct_tutorial": tutorial_dead_pct(model, tutorial_batch),
        "dead_pct_never_positive": 100.0 * mon.dead_fraction("never_positive"),
        "dead_pct_gradient": 100.0 * mon.dead_fraction("gradient"),
        "exact_zero_pct": 100.0 * float((df["exact_zero_fraction"] * df["units"]).sum() / df["units"].sum()),
        "near_zero_pct": 100.0 * float((df["near_zero_fraction"] * df["units"]).sum() / df["units"].sum()),
        "dead_rows": len(x_all),
    }
    for i, row in enumerate(df.itertuples(), start=1):
        cols[f"dead_pct_gradient_l{i}"] = 100.0 * row.dead_gradient / row.units
        cols[f"dead_pct_never_positive_l{i}"] = 100.0 * row.dead_never_positive / row.units
    return cols


class DeadUnitCallback(Callback):
    """A ``train.fit`` callback adding ``dead_unit_columns`` to every epoch's record
    (epoch 0 = at initialisation). The tutorial-style batch is a fresh random batch of
    ``batch_size`` training rows each epoch, drawn from a generator seeded with ``seed``."""

    def __init__(self, x_all: torch.Tensor, x_pool: torch.Tensor | None = None, batch_size: int = 128,
                 seed: int = 0, threshold: float = DEFAULT_THRESHOLD):
        self.x_all, self.x_pool = x_all, x_all if x_pool is None else x_pool
        self.batch_size, self.threshold = batch_size, threshold
        self.gen = torch.Generator().manual_seed(seed)

    def on_epoch_end(self, model, record):
        if record.get("diverged"):
            return None
        idx = torch.randperm(len(self.x_pool), generator=self.gen)[: self.batch_size]
        return dead_unit_columns(model, self.x_all, self.x_pool[idx], self.threshold)
