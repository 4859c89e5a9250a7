"""Study `kernels`: every activation x provider x mode x dtype x size (x CPU threads), timed
against a copy of the same bytes measured in the same run.

Method (see actbench.timing): CPU rows use torch.utils.benchmark's adaptive_autorange
with an explicit thread count; CUDA rows use triton.testing.do_bench (L2 flushed before
every sample). Each row stores median, p20, p80, IQR/median (``noisy`` above 10 %) and
the sample count, plus

* ``gbps``           bytes_moved / median, with bytes_moved = 2·N·s (forward),
                     3·N·s (backward), 5·N·s (forward+backward) for N elements of s bytes;
* ``copy_fraction``  gbps / the bandwidth of ``out.copy_(x)`` (same dtype, size, threads),
                     timed just before and after the row's activation block (the VM's
                     bandwidth drifts within minutes; the bracketing copies follow it);
* ``ratio_vs_relu``  (median / its copy) / (ReLU's median / ReLU's copy) for the same
                     provider, mode, dtype, size, threads: a same-run ratio, drift removed.

Before a provider is timed for an (activation, dtype) it is run once on the largest
input of the sweep (compilation and autotuning happen there, outside every timed region)
and its output and input gradient are checked against the registry's float64 reference
(actbench.providers.check); a failing direction is not timed and its rows say why
(``status``). Inputs are standard normal; the upstream gradient is standard normal too.

Upsert key: (activation, provider, mode, dtype, numel, threads, hw_id). ``threads`` is the
CPU intra-op thread count; 0 on CUDA. The copy rows have activation = provider = mode =
"copy".
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from actbench import activations, devices
from actbench.cliutil import activation_list
from actbench.progress import progress
from actbench.providers import (PROVIDERS, Preallocated, available_providers, bind_params, check, device_problem,
                                probe_input)
from actbench.results import drop_checkpoint, write_checkpoint, write_study
from actbench.studies.unit import Param, Study
from actbench.timing import MODES, NOISY_IQR, CpuSettings, CudaSettings, bytes_moved, time_fn

NAME = "kernels"
KEY = ["activation", "provider", "mode", "dtype", "numel", "threads", "hw_id"]
COPY = "copy"
BASELINE = "relu"
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
# Each device's default sizes and dtypes are in its entry (actbench.devices).


class OutOfTime(Exception):
    """The sweep's time budget ran out; rows measured so far are kept."""


def all_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def thread_count(text: str) -> int:
    """argparse type: a positive integer or 'all' (every core this process may use)."""
    if text == "all":
        return all_cores()
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a thread count; expected a positive integer or 'all'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"thread count {value} is not allowed; expected a positive integer or 'all'")
    return value


