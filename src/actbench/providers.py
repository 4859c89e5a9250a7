"""Benchmark providers: the different ways one registry activation can be run.

A provider turns a registry entry into something the kernel benchmark can time:

* :class:`Autograd` - a callable ``x -> y`` that allocates ``y``; its backward pass is
  whatever autograd records for it;
* :class:`Preallocated` - ``forward(x, out)`` and ``backward(grad_out, x, y, grad_in)``
  writing into buffers allocated once (PyTorch's ``out=`` overloads).

``PROVIDERS`` is the table the kernels study iterates; adding a provider is one entry.
Every provider is checked against the registry's float64 reference (:func:`check`)
before the study times it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable

import torch

from actbench.activations import SELU_ALPHA, SELU_LAMBDA, Activation
from actbench.devices import DEVICES, TRITON_DEVICES

Tensor = torch.Tensor
A = torch.ops.aten


@dataclass(frozen=True)
class Autograd:
    fn: Callable[[Tensor], Tensor]


@dataclass(frozen=True)
class Preallocated:
    forward: Callable[[Tensor, Tensor], object]
    backward: Callable[[Tensor, Tensor, Tensor, Tensor], object] | None


@dataclass(frozen=True)
class Provider:
    """One way to run an activation, with what it needs and what it is.

    Everything that lists providers derives from these declarations: the kernels study's
    ``--providers`` and the config schema's enum, the default per device, the report's
    columns and ``gpu-check``'s summary."""

    name: str
    description: str
    # make(spec, params) -> an implementation, or a string saying why there is none
    make: Callable[[Activation, dict], "Autograd | Preallocated | str"]
    devices: tuple[str, ...] = tuple(DEVICES)  # where it runs (actbench.devices names)
    allocates_output: bool = True  # False: writes into preallocated buffers (out= kernels)
    compiles: bool = False  # its first call compiles (warmed up outside every timed region)
    roofline_target: bool = False  # held to timing.ROOFLINE_TARGETS (our own kernels)
    cost_column: bool = True  # a column of the report's cost-vs-ReLU table beside the tutorial's


# --- eager_out: PyTorch's own kernels writing into preallocated buffers -------------------
# (forward(x, out, **params), backward(grad_out, x, y, grad_in, **params) or None)
# Only entries with an ATen `out=` overload for both directions are listed; the others
# (prelu, swish_beta; mish has no backward `out=`) are reported as unavailable.
OUT_OPS: dict[str, tuple[Callable, Callable | None]] = {
    # ReLU's forward through clamp_min: aten::relu.out is several times slower than the
    # kernel torch.relu itself runs (clamp_min) on this CPU, which made every ratio to ReLU
    # in this provider wrong (the kernel_cost study times both; see docs/kernels.md).
    "relu": (lambda x, out: A.clamp_min.out(x, 0.0, out=out),
             lambda g, x, y, out: A.threshold_backward.grad_input(g, x, 0, grad_input=out)),
    "relu6": (lambda x, out: A.hardtanh.out(x, 0.0, 6.0, out=out),
              lambda g, x, y, out: A.hardtanh_backward.grad_input(g, x, 0.0, 6.0, grad_input=out)),
    "leaky_relu": (lambda x, out, negative_slope: A.leaky_relu.out(x, negative_slope, out=out),
                   lambda g, x, y, out, negative_slope: A.leaky_relu_backward.grad_input(
                       g, x, negative_slope, False, grad_input=out)),
    "elu": (lambda x, out, alpha: A.elu.out(x, alpha, 1.0, 1.0, out=out),
            lambda g, x, y, out, alpha: A.elu_backward.grad_input(g, alpha, 1.0, 1.0, False, x, grad_input=out)),
    "selu": (lambda x, out: A.elu.out(x, SELU_ALPHA, SELU_LAMBDA, 1.0, out=out),
             lambda g, x, y, out: A.elu_backward.grad_input(g, SELU_ALPHA, SELU_LAMBDA, 1.0, False, x,
                                                           grad_input=out)),
    "gelu": (lambda x, out: A.gelu.out(x, out=out),
             lambda g, x, y, out: A.gelu_backward.grad_input(g, x, grad_input=out)),
    "gelu_tanh": (lambda x, out: A.gelu.out(x, approximate="tanh", out=out),
                  lambda g, x, y, out: A.gelu_backward.grad_input(g, x, approximate="tanh", grad_input=out)),
    "silu": (lambda x, out: A.silu.out(x, out=out),
             lambda g, x, y, out: A.silu_backward.grad_input(g, x, grad_input=out)),
    # sigmoid and tanh differentiate through their saved output y, as autograd does
    "sigmoid": (lambda x, out: A.sigmoid.out(x, out=out),
                lambda g, x, y, out: A.sigmoid_backward.grad_input(g, y, grad_input=out)),
    "tanh": (lambda x, out: A.tanh.out(x, out=out),
             lambda g, x, y, out: A.tanh_backward.grad_input(g, y, grad_input=out)),
    "hardswish": (lambda x, out: A.hardswish.out(x, out=out),
                  lambda g, x, y, out: A.hardswish_backward.out(g, x, out=out)),
    "mish": (lambda x, out: A.mish.out(x, out=out), None),
    "softplus": (lambda x, out: A.softplus.out(x, 1.0, 20.0, out=out),
                 lambda g, x, y, out: A.softplus_backward.grad_input(g, x, 1.0, 20.0, grad_input=out)),
}


