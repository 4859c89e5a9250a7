"""Compile every kernel variant for NVIDIA GPUs ahead of time, without a GPU, and check the PTX.

``python -m actbench.kernels.aot [--arch 80 90] [--dtypes float32 bfloat16 float16 float64]``

The interpreter that runs the tests on the CPU accepts code the GPU compiler rejects
(and the reverse), and it says nothing about speed. Triton ships its compiler and
``ptxas``, so every variant the runtime can launch is compiled here for each target
(sm_80: A100, sm_90: H100/H200) and its PTX is read:

* **Vector width.** A variant is compiled with the hints the runtime gives a launch on
  PyTorch tensors (16-byte-aligned pointers, ``n % 16 == 0``: Triton specialises on
  both). Every load and store of a data tensor must then be a 128-bit access
  (``ld.global.v4.b32`` / ``st.global.v4.b32``: 4 float32 or 8 packed bfloat16/float16),
  and there must be exactly as many as the launch configuration implies
  (``_template.launch_config``: bytes per thread / 16 per tensor). The only narrower
  accesses allowed are the parameter's (one scalar, or a per-channel gather) and the
  per-block parameter-gradient sum. float64 (gradcheck only) is compiled, not checked.
* **Registers.** ``ptxas -v`` on the PTX gives the registers per thread and the spill
  bytes; a spill fails the check (an elementwise kernel that spills is misconfigured).
* **The check itself.** One variant is also compiled *without* the hints; its loads must
  come out narrower than 128 bits, or the checker would be unable to tell.

Exits 1 when any check fails, with one line per problem.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import torch
import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource

from actbench.kernels import _template as T
from actbench.kernels.ops import KERNELS

POINTER = {"float32": "*fp32", "bfloat16": "*bf16", "float16": "*fp16", "float64": "*fp64"}
DTYPES = tuple(POINTER)
VECTOR_CHECKED = ("float32", "bfloat16", "float16")
ARCHS = (80, 90)
WIDE_BITS = 128  # the widest global access sm_80 and sm_90 have
HINT = [["tt.divisibility", 16]]  # what the runtime passes for an aligned pointer / n % 16 == 0

MEMORY_OP = re.compile(r"\b(ld|st)\.global((?:\.[\w:]+)*)")


@dataclass(frozen=True)
class Variant:
    """One compiled kernel: which function, for which dtype and parameter layout."""

    activation: str
    kernel: str  # "forward" or "backward"
    dtype: str
    param: int = T.NO_PARAM
    param_grad: int = T.NO_PARAM_GRAD

    @property
    def label(self) -> str:
        extra = {T.SCALAR: " p=scalar", T.PER_CHANNEL: " p=per-channel"}.get(self.param, "")
        extra += {T.PER_BLOCK_SUM: " dp=block-sum", T.PER_ELEMENT: " dp=per-element"}.get(self.param_grad, "")
        return f"{self.activation} {self.kernel} {self.dtype}{extra}"

    @property
    def torch_dtype(self) -> torch.dtype:
        return getattr(torch, self.dtype)


def variants(dtypes=DTYPES, names=None) -> list[Variant]:
    """Every (kernel, dtype, parameter layout, parameter-gradient layout) the launcher can pick.

    A learnable parameter's backward exists twice: with its gradient (training) and
    without (a parameter that does not require grad, as in the benchmark).
    """
    out = []
    for name, pair in KERNELS.items():
        if names and name not in names:
            continue
        modes = [T.NO_PARAM] if pair.param is None else [T.SCALAR] + ([T.PER_CHANNEL] if pair.per_channel else [])
        for dtype in dtypes:
            for mode in modes:
                out.append(Variant(name, "forward", dtype, mode))
                out.append(Variant(name, "backward", dtype, mode))
                if pair.param_grad is not None:
                    grad_mode = T.PER_ELEMENT if mode == T.PER_CHANNEL else T.PER_BLOCK_SUM
                    out.append(Variant(name, "backward", dtype, mode, grad_mode))
    return out


def source(v: Variant, aligned: bool = True) -> ASTSource:
    """The ASTSource the runtime builds for this variant (None arguments are constexprs)."""
    pair = KERNELS[v.activation]
    pointer = POINTER[v.dtype]
    compute_pointer = "*fp64" if v.dtype == "float64" else "*fp32"  # parameter and its gradient
    common = {"n": "i32", "inner": "i32", "channels": "i32"}
    if v.kernel == "forward":
        fn = T.forward_kernel
        signature = {"x_ptr": pointer, "y_ptr": pointer, "p_ptr": compute_pointer, **common}
        constexprs = {"FORWARD": pair.forward, "PARAM": v.param}
    else:
        fn = T.backward_kernel
        signature = {"x_ptr": pointer, "g_ptr": pointer, "dx_ptr": pointer, "p_ptr": compute_pointer,
                     "dp_ptr": compute_pointer, **common}
        constexprs = {"BACKWARD": pair.backward, "PARAM_GRAD_FN": pair.param_grad, "PARAM": v.param,
                      "PARAM_GRAD": v.param_grad}
        if v.param_grad == T.NO_PARAM_GRAD:
            constexprs["dp_ptr"] = None
    if v.param == T.NO_PARAM:
        constexprs["p_ptr"] = None
    block, _ = T.launch_config(v.torch_dtype)
    constexprs.update(COMPUTE=T.compute_dtype(v.torch_dtype), SOFTWARE_BF16=False, BLOCK=block)
    for name in constexprs:
        signature[name] = "constexpr"
    attrs = {}
    if aligned:
        # Tensors from PyTorch's allocator are aligned far beyond 16 bytes; inner and
        # channels are 1 for a scalar parameter (no hint), n is a power of two in the sweep.
        hinted = [a for a, kind in signature.items() if kind.startswith("*") or a == "n"]
        attrs = {(fn.arg_names.index(a),): HINT for a in hinted}
    return ASTSource(fn=fn, signature=signature, constexprs=constexprs, attrs=attrs)


def compile_variant(v: Variant, arch: int, aligned: bool = True):
    _, num_warps = T.launch_config(v.torch_dtype)
    return triton.compile(source(v, aligned), target=GPUTarget("cuda", arch, 32), options={"num_warps": num_warps})


def memory_ops(ptx: str) -> list[tuple[str, int, str]]:
    """(ld or st, bits per instruction, instruction) for every global load and store."""
    ops = []
    for m in MEMORY_OP.finditer(ptx):
        qualifiers = m.group(2)
        vector = re.search(r"\.v(\d+)", qualifiers)
        scalar = re.search(r"\.[bfsu](\d+)(?![\w:])", qualifiers)
        bits = (int(vector.group(1)) if vector else 1) * (int(scalar.group(1)) if scalar else 0)
        ops.append((m.group(1), bits, m.group(0)))
    return ops


def expected_wide_ops(v: Variant) -> tuple[int, int]:
    """(128-bit loads, 128-bit stores) per thread that the launch configuration implies."""
    block, num_warps = T.launch_config(v.torch_dtype)
    elements = block // (32 * num_warps)  # per thread
    data = elements * v.torch_dtype.itemsize * 8 // WIDE_BITS  # one tensor of the input dtype
    if v.kernel == "forward":
        return data, data  # load x, store y
    per_element_grad = elements * 32 // WIDE_BITS if v.param_grad == T.PER_ELEMENT else 0  # float32 dp
    return 2 * data, data + per_element_grad  # load x and g; store dx (and dp)


def check_ptx(v: Variant, ptx: str) -> list[str]:
    """Problems with the variant's global memory accesses (empty: every data access is 128-bit)."""
    ops = memory_ops(ptx)
    want_loads, want_stores = expected_wide_ops(v)
    wide = {kind: sum(1 for k, bits, _ in ops if k == kind and bits == WIDE_BITS) for kind in ("ld", "st")}
    problems = []
    if wide["ld"] != want_loads or wide["st"] != want_stores:
        problems.append(f"{wide['ld']} 128-bit loads and {wide['st']} stores per thread, expected "
                        f"{want_loads} and {want_stores}")
    for kind, bits, text in ops:
        if bits == WIDE_BITS:
            continue
        # the parameter (one scalar or a per-channel gather) and the per-block gradient sum
        allowed = (kind == "ld" and v.param != T.NO_PARAM) or (kind == "st" and v.param_grad == T.PER_BLOCK_SUM)
        if not (allowed and bits == 32):
            problems.append(f"narrow access {text} ({bits} bits)")
    return problems


