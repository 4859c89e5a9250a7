"""Study `kernel_cost`: what an activation costs relative to ReLU, in the two regimes a cost
claim can mean, with intervals from interleaved rounds.

* **compute-bound**: the tensors stay in the per-core L2 cache (by default the largest
  power of two whose forward+backward working set — input, output, upstream gradient,
  input gradient — fits in L2), one thread, outputs preallocated: the time is the
  activation's own arithmetic, which is what an operation-count table describes.
* **memory-bound**: tensors of at least four times the last-level cache, every core,
  outputs preallocated: the time is DRAM traffic, and a copy of the same tensor is the
  roofline. Only activations with PyTorch ``out=`` kernels for both directions are timed
  here: out of cache an allocating call mostly measures page faults.

Each activation runs on PyTorch's own kernels writing into preallocated buffers
(``eager_out``; ReLU's forward as ``clamp_min`` with ``out=``, see providers.py), or,
where PyTorch has no ``out=`` pair (PReLU, Mish's backward), as the allocating builtin
(``eager``), or, where PyTorch has no builtin (Swish-β and the custom entries), as the
registry's composition from primitives (``manual``); the ``provider`` column says which. Every implementation is checked
against the registry's float64 reference before it is timed.

Every round times every (activation, mode) and the copy once, in an order rotated from
round to round (``timing.interleaved``), so that ratios taken within a round cancel the
machine's drift. Rounds are grouped in **blocks**: each block allocates fresh tensors,
rebuilds its callables and times both regimes, one block after the other across the whole
run. Rounds of one block share their buffers and their minute, so their spread understates
what a rerun moves (a second run of the old one-block design changed the median ratio to
ReLU by 19 %, with 95 % round intervals overlapping only 35 % of the time); the report
therefore takes the interval across blocks (the block is the replicate), each block's
estimate being the geometric mean of its paired rounds.
ReLU through ``aten::relu.out`` is timed too (forward), because it is far slower than
``clamp_min.out`` on this CPU: a finding, not our kernel.

Upsert key: (regime, activation, provider, mode, block, round, hw_id).
"""

from __future__ import annotations

import math
import time

import pandas as pd
import torch

from actbench import activations
from actbench.hardware import fingerprint
from actbench.progress import progress
from actbench.providers import OUT_OPS, Autograd, Preallocated, bind_params, check, probe_input
from actbench.results import atomic_write_parquet, link_declared, read_parquet, study_path, with_provenance
from actbench.studies.kernels import ACTIVATIONS, LOG2, all_cores, thread_count, timed_call
from actbench.studies.unit import Param, Study
from actbench.timing import CpuSettings, bytes_moved, interleaved, time_cpu

NAME = "kernel_cost"
KEY = ["regime", "activation", "provider", "mode", "block", "round", "hw_id"]
REGIMES = ("compute-bound", "memory-bound")
MODES = ("forward", "forward+backward")
BASELINE = "relu"
COPY = "copy"
RELU_OUT = "relu_aten_out"  # ReLU through aten::relu.out, timed for the finding
WORKING_SET_TENSORS = 4  # x, y, upstream gradient, input gradient
DTYPE = torch.float32


def default_log2(regime: str, element_size: int = 4) -> int:
    """The regime's size from this machine's caches (fingerprint), as a power of two."""
    fp = fingerprint()
    if regime == "compute-bound":
        l2 = fp.get("l2_bytes") or 1 << 20
        return max(10, int(math.floor(math.log2(l2 / (WORKING_SET_TENSORS * element_size)))))
    l3 = fp.get("l3_bytes") or fp.get("l2_bytes") or 32 << 20
    return max(25, int(math.ceil(math.log2(4 * l3 / element_size))))