def _eager(spec: Activation, params: dict):
    if spec.torch_builtin is None:
        return "no PyTorch builtin"
    return Autograd(functools.partial(spec.torch_builtin, **params))


def _eager_out(spec: Activation, params: dict):
    ops = OUT_OPS.get(spec.name)
    if ops is None:
        return "no ATen out= overload"
    forward, backward = ops
    return Preallocated(functools.partial(forward, **params),
                        functools.partial(backward, **params) if backward else None)


def _manual(spec: Activation, params: dict):
    if spec.manual is None:
        return "no manual composition in the registry"
    return Autograd(functools.partial(spec.manual, **params))


def _compile(spec: Activation, params: dict):
    impl = spec.torch_builtin or spec.manual  # what a user would wrap in torch.compile
    if impl is None:
        return "nothing to compile"

    def run(x):
        return impl(x, **params)

    # torch.compile keeps compiled graphs on the function's code object. A code object of
    # its own per activation keeps the caches apart: no guard checks against other
    # activations' graphs on every call, and no silent fall-back to eager once a shared
    # code object hits dynamo's recompile limit. dynamic=True: one graph serves every size.
    run.__code__ = run.__code__.replace(co_name=f"compiled_{spec.name}")
    # The benchmark runs one recorded backward many times (retain_graph=True); buffer
    # donation (the compiled backward reusing saved tensors' memory) forbids that.
    import torch._functorch.config as functorch_config

    functorch_config.donated_buffer = False
    return Autograd(torch.compile(run, dynamic=True))


def _triton(spec: Activation, params: dict):
    try:
        import actbench.kernels as kernels  # registers spec.implementations["triton"]
    except Exception as exc:  # not written yet, or triton unusable on this machine
        return f"actbench.kernels unavailable ({type(exc).__name__}: {exc})"
    impl = spec.implementations.get("triton")
    if impl is None and hasattr(kernels, "activation"):
        impl = functools.partial(kernels.activation, spec.name)
    if impl is None:
        return "no Triton kernel registered"
    return Autograd(functools.partial(impl, **params))


PROVIDERS: dict[str, Provider] = {p.name: p for p in [
    Provider("eager", "PyTorch builtin (torch / F.*), allocates its output", _eager),
    Provider("eager_out", "PyTorch's kernels writing into preallocated buffers (out=)", _eager_out,
             allocates_output=False),
    # the composition is shown per provider on the page, not beside the tutorial's costs
    Provider("manual", "the formula composed from primitives, as tutorials write it", _manual, cost_column=False),
    Provider("compile", "torch.compile of the builtin (or of the composition where none exists)", _compile,
             compiles=True),
    # Triton compiles for the devices that say so; on the CPU only its interpreter runs,
    # and timing an interpreter means nothing.
    Provider("triton", "our Triton kernels (actbench.kernels)", _triton, devices=TRITON_DEVICES, compiles=True,
             roofline_target=True),
]}
# The pair behind the allocation lesson: the canonical builtin, and the same kernels into buffers.
CANONICAL = "eager"
PREALLOCATED = next(name for name, p in PROVIDERS.items() if not p.allocates_output)