def ptxas_usage(ptx: str, arch: int) -> tuple[int, int]:
    """(registers per thread, spill bytes) from ``ptxas -v``, for the PTX's own target."""
    from triton.backends.nvidia.compiler import get_ptxas

    gpu_name = re.search(r"^\.target\s+(\w+)", ptx, re.M).group(1)  # sm_80, sm_90a
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "kernel.ptx")
        with open(path, "w") as fh:
            fh.write(ptx)
        proc = subprocess.run([get_ptxas(arch).path, "-v", f"--gpu-name={gpu_name}", path, "-o", os.devnull],
                              capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"ptxas failed for {gpu_name}: {proc.stderr.strip()[-500:]}")
    registers = re.search(r"Used (\d+) registers", proc.stderr)
    spills = [int(b) for b in re.findall(r"(\d+) bytes spill (?:stores|loads)", proc.stderr)]
    return (int(registers.group(1)) if registers else -1), sum(spills)


@dataclass
class Result:
    variant: Variant
    arch: int
    registers: int = -1
    spill_bytes: int = 0
    wide_loads: int = 0
    wide_stores: int = 0
    problems: tuple[str, ...] = ()


def check_variant(v: Variant, arch: int) -> Result:
    try:
        ptx = compile_variant(v, arch).asm["ptx"]
    except Exception as exc:  # one line per failing variant, then carry on
        return Result(v, arch, problems=(f"does not compile: {type(exc).__name__}: {str(exc)[:300]}",))
    problems = check_ptx(v, ptx) if v.dtype in VECTOR_CHECKED else []
    registers, spills = ptxas_usage(ptx, arch)
    if spills:
        problems.append(f"{spills} bytes of register spills")
    ops = memory_ops(ptx)
    wide = [sum(1 for k, bits, _ in ops if k == kind and bits == WIDE_BITS) for kind in ("ld", "st")]
    return Result(v, arch, registers, spills, wide[0], wide[1], tuple(problems))


