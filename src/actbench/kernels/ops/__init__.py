"""The kernel pairs: activation name -> elementwise ``@triton.jit`` functions.

A pair is what an activation contributes; the launch logic (loads, masks, dtypes,
grid) lives once in ``actbench.kernels._template``. Each function works on one block
of values already converted to the compute dtype (float32, or float64 for float64
inputs) and receives the activation's parameter ``p`` (ignored by parameter-free
activations):

* ``forward(x, p)``     -> f(x)
* ``backward(x, p)``    -> df/dx, recomputed from x (the only tensor saved)
* ``param_grad(x, p)``  -> df/dp, for a learnable parameter (summed by the template)

Files group activations by family; ``custom.py`` holds the worked example of
``docs/custom-activation.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class KernelPair:
    forward: Any                 # triton JITFunction (x, p) -> f(x)
    backward: Any                # triton JITFunction (x, p) -> df/dx
    param: str | None = None     # registry parameter passed to the kernels as p
    param_grad: Any = None       # triton JITFunction (x, p) -> df/dp, learnable p only
    per_channel: bool = False    # p may hold one value per channel (dimension 1)


KERNELS: dict[str, KernelPair] = {}


def kernel_pair(name: str, forward, backward, *, param=None, param_grad=None, per_channel=False) -> KernelPair:
    """Register the kernels of the registry entry ``name`` (called once per activation)."""
    if name in KERNELS:
        raise ValueError(f"kernels for {name!r} are already registered")
    pair = KernelPair(forward, backward, param, param_grad, per_channel)
    KERNELS[name] = pair
    return pair


# Importing the family modules fills KERNELS.
from actbench.kernels.ops import custom, exponential, gated, rectifiers, saturating  # noqa: E402,F401
