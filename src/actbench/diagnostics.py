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
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch
import torch.nn as nn

from actbench import activations
from actbench.models import INITS, WEIGHT_LAYERS, expected_weight_variance, fans
from actbench.train import Callback

DEFAULT_THRESHOLD = 1e-3   # |f'(z)| below this for every sample -> gradient-dead
NEAR_ZERO = 1e-3           # |a| below this counts as near zero (sparsity)

# Elementwise activation modules the monitor watches (Softmax is not elementwise).
_MODULE_NAMES = {
    nn.ReLU: "relu", nn.ReLU6: "relu6", nn.LeakyReLU: "leaky_relu", nn.PReLU: "prelu",
    nn.ELU: "elu", nn.SELU: "selu", nn.SiLU: "silu", nn.Hardswish: "hardswish", nn.Mish: "mish",
    nn.Softplus: "softplus", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", activations.SwishBeta: "swish_beta",
}
ELEMENTWISE_TYPES = tuple(_MODULE_NAMES) + (nn.GELU, nn.CELU, nn.Hardtanh, nn.Hardsigmoid, nn.LogSigmoid)
OUTPUT_TYPES = ELEMENTWISE_TYPES + (nn.Softmax, nn.LogSoftmax)
STATUSES = ("pass", "warn", "fail")
# The tutorial's Experiment 1 only hooks these module types; for all others it prints 0.0.
TUTORIAL_HOOKED = ("relu", "leaky_relu", "prelu")


def activation_name(module: nn.Module) -> str | None:
    """Registry name of an activation module (None for modules the registry lacks)."""
    if isinstance(module, nn.GELU):
        return "gelu_tanh" if module.approximate == "tanh" else "gelu"
    for cls, name in _MODULE_NAMES.items():
        if type(module) is cls:
            return name
    return None


def is_activation(module: nn.Module) -> bool:
    return isinstance(module, ELEMENTWISE_TYPES)


def _units_last(t: torch.Tensor, unit_dim: int) -> torch.Tensor:
    """[..., units] view: move the unit axis last and flatten everything else."""
    if t.ndim == 1:
        return t.reshape(-1, 1)
    return t.movedim(unit_dim, -1).reshape(-1, t.shape[unit_dim])


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