def log2_size(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer; expected log2 of a size, 0..34") from None
    if not 0 <= value <= 34:
        raise argparse.ArgumentTypeError(f"log2 size {value} is out of range; allowed 0..34")
    return value


def log2_size_or_none(text: str) -> int | None:
    """argparse type: log2 of a size, or 'none' (no limit)."""
    if text.lower() in ("none", "null"):
        return None
    try:
        return log2_size(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed; expected log2 of a size, 0..34, "
                                         "or none") from None


def provider_name(text: str) -> str:
    """argparse type: a provider of the table (looked up when parsing, so a provider added
    to ``PROVIDERS`` is one entry there)."""
    if text not in PROVIDERS:
        raise argparse.ArgumentTypeError(f"{text!r} is not allowed; expected one of {', '.join(PROVIDERS)}")
    return text


def thread_counts(values) -> list[int]:
    """Thread counts from parsed values or defaults ('all' in a default list is not converted by argparse)."""
    return [thread_count(v) if isinstance(v, str) else v for v in values]


@dataclass
class Sweep:
    activations: list[str]
    providers: list[str]
    modes: list[str]
    dtypes: list[str]
    log2_sizes: list[int]
    threads: list[int]
    device: str
    cpu: CpuSettings = field(default_factory=CpuSettings)
    cuda: CudaSettings = field(default_factory=CudaSettings)
    seed: int = 0
    deadline: float | None = None  # time.monotonic() value; None: no limit
    reference_only_above: int | None = None  # log2 size above which only the reference slice is timed
    blocks: int = 1  # independent blocks (fresh inputs, spread over the run) at sizes >= 2**blocks_from_log2
    blocks_from_log2: int = 20

    def __post_init__(self):
        problem = device_problem(self.providers, self.device)
        if problem:
            raise ValueError(problem)
        if self.cpu.min_run_time <= 0 or self.cpu.max_run_time < self.cpu.min_run_time:
            raise ValueError(f"need 0 < --min-run-time <= --max-run-time, got "
                             f"{self.cpu.min_run_time} and {self.cpu.max_run_time}")
        if self.cuda.warmup_ms <= 0 or self.cuda.rep_ms <= 0:
            raise ValueError(f"--warmup-ms and --rep-ms must be > 0, got {self.cuda.warmup_ms}, {self.cuda.rep_ms}")
        if self.blocks < 1:
            raise ValueError(f"--blocks must be at least 1, got {self.blocks}")
        if BASELINE not in self.activations:  # every ratio needs it
            self.activations = [BASELINE, *self.activations]
        if not devices.get(self.device).threads:
            self.threads = [0]

    def slice_for(self, log2: int) -> tuple[list[str], list[int]]:
        """(dtypes, thread counts) timed at a size: all of them, or above reference_only_above
        only the reference slice the report's headline numbers use (first dtype, most threads)."""
        if self.reference_only_above is not None and log2 > self.reference_only_above:
            return self.dtypes[:1], [max(self.threads)]
        return self.dtypes, self.threads

    def blocks_at(self, log2: int) -> int:
        """How many independent blocks measure a size: ``blocks`` at the large sizes, 1 below."""
        return self.blocks if log2 >= self.blocks_from_log2 else 1

    @property
    def n_timings(self) -> int:
        # per thread count: the group's copy, then per (provider, mode) every activation and a copy after them
        per_thread = 1 + len(self.providers) * len(self.modes) * (len(self.activations) + 1)
        return sum(self.blocks_at(log2) * len(d) * len(t) * per_thread
                   for log2, (d, t) in ((s, self.slice_for(s)) for s in self.log2_sizes))


def check_machine(cfg: dict) -> None:
    """The dry run's check (the pipeline runs with --device auto): every configured provider
    runs on this machine's device."""
    problem = device_problem(cfg["providers"], devices.resolve(devices.AUTO), ", this machine's device")
    if problem:
        raise ValueError(problem)


def sizes_from_args(args, device: str) -> list[int]:
    """--log2-sizes (empty: the device's default), every power of two in between with
    --density dense."""
    sizes = sorted(set(args.log2_sizes or devices.get(device).log2_sizes))
    if getattr(args, "density", "default") == "dense":
        return list(range(sizes[0], sizes[-1] + 1))
    return sizes


def sweep_from_args(args) -> Sweep:
    device = devices.resolve(args.device)
    deadline = time.monotonic() + args.time_budget if args.time_budget else None
    return Sweep(
        activations=list(dict.fromkeys(args.activations or activations.elementwise_names())),
        providers=list(dict.fromkeys(args.providers or available_providers(device))),
        modes=list(dict.fromkeys(args.modes)),
        dtypes=list(dict.fromkeys(args.dtypes or devices.get(device).dtypes)),
        log2_sizes=sizes_from_args(args, device),
        threads=list(dict.fromkeys(thread_counts(args.threads) or [1, all_cores()])),
        device=device,
        cpu=CpuSettings(min_run_time=args.min_run_time, max_run_time=args.max_run_time),
        cuda=CudaSettings(warmup_ms=args.warmup_ms, rep_ms=args.rep_ms),
        seed=args.seed, deadline=deadline, reference_only_above=args.reference_only_above,
        blocks=args.blocks, blocks_from_log2=args.blocks_from_log2,
    )


class _Threads:
    """Set torch's intra-op thread count for a block (no-op for 0, i.e. CUDA)."""

    def __init__(self, n: int):
        self.n, self.before = n, torch.get_num_threads()

    def __enter__(self):
        if self.n:
            torch.set_num_threads(self.n)

    def __exit__(self, *exc):
        torch.set_num_threads(self.before)


def timed_call(impl, mode: str, x: torch.Tensor, g: torch.Tensor):
    """The zero-argument callable to time for one mode, or None where the provider has no such pass.

    Setup (allocating buffers, recording the graph for a backward-only timing) happens
    here, outside the timed callable.
    """
    if isinstance(impl, Preallocated):
        y, grad = torch.empty_like(x), torch.empty_like(x)
        impl.forward(x, y)
        if mode == "forward":
            return lambda: impl.forward(x, y)
        if impl.backward is None:
            return None
        if mode == "backward":
            return lambda: impl.backward(g, x, y, grad)
        return lambda: (impl.forward(x, y), impl.backward(g, x, y, grad))
    if mode == "forward":
        return lambda: impl.fn(x)
    xr = x.detach().requires_grad_()
    if mode == "backward":
        y = impl.fn(xr)
        return lambda: torch.autograd.grad(y, xr, g, retain_graph=True)
    return lambda: torch.autograd.grad(impl.fn(xr), xr, g)


@dataclass
class _Prepared:
    impl: object | None
    status_forward: str
    status_backward: str
    forward_rel_l2: float = float("nan")
    grad_rel_l2: float = float("nan")

    def status(self, mode: str) -> str:
        return self.status_forward if mode == "forward" else (
            self.status_backward if self.status_forward == "ok" else self.status_forward)


class KernelSweep:
    def __init__(self, sweep: Sweep, log=print):
        self.sweep, self.log = sweep, log
        self.rows: list[dict] = []
        self.prepared: dict[tuple, _Prepared] = {}
        self.truncated = False

    # -- preparing a provider (once per activation, provider, dtype) ----------------------
    def prepare(self, name: str, provider: str, dtype: torch.dtype, x, g) -> _Prepared:
        key = (name, provider, dtype)
        if key in self.prepared:
            return self.prepared[key]
        spec = activations.get(name)
        made = PROVIDERS[provider].make(spec, bind_params(spec, x.device, dtype))
        if isinstance(made, str):
            prep = _Prepared(None, f"unavailable: {made}", f"unavailable: {made}")
        else:
            prep = self._warm_and_check(made, spec, x, g)
            if prep.status_forward != "ok" or prep.status_backward != "ok":
                self.log(f"kernels: {name}/{provider}/{dtype}: forward {prep.status_forward}; "
                         f"backward {prep.status_backward}")
        self.prepared[key] = prep
        return prep

    def _warm_and_check(self, impl, spec, x, g) -> _Prepared:
        # First calls at the largest size: torch.compile compiles and Triton autotunes here.
        try:
            for mode in MODES:
                fn = timed_call(impl, mode, x, g)
                if fn is not None:
                    fn()
        except Exception as exc:
            reason = f"failed on the benchmark input: {type(exc).__name__}: {exc}"
            return _Prepared(None, reason, reason)
        result = check(impl, spec, probe_input(x.dtype, x.device, self.sweep.seed), self.sweep.seed)
        forward = "ok" if result.forward_ok else "check failed: " + "; ".join(result.problems)
        backward = "ok" if result.backward_ok else "check failed: " + "; ".join(result.problems)
        if isinstance(impl, Preallocated) and impl.backward is None:
            backward = "unavailable: no backward out= overload"
        return _Prepared(impl, forward, backward, result.forward_rel_l2, result.grad_rel_l2)

    # -- measuring ----------------------------------------------------------------------------
    def _check_deadline(self) -> None:
        if self.sweep.deadline is not None and time.monotonic() > self.sweep.deadline:
            raise OutOfTime

    def _time(self, fn, threads: int):
        self._check_deadline()
        # No extra warm-up call: adaptive_autorange discards its block-size calls and
        # do_bench its first call and estimate runs (autotuning for a new size happens there).
        return time_fn(fn, self.sweep.device, threads, self.sweep.cpu, self.sweep.cuda)

    def _row(self, name, provider, mode, dtype_name, x, threads, timing=None, status="ok", prep=None,
             block: int = 0) -> dict:
        row = {"block": block,
            "activation": name, "provider": provider, "mode": mode, "dtype": dtype_name,
            "numel": x.numel(), "log2_numel": x.numel().bit_length() - 1, "threads": threads,
            "device": self.sweep.device, "element_size": x.element_size(),
            "bytes_moved": bytes_moved(mode, x.numel(), x.element_size()),
            "allocates_output": PROVIDERS[provider].allocates_output if provider in PROVIDERS else False,
            "status": status, "input": "standard normal",
            "check_forward_rel_l2": prep.forward_rel_l2 if prep else float("nan"),
            "check_grad_rel_l2": prep.grad_rel_l2 if prep else float("nan"),
        }
        if timing is not None:
            row.update(timing.as_row())
        return row

    def _time_copy(self, x, threads: int):
        with _Threads(threads):
            out = torch.empty_like(x)
            out.copy_(x)  # first touch outside the timed region
            timing = self._time(lambda: out.copy_(x), threads)
            del out
        return timing

    def measure_group(self, log2: int, dtype_name: str, bar, block: int = 0) -> None:
        """Every activation x provider x thread count x mode at one size and dtype, in one block.

        Activations are the innermost loop: for one (thread count, provider, mode) every
        activation is timed back to back, ReLU among them, so the two times a ratio to
        ReLU divides are seconds apart, not minutes. A copy is timed before and after each
        such run and every row is compared with the copies that bracket it (their
        geometric mean): this VM's memory bandwidth drifts within minutes. Each block draws
        its own inputs (block 0 the sweep's seed), as a second run would."""
        sweep, dtype = self.sweep, DTYPES[dtype_name]
        gen = torch.Generator(device=sweep.device).manual_seed(sweep.seed * 1000 + log2 + BLOCK_SEED_STRIDE * block)
        x = torch.randn(2**log2, generator=gen, device=sweep.device, dtype=dtype)
        g = torch.randn(2**log2, generator=gen, device=sweep.device, dtype=dtype)
        bar.set_postfix_str(f"2^{log2} {dtype_name}" + (f" block {block + 1}/{sweep.blocks_at(log2)}"
                                                         if sweep.blocks_at(log2) > 1 else ""))
        # compile, autotune and check before anything of the group is timed; a spent time
        # budget stops here, not after minutes of compiling what it will never time
        self._check_deadline()
        prepared = {(name, provider): self.prepare(name, provider, dtype, x, g)
                    for provider in sweep.providers for name in sweep.activations}
        for threads in sweep.slice_for(log2)[1]:
            timing = self._time_copy(x, threads)
            before = timing.median_s
            self.rows.append(self._row(COPY, COPY, COPY, dtype_name, x, threads, timing, block=block))
            bar.update()
            for provider in sweep.providers:
                for mode in sweep.modes:
                    first = len(self.rows)
                    with _Threads(threads):
                        for name in sweep.activations:
                            self._measure_one(name, provider, mode, dtype_name, x, g, threads,
                                              prepared[(name, provider)], block)
                            bar.update()
                    after = self._time_copy(x, threads).median_s  # brackets this run with `before`
                    bar.update()
                    for row in self.rows[first:]:
                        row.update(copy_before_s=before, copy_after_s=after, copy_median_s=(before * after) ** 0.5)
                    before = after
        del x, g
        devices.get(sweep.device).release_memory()

    def _measure_one(self, name, provider, mode, dtype_name, x, g, threads, prep, block: int = 0) -> None:
        status = prep.status(mode)
        fn = timed_call(prep.impl, mode, x, g) if status == "ok" else None
        if status == "ok" and fn is None:
            status = f"unavailable: no {mode} pass"
        timing = None
        if fn is not None:
            try:
                timing = self._time(fn, threads)
            except OutOfTime:
                raise
            except Exception as exc:  # keep the sweep going; the row says what happened
                status = f"timing failed: {type(exc).__name__}: {exc}"
                self.log(f"kernels: {name}/{provider}/{mode}/{dtype_name}/2^{x.numel().bit_length() - 1}: {status}")
        self.rows.append(self._row(name, provider, mode, dtype_name, x, threads, timing, status, prep, block))

    def run(self, on_size_done=None) -> pd.DataFrame:
        sweep = self.sweep
        with progress(sweep.n_timings, desc="kernels", unit="timing") as bar:
            try:
                # Largest first: compilation/autotuning sees the largest input, and a time
                # budget that runs out drops the cheap cache-resident sizes, not the roofline.
                # Blocks outermost: the large sizes' blocks are spread over the whole run.
                for block in range(sweep.blocks):
                    for log2 in sorted(sweep.log2_sizes, reverse=True):
                        if block >= sweep.blocks_at(log2):
                            continue
                        for dtype_name in sweep.slice_for(log2)[0]:
                            self.measure_group(log2, dtype_name, bar, block)
                        if on_size_done is not None:
                            on_size_done(self.table())
            except OutOfTime:
                self.truncated = True
                self.log(f"kernels: time budget used up after {len(self.rows)} timings; writing what was measured")
                if on_size_done is not None and self.rows:
                    on_size_done(self.table())
        return self.table()

    def table(self) -> pd.DataFrame:
        return combine_blocks(pd.DataFrame(self.rows))


def add_roofline(df: pd.DataFrame) -> pd.DataFrame:
    """gbps, copy bandwidth, fraction of copy bandwidth and ratio to ReLU for every row
    (within each block, where the rows carry one).

    A row's copy time is the geometric mean of the copies timed just before and after its
    run of activations (``copy_median_s``, set by the sweep); rows without one (older
    results, the copy rows) use the group's copy. ``ratio_vs_relu`` divides each time by
    its own bracketing copy before comparing, so the drift between ReLU's timing and this
    one cancels: (t / t_copy) / (t_relu / t_copy_relu)."""
    derived = ["copy_gbps", "gbps", "copy_fraction", "relu_median_s", "ratio_vs_relu", "group_copy_median_s"]
    df = df.drop(columns=[c for c in derived if c in df.columns])
    if df.empty or "median_s" not in df.columns:
        return df.assign(**{c: float("nan") for c in derived + ["copy_median_s"]})
    by_block = ["block"] if "block" in df.columns else []
    group = ["dtype", "numel", "threads", *by_block]
    copy = df[df["activation"] == COPY][group + ["median_s"]].rename(columns={"median_s": "group_copy_median_s"})
    df = df.merge(copy, on=group, how="left")
    if "copy_median_s" not in df.columns:
        df["copy_median_s"] = float("nan")
    df["copy_median_s"] = df["copy_median_s"].fillna(df["group_copy_median_s"])
    df["copy_gbps"] = 2 * df["numel"] * df["element_size"] / df["copy_median_s"] / 1e9
    df["gbps"] = df["bytes_moved"] / df["median_s"] / 1e9
    df["copy_fraction"] = df["gbps"] / df["copy_gbps"]
    same = ["provider", "mode", "dtype", "numel", "threads", *by_block]
    relu = df[df["activation"] == BASELINE][same + ["median_s", "copy_median_s"]].rename(
        columns={"median_s": "relu_median_s", "copy_median_s": "relu_copy_median_s"})
    df = df.merge(relu, on=same, how="left")
    df["ratio_vs_relu"] = (df["median_s"] / df["copy_median_s"]) / (df["relu_median_s"] / df["relu_copy_median_s"])
    return df.drop(columns=["relu_copy_median_s"])


BLOCK_SEED_STRIDE = 100_000  # block b draws its inputs from seed·1000 + log2 + b·stride (block 0: the sweep's)
# Summarised across blocks by their geometric mean: then the ratios add_roofline derives
# from the combined times are exactly the geometric means of the blocks' own ratios.
GEOMETRIC = ("median_s", "p20_s", "p80_s", "p25_s", "p75_s", "copy_before_s", "copy_after_s", "copy_median_s")
INTERVALS = ("copy_fraction", "ratio_vs_relu")  # each gets <name>_ci_low / _ci_high across blocks


def combine_blocks(df: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """One row per configuration from the rows of its blocks, with ``add_roofline``'s columns.

    Times are the geometric mean over the blocks that timed the row (``blocks`` says how
    many), sample counts their sum. ``copy_fraction`` and ``ratio_vs_relu`` also get a
    95 % interval across blocks: a t-interval on the log of the per-block values, the block
    being the replicate (a rerun draws new inputs and meets the machine at another
    minute, as a new block does). ``*_ci_n`` is the number of blocks behind the interval
    (those where the quantity was measured). With one block the interval is NaN."""
    if df.empty or "block" not in df.columns or "median_s" not in df.columns:
        return add_roofline(df)
    config = [c for c in KEY if c != "hw_id"]
    per_block = add_roofline(df)
    timed = per_block[per_block["median_s"].notna()]
    logs = np.log(timed[list(GEOMETRIC)].where(timed[list(GEOMETRIC)] > 0))
    times = np.exp(logs.groupby([timed[c] for c in config], sort=False).mean())
    counts = timed.groupby(config, sort=False).agg(blocks=("median_s", "size"), n_samples=("n_samples", "sum"))
    # every other column from the configuration's first timed block (its first block if none was timed)
    first = (pd.concat([timed, per_block[per_block["median_s"].isna()]]).drop_duplicates(config)
             .drop(columns=[*GEOMETRIC, "n_samples", "block", "iqr_over_median", "noisy"], errors="ignore"))
    out = first.merge(times.reset_index(), on=config, how="left").merge(counts.reset_index(), on=config, how="left")
    out["blocks"] = out["blocks"].fillna(0).astype(int)
    out["iqr_over_median"] = (out["p75_s"] - out["p25_s"]) / out["median_s"]
    out["noisy"] = out["iqr_over_median"] > NOISY_IQR
    out = add_roofline(out)
    for q in INTERVALS:
        values = np.log(timed[q].where(timed[q] > 0))
        stats = values.groupby([timed[c] for c in config], sort=False).agg(["mean", "std", "count"])
        if not (stats["count"] >= 2).any():
            out = out.assign(**{f"{q}_ci_low": np.nan, f"{q}_ci_high": np.nan, f"{q}_ci_n": np.nan})
            continue
        from scipy.stats import t as t_dist  # here: the GPU image has no SciPy, and times one block

        half = t_dist.ppf(0.5 + confidence / 2, (stats["count"] - 1).clip(lower=1)) * stats["std"] / np.sqrt(stats["count"])
        bounds = pd.DataFrame({f"{q}_ci_low": np.exp(stats["mean"] - half), f"{q}_ci_high": np.exp(stats["mean"] + half),
                               f"{q}_ci_n": stats["count"].astype(float)})  # the blocks behind the interval
        bounds[stats["count"] < 2] = np.nan
        out = out.merge(bounds.reset_index(), on=config, how="left")
    return out


def run(args):
    """Time the sweep. After each size the rows so far go to a checkpoint
    (``results.write_checkpoint``: ``kernels.parquet.incomplete``, which every reader
    refuses); ``kernels.parquet`` is written once, at the end, so a run killed part-way
    (the sweep takes minutes) leaves the previous file as it was and nothing that looks
    complete."""
    sweep = sweep_from_args(args)
    results_dir = args.results

    def checkpoint(df: pd.DataFrame) -> None:
        write_checkpoint(df, NAME, results_dir)

    runner = KernelSweep(sweep)
    start = time.monotonic()
    df = runner.run(on_size_done=checkpoint)
    if df.empty:
        drop_checkpoint(NAME, results_dir)
        raise RuntimeError("kernels: nothing was measured (time budget too small?); nothing written")
    path = write_study(df, NAME, results_dir, key=KEY)
    drop_checkpoint(NAME, results_dir)
    timed = df["median_s"].notna().sum() if "median_s" in df else 0
    noisy = int(df.get("noisy", pd.Series(dtype=bool)).fillna(False).astype(bool).sum())
    print(f"kernels: {timed} timings ({noisy} noisy: IQR/median > 10%), {len(df) - timed} rows not timed, "
          f"{time.monotonic() - start:.0f} s{' (TRUNCATED by the time budget)' if runner.truncated else ''}; "
          f"wrote {path}")
    return path


EVERYWHERE = tuple(devices.DEVICES)  # a provider that runs on every device
# The quick preset's: every provider that runs everywhere but compile, whose compilation
# took most of the quick job (its agreement and repeated backward are unit-tested).
QUICK_PROVIDERS = [n for n, p in PROVIDERS.items() if p.devices == EVERYWHERE and n != "compile"]


def _per_device(attr: str) -> str:
    """A device-dependent default in words, e.g. 'CPU float32 bfloat16; CUDA GPU float32 ...'."""
    return "; ".join(f"{d.label} {' '.join(map(str, getattr(d, attr)))}" for d in devices.DEVICES.values())


THREADS = dict(parse=thread_count, unique=True,
               schema_extra={"items": {"anyOf": [{"type": "integer", "minimum": 1}, {"const": "all"}]}})
LOG2 = dict(minimum=0, maximum=34, parse=log2_size)
ACTIVATIONS = dict(min_items=0, parse=activation_list, unique=True)

STUDY = Study(
    name=NAME,
    summary="Every activation x provider x mode x dtype x size (x CPU threads) timed against a copy of the same "
            "bytes measured in the same run; it runs alone (the default took about 17 minutes alone on 2 cores, "
            "compilation included).",
    key=KEY,
    params=(
        Param("activations", [], f"registry names (empty: every elementwise registry entry; {BASELINE} is always "
              "added: every ratio needs it)", quick=["relu", "gelu"], **ACTIVATIONS),
        Param("providers", [], "implementations to time (empty: every provider that runs on the device; "
              + "; ".join(f"{n}: {' '.join(p.devices)} only" for n, p in PROVIDERS.items() if p.devices != EVERYWHERE)
              + ")", quick=QUICK_PROVIDERS, parse=provider_name,
              min_items=0, unique=True, schema_extra={"items": {"enum": list(PROVIDERS)}}),
        Param("modes", list(MODES), "passes to time", choices=MODES, unique=True),
        Param("dtypes", [], f"dtypes (empty: the device's: {_per_device('dtypes')})", quick=["float32"],
              choices=tuple(DTYPES), min_items=0, unique=True),
        Param("log2_sizes", [12, 16, 20, 25], "sizes as powers of two: L1-, L2-, L3-resident, then DRAM (2^25 "
              f"float32 = 128 MiB, 4x this CPU's 32 MiB L3); empty: the device's default ({_per_device('log2_sizes')})",
              quick=[10, 14], min_items=0, unique=True, **LOG2),
        Param("density", "default", "default: the sizes of log2_sizes; dense: every power of two between the "
              "smallest and the largest of them", choices=("default", "dense"), selects=True),
        Param("threads", [1, "all"], "CPU intra-op thread counts, integers or all (every core); ignored on CUDA",
              quick=[1], **THREADS),
        Param(
            "reference_only_above", 20, "budget knob: sizes above 2^N are timed in the reference slice only, the "
            "first dtype with the most threads (none: every dtype and thread count at every size); on this CPU a "
            "large allocating call is mostly page faults and the full grid at 2^25 does not fit the 10 minutes "
            "(bfloat16 at 2^25 would be only 2x the L3 anyway)", quick=None, nullable=True, minimum=0, maximum=34,
            parse=log2_size_or_none, selects=True),
        Param("blocks", 1, "independent blocks at the large sizes (at least 2^blocks_from_log2): each draws fresh "
              "inputs and the blocks are spread over the run; a row is the geometric mean of its blocks, and "
              "its ratios get a t-interval (0.95 confidence) across them (1: one block, no interval; every "
              "extra block repeats every timing at those sizes)", quick=1, minimum=1),
        Param("blocks_from_log2", 20, "smallest size measured in blocks, as log2 of elements (the sizes the rerun "
              "check compares)", quick=20, **LOG2),
        Param("min_run_time", CpuSettings.min_run_time, "CPU: seconds of samples before a small spread may end a "
              "measurement", quick=0.005, exclusive_minimum=0),
        Param("max_run_time", CpuSettings.max_run_time, "CPU: seconds after which a measurement ends however noisy "
              "(at least 3 samples)", quick=0.02, exclusive_minimum=0),
        Param("device", devices.AUTO, devices.AUTO_HELP, choices=devices.CHOICES,
              in_config=False, selects=True),  # the machine's folder says which device ran
        Param("warmup_ms", CudaSettings.warmup_ms, "CUDA: do_bench warm-up (ms)", exclusive_minimum=0,
              in_config=False),
        Param("rep_ms", CudaSettings.rep_ms, "CUDA: do_bench measurement window (ms)", exclusive_minimum=0,
              in_config=False),
        Param("seed", 0, "seed of the random inputs", minimum=0, in_config=False),
        Param("time_budget", None, "seconds; no measurement starts after this and the rows so far are written "
              "(unset: no limit)", type=float, exclusive_minimum=0, in_config=False, selects=True),
    ),
    run=run,
    check=check_machine,
    timing=lambda job: True,
    report="actbench.report.kernels",
    page="kernels.md",
)
