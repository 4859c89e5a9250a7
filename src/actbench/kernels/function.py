"""The drop-ins: ``activation(name, x, **params)`` and ``TritonActivation(name, **params)``.

Both are thin: they resolve the registry entry and its parameters, then call one
``torch.autograd.Function`` whose forward and backward launch the template kernels.
Only the input (and the parameter tensor, if any) is saved for backward; the backward
kernel recomputes what it needs from them.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from torch.autograd.function import once_differentiable

from actbench import activations


def _kernels():
    """The kernel table, imported on first use (it needs triton)."""
    from actbench.kernels import _require
    _require()
    from actbench.kernels.ops import KERNELS

    return KERNELS


class TritonActivationFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, param, name):
        from actbench.kernels import _template

        x = x.contiguous()  # saved as such: backward needs no second copy
        ctx.name = name
        ctx.save_for_backward(x, param)
        return _template.forward(_kernels()[name], x, param)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        from actbench.kernels import _template

        x, param = ctx.saved_tensors
        dx, dparam = _template.backward(_kernels()[ctx.name], x, param, grad, ctx.needs_input_grad[1])
        return (dx if ctx.needs_input_grad[0] else None), dparam, None


def _resolve_params(spec, params: dict) -> dict:
    unknown = sorted(set(params) - set(spec.params))
    if unknown:
        allowed = ", ".join(spec.params) or "none"
        raise ValueError(f"{spec.name!r} has no parameter {', '.join(map(repr, unknown))}; parameters: {allowed}")
    return {**spec.params, **params}


def _param_tensor(value, x: torch.Tensor) -> torch.Tensor:
    from actbench.kernels import _template

    if isinstance(value, torch.Tensor):
        if value.device != x.device:
            raise ValueError(f"parameter is on {value.device} but the input is on {x.device}")
        if not value.is_floating_point():
            raise TypeError(f"parameter must be a floating-point tensor, got {value.dtype}")
        return value
    if isinstance(value, (list, tuple)):
        return torch.tensor(value, dtype=torch.float32, device=x.device)
    return _template.fixed_param(float(value), x.dtype, x.device)


def activation(name: str, x: torch.Tensor, **params) -> torch.Tensor:
    """Apply the registry activation ``name`` with its Triton kernels (autograd-aware).

    ``params`` override the entry's defaults; a tensor parameter that requires grad
    (e.g. an ``nn.Parameter``) receives its gradient.
    """
    spec = activations.get(name)
    kernels = _kernels()
    from actbench.kernels import _template  # after _kernels(): it says why triton is missing

    if spec.name not in kernels:
        raise ValueError(f"no Triton kernel for {spec.name!r}; kernels exist for: {', '.join(kernels)}")
    _template.check_input(x)
    pair = kernels[spec.name]
    values = _resolve_params(spec, params)
    param = _param_tensor(values[pair.param], x) if pair.param else None
    return TritonActivationFunction.apply(x, param, spec.name)


class TritonActivation(nn.Module):
    """``nn.Module`` for a registry activation; learnable parameters become ``nn.Parameter``.

    ``num_parameters`` > 1 gives a per-channel parameter (channel dimension 1), as in
    ``nn.PReLU``; only activations whose kernels support it accept it (prelu).
    """

    def __init__(self, name: str, num_parameters: int = 1, **params):
        super().__init__()
        spec = activations.get(name)
        pair = _kernels().get(spec.name)
        if pair is None:
            raise ValueError(f"no Triton kernel for {spec.name!r}")
        if num_parameters > 1 and not (pair.per_channel and pair.param in spec.learnable):
            raise ValueError(f"{spec.name!r} has no per-channel learnable parameter; num_parameters must be 1")
        self.name = spec.name
        values = _resolve_params(spec, params)
        self.fixed = {k: v for k, v in values.items() if k not in spec.learnable}
        self.learnable = spec.learnable
        for p in spec.learnable:
            value = torch.as_tensor(values[p], dtype=torch.float32)
            if num_parameters > 1 and value.numel() == 1:
                value = value.reshape(()).expand(num_parameters)
            self.register_parameter(p, nn.Parameter(value.clone()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        params = {**self.fixed, **{p: getattr(self, p) for p in self.learnable}}
        return activation(self.name, x, **params)

    def extra_repr(self) -> str:
        fixed = ", ".join(f"{k}={v}" for k, v in self.fixed.items())
        return repr(self.name) + (", " + fixed if fixed else "")
