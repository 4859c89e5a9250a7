"""Check every Triton kernel against the registry's float64 reference, on any device.

``verify(device)`` is what the GPU check runs; the tests run the same comparison on
the CPU under Triton's interpreter. The tolerances below are the only ones: tests
import them from here.

How an output is compared with its reference (both as float64):

* ``rel_l2 = ||out - ref||_2 / max(||ref||_2, sqrt(numel))``: relative L2 error; the
  floor sqrt(numel) (an RMS of 1) keeps outputs that are all close to 0 (relu of
  negative inputs, gelu far left) from dividing by almost nothing.
* ``max_abs = max |out - ref|``, allowed up to ``tolerance * scale`` with
  ``scale = max(1, max |ref|)``: the error of a stored value grows with its size.

The reference is the registry formula (``spec.f``, ``spec.df``, parameter
derivatives) evaluated in float64 on the *rounded* input, so the tolerances cover
only what the kernel adds: computing in float32 and rounding the result to the
output dtype. With u the unit roundoff of the output dtype (2^-8 bfloat16, 2^-11
float16, 2^-24 float32), rounding alone bounds every element's relative error by u,
so max_abs <= u * scale and rel_l2 <= u. For bfloat16 and float16 the tolerances
are rel_l2 1.5u and max_abs 2u (room for the float32 arithmetic, which is ~100x
smaller than u). For float32 the arithmetic dominates (exp, erf, divisions of a few
ulp each; on NVIDIA ``tl.exp`` is ``ex2.approx``): rel_l2 16u and max_abs 64u, about
10x what the interpreter shows (1u and 5u), to absorb GPU approximations.

Parameter gradients (PReLU alpha, Swish beta, learnable ELU alpha) are sums over all
elements, accumulated in float32 whatever the input dtype; their error is measured
relative to the sum of the magnitudes of the summed terms.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from actbench import activations, devices

U = {"bfloat16": 2.0**-8, "float16": 2.0**-11, "float32": 2.0**-24, "float64": 2.0**-53}


@dataclass(frozen=True)
class Tolerance:
    rel_l2: float
    max_abs: float  # times scale = max(1, max |reference|)


TOLERANCES = {
    "bfloat16": Tolerance(rel_l2=1.5 * U["bfloat16"], max_abs=2 * U["bfloat16"]),
    "float16": Tolerance(rel_l2=1.5 * U["float16"], max_abs=2 * U["float16"]),
    "float32": Tolerance(rel_l2=16 * U["float32"], max_abs=64 * U["float32"]),
    # float64 exists for gradcheck; its expm1 series is accurate to ~1e-11 (see _math).
    "float64": Tolerance(rel_l2=1e-10, max_abs=1e-10),
}
# Parameter gradients: float32 accumulation, error relative to the sum of |terms|.
PARAM_GRAD_TOLERANCE = Tolerance(rel_l2=1e-5, max_abs=1e-5)

INPUT_LIMIT = 10.0  # verification inputs are uniform on [-10, 10]: every kink and tail
DEFAULT_SIZES = (1, 127, 1025, 2**20 + 3)
DEFAULT_DTYPES = ("float32", "bfloat16", "float16")


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def compare(out: torch.Tensor, ref: torch.Tensor, tol: Tolerance) -> dict:
    """Error metrics of ``out`` against the float64 ``ref`` and whether they pass ``tol``."""
    err = out.double() - ref
    numel = max(ref.numel(), 1)
    rel_l2 = (err.norm() / max(ref.norm().item(), numel**0.5)).item()
    max_abs = err.abs().max().item() if err.numel() else 0.0
    max_abs_tol = tol.max_abs * max(1.0, ref.abs().max().item() if ref.numel() else 0.0)
    # NaN errors compare False and fail
    passed = bool(rel_l2 <= tol.rel_l2 and max_abs <= max_abs_tol)
    return {"rel_l2": rel_l2, "rel_l2_tol": tol.rel_l2, "max_abs": max_abs,
            "max_abs_tol": max_abs_tol, "passed": passed}


def compare_sum(out: torch.Tensor, terms: torch.Tensor, dims, tol: Tolerance = PARAM_GRAD_TOLERANCE) -> dict:
    """Compare a summed gradient with the float64 sum of ``terms`` over ``dims``."""
    ref = terms.sum(dim=dims)
    magnitude = terms.abs().sum(dim=dims)
    err = (out.double() - ref).abs()
    rel_l2 = (err.norm() / max(magnitude.norm().item(), 1e-300)).item()
    max_abs = err.max().item()
    max_abs_tol = tol.max_abs * max(1.0, magnitude.max().item())
    return {"rel_l2": rel_l2, "rel_l2_tol": tol.rel_l2, "max_abs": max_abs,
            "max_abs_tol": max_abs_tol, "passed": bool(rel_l2 <= tol.rel_l2 and max_abs <= max_abs_tol)}


def sample_input(numel: int, dtype: torch.dtype, device, seed: int = 0, limit: float = INPUT_LIMIT):
    """Uniform values on [-limit, limit], drawn on the CPU so every device sees the same."""
    gen = torch.Generator().manual_seed(seed)
    x = (torch.rand(numel, generator=gen, dtype=torch.float64) * 2 - 1) * limit
    return x.to(dtype).to(device)


def check_activation(name: str, x: torch.Tensor, grad: torch.Tensor, **params) -> list[dict]:
    """Rows for one input: forward, backward (input gradient), and parameter gradients."""
    from actbench.kernels import activation

    spec = activations.get(name)
    tol = TOLERANCES[dtype_name(x.dtype)]
    values = {**spec.params, **params}
    learnable = {p: torch.as_tensor(values[p], dtype=torch.float32, device=x.device).requires_grad_()
                 for p in spec.learnable}
    x = x.detach().requires_grad_()
    y = activation(name, x, **{**values, **learnable})
    grads = torch.autograd.grad(y, [x, *learnable.values()], grad)

    x64, g64 = x.detach().double(), grad.double()
    ref_params = {**values, **{p: t.detach().double() for p, t in learnable.items()}}
    rows = [{"direction": "forward", **compare(y.detach(), spec.f(x64, **ref_params), tol)},
            {"direction": "backward", **compare(grads[0], g64 * spec.df(x64, **ref_params), tol)}]
    for (p, tensor), grad_p in zip(learnable.items(), grads[1:]):
        terms = g64 * activations.param_derivative(name, p, x64, **ref_params)
        # per-channel parameter: sum over every dimension except 1
        dims = [d for d in range(x.ndim) if not (tensor.numel() > 1 and d == 1)]
        rows.append({"direction": "param_grad", "param": p, **compare_sum(grad_p, terms, dims)})
    return rows


def verify(device: str | None = None, dtypes=DEFAULT_DTYPES, sizes=DEFAULT_SIZES, names=None, seed: int = 0):
    """Check every kernel (or ``names``) on ``device`` (default: the machine's accelerator); one row per
    (activation, dtype, numel, direction), direction in forward, backward and, for
    learnable parameters, param_grad. Needs pandas."""
    import pandas as pd

    from actbench.kernels.ops import KERNELS

    device = device or devices.default().name
    rows = []
    for name in names or list(KERNELS):
        for dtype in dtypes:
            torch_dtype = getattr(torch, dtype)
            for i, numel in enumerate(sizes):
                x = sample_input(numel, torch_dtype, device, seed=seed + i)
                grad = sample_input(numel, torch_dtype, device, seed=seed + 1000 + i, limit=1.0)
                for row in check_activation(name, x, grad):
                    rows.append({"activation": name, "dtype": dtype, "numel": numel, "device": str(device),
                                 "param": None, **row})
    columns = ["activation", "dtype", "numel", "direction", "param", "rel_l2", "rel_l2_tol",
               "max_abs", "max_abs_tol", "passed", "device"]
    return pd.DataFrame(rows, columns=columns)