def implementation(name: str, x: torch.Tensor):
    """(provider, implementation): PyTorch's out= kernels where both directions exist, else
    the allocating builtin, else the registry's composition from primitives."""
    spec = activations.get(name)
    params = bind_params(spec, x.device, x.dtype)
    ops = OUT_OPS.get(name)
    if ops is not None and ops[1] is not None:
        fwd, bwd = ops
        return "eager_out", Preallocated(lambda x_, out: fwd(x_, out, **params),
                                         lambda g, x_, y, out: bwd(g, x_, y, out, **params))
    if spec.torch_builtin is not None:
        return "eager", Autograd(lambda x_: spec.torch_builtin(x_, **params))
    if spec.manual is not None:
        return "manual", Autograd(lambda x_: spec.manual(x_, **params))
    raise ValueError(f"{name} has no out= pair, PyTorch builtin or composition to time")


def build_calls(names: list[str], log2: int, seed: int, preallocated_only: bool = False,
                log=print) -> tuple[dict, dict]:
    """The timed callables of one regime, keyed (activation, provider, mode), and their
    providers' correctness checks. ``preallocated_only``: skip activations without an
    ``out=`` pair (out of cache an allocating call mostly times the operating system's
    page faults, not the activation)."""
    gen = torch.Generator().manual_seed(seed * 1000 + log2)
    x = torch.randn(2**log2, generator=gen, dtype=DTYPE)
    g = torch.randn(2**log2, generator=gen, dtype=DTYPE)
    calls, checks = {}, {}
    out = torch.empty_like(x)
    out.copy_(x)  # touch the pages once: the timed copies pay no first-touch faults
    calls[(COPY, COPY, COPY)] = lambda: out.copy_(x)
    relu_out = torch.empty_like(x)
    calls[(RELU_OUT, "aten_relu_out", "forward")] = lambda: torch.ops.aten.relu.out(x, out=relu_out)
    for name in names:
        provider, impl = implementation(name, x)
        if preallocated_only and provider != "eager_out":
            log(f"kernel_cost: {name} has no out= pair; not timed out of cache (an allocating call there "
                "times page faults)")
            continue
        result = check(impl, activations.get(name), probe_input(DTYPE, x.device, seed), seed)
        checks[name] = result
        if not (result.forward_ok and result.backward_ok):
            log(f"kernel_cost: {name}/{provider} failed its check, not timed: {'; '.join(result.problems)}")
            continue
        for mode in MODES:
            fn = timed_call(impl, mode, x, g)
            fn()  # first call outside the timed region
            calls[(name, provider, mode)] = fn
    return calls, checks


def write_regime(rows: pd.DataFrame, regime: str, results_dir) -> "Path":
    """Replace every row of this regime (a rerun with other settings or fewer activations
    must not leave old rounds beside the new ones); other regimes' rows are kept."""
    path = study_path(NAME, results_dir)
    rows = with_provenance(rows, NAME)
    if path.exists():  # other regimes' rows keep their own provenance (commit, time)
        old = read_parquet(path)
        rows = pd.concat([old[old["regime"] != regime], rows], ignore_index=True)
    atomic_write_parquet(rows, path)
    link_declared(path, f"{NAME}.parquet")
    return path


def time_block(names: list[str], regime: str, log2: int, n_threads: int, block: int, args, settings,
               bar) -> list[dict]:
    """One block of one regime: fresh tensors and callables, ``args.rounds`` interleaved rounds."""
    before = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        # a different input per block, as a second run would draw
        calls, checks = build_calls(names, log2, args.seed + 1000 * block, preallocated_only=regime == "memory-bound")
        keyed = {"/".join(k): fn for k, fn in calls.items()}
        measured = interleaved(keyed, args.rounds, lambda fn: time_cpu(fn, n_threads, settings),
                               on_round=lambda r: bar.update())
    finally:
        torch.set_num_threads(before)
    rows = []
    for key, rnd, timing in measured:
        name, provider, mode = key.split("/")
        rows.append({"regime": regime, "activation": name, "provider": provider, "mode": mode, "block": block,
                     "round": rnd, "dtype": "float32", "numel": 2**log2, "log2_numel": log2, "threads": n_threads,
                     "element_size": 4, "bytes_moved": bytes_moved(mode, 2**log2, 4),
                     "allocates_output": provider != "eager_out", "blocks": args.blocks, "rounds": args.rounds,
                     "min_run_time": args.min_run_time,
                     "check_forward_rel_l2": checks[name].forward_rel_l2 if name in checks else math.nan,
                     "check_grad_rel_l2": checks[name].grad_rel_l2 if name in checks else math.nan,
                     **timing.as_row()})
    return rows


