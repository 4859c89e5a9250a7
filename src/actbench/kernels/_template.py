"""The two kernels every activation shares, and the Python code that launches them.

An activation contributes only elementwise functions (a ``KernelPair`` in ``ops/``);
the kernels here pass them in as compile-time constants, so each activation still
gets its own compiled kernel with the function inlined.

What the template takes care of, once for all activations:

* **Shapes and non-contiguous inputs.** The input is made contiguous
  (``x.contiguous()``: a copy only when it is not already) and processed as a flat
  array of ``numel`` values; the result is a new contiguous tensor of the input's
  shape. A transposed or sliced input therefore costs one extra copy, and the result
  does not keep the input's strides (values and shape are what callers rely on).
* **Any size.** One program per ``BLOCK`` values (``launch_config``: per dtype); the
  last block is masked. Offsets are 64-bit so tensors beyond 2^31 elements work.
* **Dtypes.** float32, bfloat16 and float16 are loaded, computed in float32 and
  stored back in the input dtype (rounded to nearest even). float64 is computed in
  float64 (used for ``torch.autograd.gradcheck``). Triton's interpreter (3.9)
  converts bfloat16 wrongly (float32 -> bfloat16 rounds towards zero and its
  round-to-nearest mode mishandles the carry; bfloat16 subnormals load as 0), so
  under the interpreter bfloat16 is converted in software (``_load``, ``_store``);
  compiled kernels use the hardware conversions.
* **Parameters.** An activation has at most one parameter ``p``, passed as a tensor
  so learnable values never leave the device: a scalar, or (``per_channel``) one
  value per channel of dimension 1, as ``nn.PReLU`` does.
* **Parameter gradients.** The backward kernel also computes grad * df/dp. For a
  scalar parameter each program stores the sum over its block (one value per
  block); for a per-channel parameter it stores one value per element. torch sums
  what is left (a small tensor, or the per-element buffer by channel).
"""

from __future__ import annotations

import functools
import math

import torch
import triton
import triton.language as tl

from actbench import devices

# --- launch configuration: BLOCK and num_warps per dtype -------------------------------
# The kernels are memory-bound (a few flops per byte), so the configuration is chosen for
# memory traffic, from what the PTX shows (`make gpu-preflight`; docs/reproduce.md, "GPU"):
#
# * Triton gives each thread BLOCK / (32 * num_warps) contiguous elements. With 16-byte
#   aligned pointers and n % 16 == 0 (the runtime detects both and specialises) it moves
#   them with 128-bit ld.global.v4.b32 / st.global.v4.b32: 4 float32 or 8 packed
#   bfloat16/float16 per instruction, the widest access sm_80 and sm_90 have.
# * One fixed BLOCK 1024 / 4 warps gives float32 8 elements per thread (two 128-bit loads
#   per tensor) but bfloat16 only one 128-bit load (half the bytes in flight per thread),
#   and 1024 / 8 warps drops bfloat16 to 64-bit ld.global.v2.b32.
# * So every dtype gets the same 32 bytes per thread per tensor, two 128-bit accesses:
#   BLOCK 1024 for float32, 2048 for bfloat16/float16 (512 for float64), 4 warps; a
#   program moves 4 KiB per tensor whatever the dtype.
# * Enough bytes in flight: an H200 needs about 4.8 TB/s x ~0.8 us = ~3.8 MB in flight,
#   ~30 KiB per SM (132 SMs). The benchmarked variants use at most 46 registers per
#   thread in bfloat16 and 40 in float32 (ptxas -v, sm_90, no spills), so at least 10
#   programs of 128 threads fit on an SM: 40 KiB of loads in flight per input tensor.
#   2^26 elements are 32k-64k programs: the last partial wave costs nothing.
# The GPU run (`python -m actbench gpu-check`, stage launch_config) times this choice and
# LAUNCH_ALTERNATIVES against a copy of the same bytes, to confirm or overturn it.
NUM_WARPS = 4
BYTES_PER_THREAD = 32  # per tensor: two 128-bit accesses


# (BLOCK, num_warps) the GPU run compares with launch_config's choice: 1024/4 is the old
# fixed configuration, 2048/4 twice the work per thread in float32, and the 8-warp ones
# fewer elements per thread (1024/8 gives bfloat16 64-bit accesses) from more threads.
LAUNCH_ALTERNATIVES = [(1024, 4), (2048, 4), (1024, 8), (2048, 8), (4096, 8)]


def launch_config(dtype: torch.dtype) -> tuple[int, int]:
    """(BLOCK, num_warps) for inputs of ``dtype``: 32 bytes per thread per tensor, 4 warps."""
    element_size = torch.finfo(dtype).bits // 8
    return NUM_WARPS * 32 * BYTES_PER_THREAD // element_size, NUM_WARPS