class DeadUnitMonitor:
    """Watch every elementwise activation module of ``model`` while it runs.

    Use as a context manager; the forward hooks are removed on exit (also on error)::

        with DeadUnitMonitor(model) as monitor:
            for xb in batches:
                model(xb)
        monitor.frame()          # one row per activation layer
        monitor.dead_fraction()  # gradient-dead fraction over all hidden units

    It works during training too (hooks see detached tensors and compute f'(z) with a
    separate small autograd call that does not touch the model's graph). A module used
    at several places in ``forward`` is tracked per call position ("name#1", ...).
    ``unit_dim`` is the feature axis (1 for [N, C] and [N, C, H, W]; use -1 for [N, T, C]).
    """

    def __init__(self, model: nn.Module, threshold: float = DEFAULT_THRESHOLD, near_zero: float = NEAR_ZERO,
                 derivative: bool = True, unit_dim: int = 1, modules: list[str] | None = None):
        self.model = model
        self.threshold = threshold
        self.near_zero = near_zero
        self.derivative = derivative
        self.unit_dim = unit_dim
        named = [(n, m) for n, m in model.named_modules() if is_activation(m)]
        if modules is not None:
            unknown = sorted(set(modules) - {n for n, _ in named})
            if unknown:
                raise ValueError(f"no activation modules named {unknown}; found: {[n for n, _ in named]}")
            named = [(n, m) for n, m in named if n in modules]
        self._targets = named
        self._handles: list = []
        self._calls: dict[str, int] = {}
        self._saved_input: dict[int, torch.Tensor] = {}
        self.stats: dict[str, LayerStats] = {}

    # -- hook management
    @property
    def attached(self) -> bool:
        return bool(self._handles)

    def attach(self) -> "DeadUnitMonitor":
        if self.attached:
            return self
        self._handles.append(self.model.register_forward_pre_hook(lambda mod, inp: self._calls.clear()))
        for name, module in self._targets:
            self._handles.append(module.register_forward_pre_hook(self._save_input))
            self._handles.append(module.register_forward_hook(self._make_hook(name)))
        return self

    def detach(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()
        self._saved_input.clear()

    def __enter__(self) -> "DeadUnitMonitor":
        return self.attach()

    def __exit__(self, *exc) -> None:
        self.detach()

    def reset(self) -> None:
        self.stats.clear()

    def _save_input(self, module, inputs):
        z = inputs[0].detach()
        # An in-place activation overwrites its input; keep a copy to recompute f'(z).
        self._saved_input[id(module)] = z.clone() if getattr(module, "inplace", False) else z

    def _make_hook(self, name: str):
        def hook(module, inputs, output):
            z = self._saved_input.pop(id(module), inputs[0].detach())
            call = self._calls.get(name, 0)
            self._calls[name] = call + 1
            key = name if call == 0 else f"{name}#{call}"
            self._update(key, module, z, output.detach())
        return hook

    @torch.no_grad()
    def _update(self, key: str, module: nn.Module, z: torch.Tensor, a: torch.Tensor) -> None:
        a2 = _units_last(a.float(), self.unit_dim)
        st = self.stats.get(key)
        if st is None:
            st = self.stats[key] = LayerStats(key, activation_name(module) or type(module).__name__, a2.shape[1])
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
            d = _units_last(self._derivative(module, z), self.unit_dim)
            st.max_abs_derivative = torch.maximum(st.max_abs_derivative, d.abs().amax(dim=0).double())

    @staticmethod
    def _derivative(module: nn.Module, z: torch.Tensor) -> torch.Tensor:
        """f'(z) elementwise via a private autograd call on module.forward (no hooks fire)."""
        with torch.enable_grad():
            zz = z.float().detach().requires_grad_(True)
            y = module.forward(zz.clone())  # a non-leaf copy, so in-place activations work
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


# ───────────────────────────── structure helpers ─────────────────────────────
@contextmanager
def _call_order(model: nn.Module):
    """Record leaf modules in the order forward() calls them."""
    order: list[tuple[str, nn.Module]] = []
    handles = [m.register_forward_hook(lambda mod, i, o, n=n: order.append((n, mod)))
               for n, m in model.named_modules() if not list(m.children())]
    try:
        yield order
    finally:
        for h in handles:
            h.remove()


@torch.no_grad()
def layer_activation_pairs(model: nn.Module, x: torch.Tensor) -> list[tuple[str, nn.Module, nn.Module | None]]:
    """(name, weight layer, activation that follows it or None) in forward order.
    Normalisation/pooling/dropout between a layer and its activation are skipped over."""
    with _call_order(model) as order:
        model(x)
    pairs, pending = [], None
    for name, mod in order:
        if isinstance(mod, WEIGHT_LAYERS):
            if pending is not None:
                pairs.append((*pending, None))
            pending = (name, mod)
        elif pending is not None and isinstance(mod, OUTPUT_TYPES):
            pairs.append((*pending, mod))
            pending = None
    if pending is not None:
        pairs.append((*pending, None))
    return pairs


@torch.no_grad()
def final_module(model: nn.Module, x: torch.Tensor) -> nn.Module | None:
    with _call_order(model) as order:
        model(x)
    return order[-1][1] if order else None


# ───────────────────────────── checks (one verdict each) ─────────────────────────────
@dataclass
class Verdict:
    check: str
    status: str
    reason: str
    details: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")

    def line(self) -> str:
        return f"{self.status.upper():4}  {self.check:<16} {self.reason}"


def check_dead_units(model, x, threshold: float = DEFAULT_THRESHOLD) -> Verdict:
    """Gradient-dead units on the sample, worst layer; bands follow the tutorial's action
    table (< 15% fine, 15-30% consider LeakyReLU, >= 30% severe)."""
    mon = measure_dead_units(model, x, threshold=threshold)
    df = mon.frame()
    if df.empty:
        return Verdict("dead_units", "pass", "no elementwise activation modules to watch")
    df["dead_pct"] = 100 * df["dead_gradient"] / df["units"]
    worst = df.loc[df["dead_pct"].idxmax()]
    overall = 100 * mon.dead_fraction("gradient")
    detail = (f"{overall:.1f}% of {int(df['units'].sum())} units have |f'(z)| < {threshold:g} on all "
              f"{int(worst['samples'])} samples; worst layer {worst['layer']} ({worst['activation']}) "
              f"{worst['dead_pct']:.1f}%")
    status = "fail" if worst["dead_pct"] >= 30 else "warn" if worst["dead_pct"] >= 15 else "pass"
    return Verdict("dead_units", status, detail, {"overall_pct": overall, "worst_pct": float(worst["dead_pct"])})


def check_gradients(model, x, y=None, loss_fn=None) -> Verdict:
    """Input-layer vs output-layer weight-gradient ratio after one backward pass."""
    g = gradient_magnitudes(model, x, y, loss_fn)
    if len(g) < 2:
        return Verdict("gradient_flow", "pass", "fewer than two weight layers; nothing to compare")
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


def check_init(model, x) -> Verdict:
    """Weight variance of each layer against the registry's recommended init for the
    activation that follows it. Meaningful for freshly initialised models."""
    pairs = layer_activation_pairs(model, x)
    rows, log2_total = [], 0.0
    for name, layer, act in pairs:
        act_name = activation_name(act) if act is not None else None
        if act_name is None:
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
        return Verdict("init", "pass", "no layer is followed by a registry activation; nothing to check")
    bad = [r for r in rows if abs(math.log2(r[4])) > 0.5]
    if not bad:
        return Verdict("init", "pass", f"all {len(rows)} layers within a factor sqrt(2) of the variance the "
                       f"registry recommends for their activation")
    first = bad[0]
    shrink = 2.0 ** log2_total
    example = (f"{first[0]} feeds {first[1]} with constant weights (zero variance)" if first[3] == "constant"
               else f"{first[0]} feeds {first[1]} with {first[3]}-like weights (Var = {first[4]:.2g} x the "
                    f"{first[2]} variance)")
    text = (f"{len(bad)}/{len(rows)} layers mismatched, e.g. {example}; compounded, the forward signal "
            f"variance is {shrink:.2g} x what the recommended init would give")
    status = "fail" if abs(log2_total) * math.log10(2) >= 3 else "warn"
    return Verdict("init", status, text, {"compounded_variance_ratio": shrink, "mismatched": len(bad)})


_REGRESSION_LOSSES = (nn.MSELoss, nn.L1Loss, nn.SmoothL1Loss, nn.HuberLoss)


def check_output_loss(model, x, y=None, loss_fn=None) -> Verdict:
    """The output activation / loss / target combination (the tutorial's Mistake 3 table)."""
    if loss_fn is None or y is None:
        return Verdict("output_loss", "warn", "not checked: the factory supplied no loss and targets")
    with torch.no_grad():
        out = model(x).float()
    last = final_module(model, x)
    head = type(last).__name__ if isinstance(last, OUTPUT_TYPES) else "linear"
    width = out.shape[-1] if out.ndim > 1 else 1
    y_t = torch.as_tensor(y)
    integer_targets = not torch.is_floating_point(y_t)
    n_classes = int(y_t.max()) + 1 if integer_targets and y_t.numel() else 0
    lossname = type(loss_fn).__name__

    def v(status, reason):
        return Verdict("output_loss", status, f"{head} output ({width} wide) + {lossname}: {reason}")

    if isinstance(loss_fn, (nn.CrossEntropyLoss, nn.NLLLoss)):
        if isinstance(last, nn.Sigmoid):
            return v("fail", "sigmoid scores for mutually exclusive classes; feed raw logits to CrossEntropyLoss")
        if isinstance(loss_fn, nn.CrossEntropyLoss) and isinstance(last, (nn.Softmax, nn.LogSoftmax)):
            return v("fail", "CrossEntropyLoss applies log-softmax itself; remove the output softmax")
        if isinstance(loss_fn, nn.NLLLoss) and not isinstance(last, nn.LogSoftmax):
            return v("fail", "NLLLoss expects log-probabilities (LogSoftmax output)")
        if width == 1:
            return v("fail", "one output: cross-entropy over a single logit is constant; use BCEWithLogitsLoss")
        if n_classes > width:
            return v("fail", f"targets have {n_classes} classes but the model has {width} outputs")
        if isinstance(last, ELEMENTWISE_TYPES):
            return v("warn", "a hidden-style activation on the logits limits their range; use a linear output")
        return v("pass", f"logits for {width} exclusive classes")
    if isinstance(loss_fn, (nn.BCELoss, nn.BCEWithLogitsLoss)):
        if isinstance(last, nn.Softmax) and width == 2:
            return v("warn", "two-way softmax is sigmoid of the logit difference: redundant; use one logit "
                     "with BCEWithLogitsLoss")
        if integer_targets and n_classes > 2 and width > 1 and not torch.all((y_t == 0) | (y_t == 1)):
            return v("fail", f"class indices with {n_classes} classes: multi-class needs CrossEntropyLoss")
        if float(y_t.min()) < 0 or float(y_t.max()) > 1:
            return v("fail", "BCE targets must lie in [0, 1]")
        if isinstance(loss_fn, nn.BCEWithLogitsLoss):
            if isinstance(last, (nn.Sigmoid, nn.Softmax)):
                return v("fail", "BCEWithLogitsLoss applies the sigmoid itself; the output is squashed twice")
            return v("pass", "logits with a built-in sigmoid (binary or multi-label)")
        if isinstance(last, nn.Sigmoid):
            return v("pass", "probabilities for binary or multi-label targets")
        if float(out.min()) < 0 or float(out.max()) > 1:
            return v("fail", "BCELoss needs probabilities in [0, 1]; add a sigmoid or use BCEWithLogitsLoss")
        return v("warn", "outputs happen to lie in [0, 1] but no sigmoid guarantees it")
    if isinstance(loss_fn, _REGRESSION_LOSSES):
        if isinstance(last, nn.Sigmoid) and width > 2 and integer_targets:
            return v("fail", "sigmoid per class on class labels: use logits with CrossEntropyLoss")
        y_f = y_t.float()
        neg = float((y_f < 0).float().mean())
        low, high = float(out.min()), float(out.max())
        if isinstance(last, (nn.ReLU, nn.ReLU6, nn.Softplus)) or (low >= 0 and neg > 0 and head != "linear"):
            if neg > 0:
                return v("fail", f"the output cannot be negative but {100 * neg:.0f}% of the targets are")
        if isinstance(last, nn.Sigmoid) and (float(y_f.min()) < 0 or float(y_f.max()) > 1):
            return v("fail", "sigmoid output is confined to (0, 1) but the targets leave that range")
        if isinstance(last, nn.Tanh) and (float(y_f.min()) < -1 or float(y_f.max()) > 1):
            return v("fail", "tanh output is confined to (-1, 1) but the targets leave that range")
        if isinstance(last, (nn.Softmax, nn.LogSoftmax)):
            return v("warn", "a softmax output for a regression loss")
        if head == "linear":
            return v("pass", f"unbounded output for targets in [{float(y_f.min()):.3g}, {float(y_f.max()):.3g}]")
        return v("pass", f"bounded output [{low:.3g}, {high:.3g}] covers targets in "
                 f"[{float(y_f.min()):.3g}, {float(y_f.max()):.3g}]")
    return Verdict("output_loss", "warn", f"{lossname} is not in the checked table; not checked")


def check_sparsity(model, x) -> Verdict:
    """Exactly-zero activations per layer: informative; a layer that is all zeros blocks everything."""
    mon = measure_dead_units(model, x, derivative=False)
    df = mon.frame()
    if df.empty:
        return Verdict("sparsity", "pass", "no elementwise activation modules to watch")
    worst = df.loc[df["exact_zero_fraction"].idxmax()]
    mean_zero = float((df["exact_zero_fraction"] * df["units"]).sum() / df["units"].sum())
    text = (f"{100 * mean_zero:.1f}% of activations are exactly 0 ({100 * float((df['near_zero_fraction'] * df['units']).sum() / df['units'].sum()):.1f}% "
            f"below {NEAR_ZERO:g}); most in {worst['layer']} ({100 * worst['exact_zero_fraction']:.1f}%)")
    status = "fail" if worst["exact_zero_fraction"] >= 1.0 else "warn" if worst["exact_zero_fraction"] >= 0.9 else "pass"
    if status == "fail":
        text = "a layer outputs only zeros, so the output ignores the input: " + text
    return Verdict("sparsity", status, text, {"exact_zero_fraction": mean_zero})


def diagnose(model: nn.Module, x: torch.Tensor, y=None, loss_fn=None,
             threshold: float = DEFAULT_THRESHOLD) -> list[Verdict]:
    """Run every check; the model's parameters are not changed."""
    return [
        check_dead_units(model, x, threshold),
        check_gradients(model, x, y, loss_fn),
        check_init(model, x),
        check_output_loss(model, x, y, loss_fn),
        check_sparsity(model, x),
    ]


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


def add_subparser(sub) -> None:
    """Register ``diagnose`` on the actbench command line."""
    p = sub.add_parser("diagnose", help="run the activation diagnostics on a model: one verdict per check")
    p.add_argument("factory", metavar="MODULE:FACTORY", help=FACTORY_HELP)
    p.add_argument("--samples", type=int, default=256, help="input sample size when the factory gives none")
    p.add_argument("--seed", type=int, default=0, help="seed for the factory and the synthesised sample")
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                   help=f"gradient-dead threshold on |f'(z)| (default {DEFAULT_THRESHOLD:g})")
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