def self_test(arch: int) -> list[str]:
    """Without the alignment hints the loads must come out narrow, else check_ptx proves nothing."""
    v = Variant("relu", "forward", "bfloat16")
    ptx = compile_variant(v, arch, aligned=False).asm["ptx"]
    if not check_ptx(v, ptx):
        return [f"sm_{arch}: the unaligned compile of {v.label} passed the vector check; the check is broken"]
    return []


def summarise(results: list[Result]) -> list[str]:
    """One line per (arch, dtype): launch configuration, access widths, registers."""
    lines = []
    for arch in sorted({r.arch for r in results}):
        for dtype in DTYPES:
            group = [r for r in results if r.arch == arch and r.variant.dtype == dtype]
            if not group:
                continue
            block, num_warps = T.launch_config(group[0].variant.torch_dtype)
            plain = {r.variant.kernel: r for r in group if r.variant.param == T.NO_PARAM}
            widths = ", ".join(f"{k} {r.wide_loads} ld + {r.wide_stores} st" for k, r in plain.items())
            # what the benchmark launches: no or a scalar parameter, no parameter gradient
            timed = [r.registers for r in group
                     if r.variant.param != T.PER_CHANNEL and r.variant.param_grad == T.NO_PARAM_GRAD]
            failed = sum(1 for r in group if r.problems)
            checked = "128-bit checked" if dtype in VECTOR_CHECKED else "compiled only"
            lines.append(f"sm_{arch} {dtype:8s} BLOCK {block:4d} / {num_warps} warps "
                         f"({block // (32 * num_warps):2d} elements per thread): {len(group)} variants, "
                         f"{checked}, {failed} failing; 128-bit accesses per thread: {widths}; "
                         f"registers <= {max(timed)} as benchmarked, <= {max(r.registers for r in group)} in "
                         f"all (per-channel, parameter gradients); spills {sum(r.spill_bytes for r in group)} B")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m actbench.kernels.aot", description=__doc__.splitlines()[0])
    parser.add_argument("--arch", nargs="+", type=int, choices=ARCHS, default=list(ARCHS),
                        help="compute capabilities x10 (default: 80 90)")
    parser.add_argument("--dtypes", nargs="+", choices=DTYPES, default=list(DTYPES))
    parser.add_argument("--activations", nargs="+", choices=list(KERNELS), default=None)
    args = parser.parse_args(argv)
    if os.environ.get("TRITON_INTERPRET", "0") not in ("", "0"):
        print("actbench.kernels.aot: TRITON_INTERPRET is set; unset it (the kernels must be compiled, "
              "not interpreted)", file=sys.stderr)
        return 2
    start = time.monotonic()
    todo = variants(args.dtypes, args.activations)
    print(f"triton {triton.__version__}: compiling {len(todo)} variants for sm_{', sm_'.join(map(str, args.arch))}",
          flush=True)
    results, problems = [], []
    for arch in args.arch:
        problems += self_test(arch)
        for v in todo:
            result = check_variant(v, arch)
            results.append(result)
            problems += [f"sm_{arch} {v.label}: {p}" for p in result.problems]
    print("\n".join(summarise(results)))
    elapsed = time.monotonic() - start
    if problems:
        print(f"\nAOT check FAILED ({len(problems)} problems, {elapsed:.0f} s):\n  " + "\n  ".join(problems))
        return 1
    print(f"AOT check OK: {len(results)} compiles, every aligned data access 128-bit, no spills ({elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