# How the parameter reaches the kernel (compile-time constants).
NO_PARAM, SCALAR, PER_CHANNEL = 0, 1, 2
# How the backward kernel returns the parameter gradient.
NO_PARAM_GRAD, PER_BLOCK_SUM, PER_ELEMENT = 0, 1, 2

SUPPORTED_DTYPES = (torch.float32, torch.bfloat16, torch.float16, torch.float64)


@triton.jit
def _load_param(p_ptr, offs, mask, inner, channels, PARAM: tl.constexpr, COMPUTE: tl.constexpr):
    if PARAM == 2:  # PER_CHANNEL: x is (N, C, *) contiguous, channel = (offset // inner) % C
        return tl.load(p_ptr + (offs // inner) % channels, mask=mask, other=0.0).to(COMPUTE)
    elif PARAM == 1:  # SCALAR
        return tl.load(p_ptr).to(COMPUTE)
    else:
        return 0.0


@triton.jit
def _round_to_bfloat16(x):
    """float32 -> bfloat16, round to nearest even, NaN kept (software, interpreter only)."""
    bits = x.to(tl.uint32, bitcast=True)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    quiet_nan = (bits >> 16) | 0x40  # rounding could carry a NaN's mantissa into inf
    return tl.where(x != x, quiet_nan, rounded).to(tl.uint16).to(tl.bfloat16, bitcast=True)


@triton.jit
def _load(ptr, offs, mask, COMPUTE: tl.constexpr, SOFTWARE_BF16: tl.constexpr):
    if SOFTWARE_BF16:  # bfloat16 is the upper half of a float32: widen the bits
        bits = tl.load(ptr + offs, mask=mask, other=0.0).to(tl.uint16, bitcast=True)
        return (bits.to(tl.uint32) << 16).to(tl.float32, bitcast=True).to(COMPUTE)
    else:
        return tl.load(ptr + offs, mask=mask, other=0.0).to(COMPUTE)


@triton.jit
def _store(ptr, offs, value, mask, SOFTWARE_BF16: tl.constexpr):
    if SOFTWARE_BF16:
        tl.store(ptr + offs, _round_to_bfloat16(value), mask=mask)
    else:
        tl.store(ptr + offs, value.to(ptr.dtype.element_ty), mask=mask)


@triton.jit
def forward_kernel(x_ptr, y_ptr, p_ptr, n, inner, channels,
                   FORWARD: tl.constexpr, PARAM: tl.constexpr, COMPUTE: tl.constexpr,
                   SOFTWARE_BF16: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = _load(x_ptr, offs, mask, COMPUTE, SOFTWARE_BF16)
    p = _load_param(p_ptr, offs, mask, inner, channels, PARAM, COMPUTE)
    _store(y_ptr, offs, FORWARD(x, p), mask, SOFTWARE_BF16)


@triton.jit
def backward_kernel(x_ptr, g_ptr, dx_ptr, p_ptr, dp_ptr, n, inner, channels,
                    BACKWARD: tl.constexpr, PARAM_GRAD_FN: tl.constexpr, PARAM: tl.constexpr,
                    PARAM_GRAD: tl.constexpr, COMPUTE: tl.constexpr, SOFTWARE_BF16: tl.constexpr,
                    BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = _load(x_ptr, offs, mask, COMPUTE, SOFTWARE_BF16)
    g = _load(g_ptr, offs, mask, COMPUTE, SOFTWARE_BF16)
    p = _load_param(p_ptr, offs, mask, inner, channels, PARAM, COMPUTE)
    _store(dx_ptr, offs, g * BACKWARD(x, p), mask, SOFTWARE_BF16)
    if PARAM_GRAD == 2:  # PER_ELEMENT
        tl.store(dp_ptr + offs, g * PARAM_GRAD_FN(x, p), mask=mask)
    elif PARAM_GRAD == 1:  # PER_BLOCK_SUM; masked lanes must not add anything
        dp = tl.where(mask, g * PARAM_GRAD_FN(x, p), 0.0)
        tl.store(dp_ptr + pid, tl.sum(dp, axis=0))


# --- launching ------------------------------------------------------------------------
def compute_dtype(dtype: torch.dtype):
    return tl.float64 if dtype == torch.float64 else tl.float32


def interpreted_kernels() -> bool:
    """Whether these kernels were decorated for Triton's interpreter (decided at import)."""
    from triton.runtime.interpreter import InterpretedFunction

    return isinstance(forward_kernel, InterpretedFunction)


def _software_bf16(dtype: torch.dtype) -> bool:
    return dtype == torch.bfloat16 and interpreted_kernels()


def _torch_compute_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


def check_input(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(x).__name__}")
    if x.dtype not in SUPPORTED_DTYPES:
        allowed = ", ".join(str(d).removeprefix("torch.") for d in SUPPORTED_DTYPES)
        raise TypeError(f"Triton activation kernels take {allowed}; got {x.dtype}")
    kind = x.device.type
    if kind not in devices.TRITON_DEVICES and not (kind == devices.CPU.name and interpreted_kernels()):
        where = " or ".join(devices.get(d).label for d in devices.TRITON_DEVICES)
        raise RuntimeError(
            f"Triton kernels run on tensors on a {where}; got a tensor on {x.device}. On the CPU set "
            "TRITON_INTERPRET=1 before importing actbench.kernels (Triton's interpreter, slow)."
        )


def _param_layout(pair, x: torch.Tensor, param: torch.Tensor | None):
    """(mode, inner, channels) for the parameter: see _load_param."""
    if param is None:
        return NO_PARAM, 1, 1
    if param.numel() == 1:
        return SCALAR, 1, 1
    channels = x.shape[1] if x.ndim >= 2 else 0
    if not pair.per_channel or channels != param.numel():
        raise ValueError(
            f"per-channel parameter has {param.numel()} values but input shape is {tuple(x.shape)}; "
            "channels are dimension 1" + ("" if pair.per_channel else " (this activation takes a scalar)")
        )
    return PER_CHANNEL, math.prod(x.shape[2:]), channels


@functools.lru_cache(maxsize=None)
def fixed_param(value: float, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A fixed (non-learnable) parameter as a cached 0-d tensor on the device.

    Cached so that a call does not copy a number to the GPU each time.
    """
    return torch.tensor(float(value), dtype=_torch_compute_dtype(dtype), device=device)


def forward(pair, x: torch.Tensor, param: torch.Tensor | None,
            config: tuple[int, int] | None = None) -> torch.Tensor:
    """f(x) in a new tensor; ``config`` overrides launch_config (only to compare configurations)."""
    x = x.contiguous()
    y = torch.empty_like(x)
    n = x.numel()
    if n == 0:
        return y
    mode, inner, channels = _param_layout(pair, x, param)
    block, num_warps = config or launch_config(x.dtype)
    forward_kernel[(triton.cdiv(n, block),)](
        x, y, _flat(param), n, inner, channels,
        FORWARD=pair.forward, PARAM=mode, COMPUTE=compute_dtype(x.dtype),
        SOFTWARE_BF16=_software_bf16(x.dtype), BLOCK=block, num_warps=num_warps,
    )
    return y


def backward(pair, x: torch.Tensor, param: torch.Tensor | None, grad: torch.Tensor, need_param_grad: bool,
             config: tuple[int, int] | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(grad * df/dx, sum of grad * df/dp in the parameter's shape, or None); ``config`` as in forward."""
    x, grad = x.contiguous(), grad.contiguous()
    dx = torch.empty_like(x)
    n = x.numel()
    mode, inner, channels = _param_layout(pair, x, param)
    need_param_grad = need_param_grad and param is not None and pair.param_grad is not None
    if n == 0:
        return dx, (torch.zeros_like(param) if need_param_grad else None)

    block, num_warps = config or launch_config(x.dtype)
    blocks = triton.cdiv(n, block)
    acc_dtype = _torch_compute_dtype(x.dtype)
    if not need_param_grad:
        grad_mode, dp = NO_PARAM_GRAD, None
    elif mode == PER_CHANNEL:
        grad_mode, dp = PER_ELEMENT, torch.empty(n, dtype=acc_dtype, device=x.device)
    else:
        grad_mode, dp = PER_BLOCK_SUM, torch.empty(blocks, dtype=acc_dtype, device=x.device)

    backward_kernel[(blocks,)](
        x, grad, dx, _flat(param), dp, n, inner, channels,
        BACKWARD=pair.backward, PARAM_GRAD_FN=pair.param_grad, PARAM=mode, PARAM_GRAD=grad_mode,
        COMPUTE=compute_dtype(x.dtype), SOFTWARE_BF16=_software_bf16(x.dtype), BLOCK=block,
        num_warps=num_warps,
    )
    if dp is None:
        return dx, None
    if grad_mode == PER_ELEMENT:
        dp = dp.view(x.shape[0], channels, inner).sum(dim=(0, 2))
    else:
        dp = dp.sum()
    return dx, dp.to(param.dtype).reshape(param.shape)


def _flat(param: torch.Tensor | None):
    return None if param is None else param.detach().contiguous()
