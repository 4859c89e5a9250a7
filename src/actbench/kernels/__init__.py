"""Triton forward and backward kernels for every elementwise activation in the registry.

Use:

* ``activation(name, x, **params)``: autograd-aware function, like ``F.gelu``;
* ``TritonActivation(name, **params)``: ``nn.Module``, learnable parameters become
  ``nn.Parameter`` (``num_parameters=C`` for a per-channel PReLU);
* ``activations.get(name).implementations["triton"]``: the same function, registered
  at import for every activation that has kernels;
* ``actbench.kernels.verify.verify(device)``: checks every kernel against the float64
  registry reference on a device and returns a table.

Layout: ``_template.py`` holds the two shared kernels and their launch code
(contiguity, masking, dtypes, parameters); ``ops/*.py`` hold one elementwise kernel
pair per activation; ``_math.py`` the numerical helpers; ``function.py`` the drop-ins.

Importing this package never fails: without triton, or without a CUDA device (and
without the interpreter), nothing is registered and calling a kernel raises an error
saying why. To run the kernels on the CPU, set ``TRITON_INTERPRET=1`` before this
package is first imported (Triton decides at decoration time whether a kernel is
compiled or interpreted); the tests in ``tests/kernels`` do this in their conftest.
"""

from __future__ import annotations

import functools
import os

from actbench import activations, devices
from actbench.kernels.function import TritonActivation, TritonActivationFunction, activation

__all__ = ["activation", "TritonActivation", "TritonActivationFunction", "available", "interpreted"]


def interpreted() -> bool:
    """Whether Triton runs kernels with its CPU interpreter (TRITON_INTERPRET)."""
    try:
        import triton

        return bool(triton.knobs.runtime.interpret)
    except (ImportError, AttributeError):
        return os.environ.get("TRITON_INTERPRET", "0").lower() in ("1", "true", "on", "yes")


@functools.cache
def _missing_triton() -> str | None:
    """Why triton cannot be used (None when it can)."""
    try:
        import triton  # noqa: F401
    except Exception as err:  # a broken install must not break `import actbench.kernels`
        return f"triton cannot be imported ({type(err).__name__}: {err})"
    return None


def _require() -> None:
    reason = _missing_triton()
    if reason:
        raise RuntimeError(f"Triton activation kernels are unavailable: {reason}")


def available() -> bool:
    """True when the kernels can run here: triton, plus a device it compiles for (a CUDA
    GPU) or the interpreter."""
    compiled = any(devices.get(d).available() for d in devices.TRITON_DEVICES)
    return _missing_triton() is None and (compiled or interpreted())


def _register() -> None:
    if not available():
        return
    from actbench.kernels.ops import KERNELS

    for name in KERNELS:
        activations.get(name).implementations["triton"] = functools.partial(activation, name)


_register()