def run(args):
    if args.min_run_time <= 0:
        raise ValueError(f"--min-run-time must be > 0, got {args.min_run_time}")
    names = list(dict.fromkeys([BASELINE, *(args.activations or activations.elementwise_names())]))
    sizes = {"compute-bound": args.compute_log2 if args.compute_log2 is not None else default_log2("compute-bound"),
             "memory-bound": args.memory_log2 if args.memory_log2 is not None else default_log2("memory-bound")}
    threads = {"compute-bound": 1, "memory-bound": args.memory_threads or all_cores()}
    settings = CpuSettings(min_run_time=args.min_run_time, max_run_time=4 * args.min_run_time)
    start, path = time.monotonic(), None
    rows = {regime: [] for regime in args.regimes}
    # blocks outermost: each regime's blocks spread over the whole run, not one stretch of it
    with progress(args.blocks * len(args.regimes) * args.rounds, desc="kernel_cost", unit="round") as bar:
        for block in range(args.blocks):
            for regime in args.regimes:
                rows[regime] += time_block(names, regime, sizes[regime], threads[regime], block, args, settings, bar)
            print(f"kernel_cost: block {block + 1}/{args.blocks} done, {time.monotonic() - start:.0f} s so far",
                  flush=True)
    for regime in args.regimes:  # written only at the end: a killed run leaves the old file untouched
        path = write_regime(pd.DataFrame(rows[regime]), regime, args.results)
        print(f"kernel_cost: {regime}: {len(rows[regime])} timings at 2^{sizes[regime]} with {threads[regime]} "
              f"thread(s) in {args.blocks} blocks; wrote {path}", flush=True)
    return path


STUDY = Study(
    name=NAME,
    summary="What each activation costs relative to ReLU in the compute-bound and the memory-bound regime, "
            "from blocks of interleaved rounds; it runs alone (about 4 minutes on 2 cores).",
    key=KEY,
    params=(
        Param("activations", [], f"registry names (empty: every elementwise registry entry; {BASELINE} is always "
              "added)", quick=["relu", "gelu"], **ACTIVATIONS),
        Param("blocks", 5, "independent blocks per regime, each with fresh tensors; the cost interval is taken "
              "across blocks (at least 2)", quick=2, minimum=2),
        Param("rounds", 4, "interleaved rounds per block (paired within the block)", quick=2, minimum=1),
        Param("min_run_time", 0.05, "seconds of calls per timing in a round", quick=0.005, exclusive_minimum=0),
        Param("compute_log2", None, "log2 size of the compute-bound regime (null: the largest power of two whose "
              "4 tensors fit the per-core L2 cache)", quick=12, nullable=True, **LOG2),
        Param("memory_log2", None, "log2 size of the memory-bound regime (null: at least 4x the last-level cache "
              "and at least 2^25)", quick=16, nullable=True, **LOG2),
        Param("regimes", list(REGIMES), "regimes to time", choices=REGIMES, unique=True, in_config=False),
        Param("memory_threads", None, "threads of the memory-bound regime, an integer or all (unset: all cores); "
              "the compute-bound one uses 1", parse=thread_count, in_config=False),
        Param("seed", 0, "seed of the random inputs", minimum=0, in_config=False),
    ),
    run=run,
    timing=lambda job: True,
    report="actbench.report.kernel_cost",
    page="kernels.md#two-regimes",
)