def available_providers(device: str) -> list[str]:
    return [name for name, p in PROVIDERS.items() if device in p.devices]


def device_problem(names, device: str, which: str = "") -> str | None:
    """Why some of ``names`` cannot run on ``device`` (None when all can), naming both;
    ``which`` says whose device it is (e.g. ", this machine's device")."""
    bad = [n for n in names if device not in PROVIDERS[n].devices]
    if not bad:
        return None
    where = "; ".join(f"{n} runs on {', '.join(PROVIDERS[n].devices)} only" for n in bad)
    return (f"provider(s) {', '.join(bad)} cannot run on {device}{which} ({where}); "
            f"allowed on {device}: {', '.join(available_providers(device))}")


def bind_params(spec: Activation, device, dtype) -> dict:
    """The entry's default parameters; learnable ones as 1-element tensors on the device
    (what a model would hold; PReLU's builtin needs its weight on the input's device)."""
    return {k: (torch.tensor([float(v)], device=device, dtype=dtype) if k in spec.learnable else v)
            for k, v in spec.params.items()}


# --- correctness check before timing -------------------------------------------------------
# Relative L2 error allowed against the float64 reference on the same (rounded) input.
# Low-precision compositions round after every primitive, hence the looser bounds.
TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-4, torch.bfloat16: 3e-2, torch.float16: 2e-2}


@dataclass
class Check:
    forward_rel_l2: float = float("nan")
    grad_rel_l2: float = float("nan")
    forward_ok: bool = False
    backward_ok: bool = False
    problems: list[str] = field(default_factory=list)


def probe_input(dtype, device, seed: int = 0) -> Tensor:
    """A dense sweep of [-8, 8] plus standard-normal draws (65537 values: odd, to hit tails).

    The sweep has 4096 points, so no point falls exactly on a kink (0, ±3, 6), where
    libraries legitimately pick different one-sided derivatives.
    """
    gen = torch.Generator().manual_seed(seed)
    x = torch.cat([torch.linspace(-8, 8, 4096, dtype=torch.float64),
                   torch.randn(61441, generator=gen, dtype=torch.float64)])
    return x.to(device=device, dtype=dtype)


def _rel_l2(value: Tensor, reference: Tensor) -> float:
    return ((value.double() - reference).norm() / reference.norm()).item()


def _judge(result: Check, what: str, value: Tensor, reference: Tensor, tol: float) -> tuple[float, bool]:
    """Relative L2 error against the reference and whether it is within ``tol`` (noted if not)."""
    err = _rel_l2(value, reference)
    if not err <= tol:
        result.problems.append(f"{what} relative L2 error {err:.3g} > {tol:g}")
    return err, err <= tol


def check(impl, spec: Activation, x: Tensor, seed: int = 0) -> Check:
    """Compare an implementation's output and input gradient with the registry's float64 reference."""
    tol = TOLERANCE[x.dtype]
    x64 = x.double()
    gen = torch.Generator().manual_seed(seed + 1)
    g = torch.randn(x.shape, generator=gen, dtype=torch.float64).to(device=x.device, dtype=x.dtype)
    ref_y = spec.f(x64.cpu()).to(x.device)
    ref_grad = (spec.df(x64.cpu()) * g.double().cpu()).to(x.device)
    result = Check()
    try:
        if isinstance(impl, Preallocated):
            y = torch.empty_like(x)
            impl.forward(x, y)
        else:
            y = impl.fn(x)
        result.forward_rel_l2, result.forward_ok = _judge(result, "forward", y, ref_y, tol)
    except Exception as exc:
        result.problems.append(f"forward raised {type(exc).__name__}: {exc}")
        return result
    try:
        if isinstance(impl, Preallocated):
            if impl.backward is None:
                result.problems.append("no backward out= overload")
                return result
            grad = torch.empty_like(x)
            impl.backward(g, x, y, grad)
        else:
            xr = x.detach().requires_grad_()
            (grad,) = torch.autograd.grad(impl.fn(xr), xr, g)
        result.grad_rel_l2, result.backward_ok = _judge(result, "gradient", grad, ref_grad, tol)
    except Exception as exc:
        result.problems.append(f"backward raised {type(exc).__name__}: {exc}")
    return result
