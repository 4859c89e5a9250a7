"""Timing with the methods a performance engineer trusts, and the copy-bandwidth roofline.

* CPU: ``torch.utils.benchmark.Timer`` with ``adaptive_autorange`` (blocks of calls, sized
  so timer overhead is negligible, repeated until the spread is small or a time cap is
  hit) and an explicit thread count (the Timer's default is one thread).
* CUDA: ``triton.testing.do_bench``, which synchronises with CUDA events and flushes the
  L2 cache (a 256 MB write) before every repetition, so each sample reads from HBM.
  We ask it for every sample (``return_mode="all"``) and compute the quantiles
  ``QUANTILES`` = (0.5, 0.2, 0.8) ourselves with the same linear interpolation
  ``do_bench(quantiles=...)`` uses; keeping the samples also gives the quartiles and the
  sample count.

Every measurement is summarised as a :class:`Timing`: median, p20, p80, IQR/median and the
number of samples; ``noisy`` flags IQR/median above 10 % (torch's own warning threshold).

The physical floor of an elementwise activation is memory traffic: the forward pass
reads x and writes y (2·N·s bytes for N elements of s bytes), the backward pass reads
the upstream gradient and the saved input and writes the input gradient (3·N·s).  A
copy of the same tensor (2·N·s bytes) is timed in the same run; its bandwidth is the
roofline each activation is compared with.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Callable

import torch

from actbench import devices

QUANTILES = (0.5, 0.2, 0.8)
NOISY_IQR = 0.10  # torch.utils.benchmark warns at IQR/median >= 10 %
MODES = ("forward", "backward", "forward+backward")
# Streams of N elements each mode moves: forward reads x, writes y; backward reads the
# upstream gradient and the saved tensor, writes the input gradient.
STREAMS = {"forward": 2, "backward": 3, "forward+backward": 5, "copy": 2}
# The targets our Triton kernels are held to: this fraction of the copy bandwidth per
# pass, at sizes of at least 2^ROOFLINE_TARGET_MIN_LOG2 elements (far beyond every cache).
ROOFLINE_TARGETS = {"forward": 0.90, "backward": 0.85}
ROOFLINE_TARGET_MIN_LOG2 = 26


@dataclass(frozen=True)
class CpuSettings:
    """adaptive_autorange: stop once IQR/median < threshold (after min_run_time s), or at
    max_run_time s; then add blocks until there are at least min_samples."""

    min_run_time: float = 0.05
    max_run_time: float = 0.3
    threshold: float = NOISY_IQR
    min_samples: int = 3


@dataclass(frozen=True)
class CudaSettings:
    """do_bench warm-up and measurement windows, in milliseconds."""

    warmup_ms: float = 10.0
    rep_ms: float = 40.0


@dataclass(frozen=True)
class Timing:
    median_s: float
    p20_s: float
    p80_s: float
    p25_s: float
    p75_s: float
    n_samples: int
    method: str
    threads: int

    @property
    def iqr_over_median(self) -> float:
        return (self.p75_s - self.p25_s) / self.median_s if self.median_s > 0 else math.nan

    @property
    def noisy(self) -> bool:
        return self.iqr_over_median > NOISY_IQR

    def as_row(self) -> dict:
        row = asdict(self)
        row.update(iqr_over_median=self.iqr_over_median, noisy=self.noisy)
        return row


def quantile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default; triton's _quantile)."""
    n = len(sorted_values)
    point = q * (n - 1)
    lower, upper = math.floor(point), math.ceil(point)
    t = point - lower
    return (1 - t) * sorted_values[lower] + t * sorted_values[upper]


def summarize(samples_s: list[float], method: str, threads: int) -> Timing:
    """A Timing from per-call durations in seconds."""
    if not samples_s:
        raise ValueError("no timing samples to summarise")
    values = sorted(samples_s)
    median, p20, p80 = (quantile(values, q) for q in QUANTILES)
    return Timing(median_s=median, p20_s=p20, p80_s=p80, p25_s=quantile(values, 0.25),
                  p75_s=quantile(values, 0.75), n_samples=len(values), method=method, threads=threads)


def time_cpu(fn: Callable[[], object], threads: int, settings: CpuSettings = CpuSettings()) -> Timing:
    """Median and spread of ``fn()`` on the CPU using ``threads`` intra-op threads."""
    from torch.utils.benchmark import Timer

    if threads < 1:
        raise ValueError(f"threads must be >= 1 on the CPU, got {threads}")
    timer = Timer(stmt="fn()", globals={"fn": fn}, num_threads=threads)
    m = timer.adaptive_autorange(threshold=settings.threshold, min_run_time=settings.min_run_time,
                                 max_run_time=settings.max_run_time)
    # m.times are per-call averages of each block of m.number_per_run calls. A block can
    # outlast max_run_time, so top up to min_samples blocks of the same size.
    # (Timer._timeit times one block; the public timeit() adds warm-up calls to each.)
    times = list(m.times)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        while len(times) < settings.min_samples:
            times.append(timer._timeit(m.number_per_run) / m.number_per_run)
    finally:
        torch.set_num_threads(before)
    return summarize(times, "torch.utils.benchmark.adaptive_autorange", threads)


def time_cuda(fn: Callable[[], object], settings: CudaSettings = CudaSettings()) -> Timing:
    """Median and spread of ``fn()`` on the current CUDA device (L2 flushed before each sample)."""
    from triton.testing import do_bench

    samples_ms = do_bench(fn, warmup=settings.warmup_ms, rep=settings.rep_ms, return_mode="all")
    return summarize([t * 1e-3 for t in samples_ms], "triton.testing.do_bench", 0)


# A device entry (actbench.devices) names its timer here: (fn, threads, cpu, cuda) -> Timing.
TIMERS: dict[str, Callable[..., "Timing"]] = {
    "autorange": lambda fn, threads, cpu, cuda: time_cpu(fn, threads, cpu),
    "do_bench": lambda fn, threads, cpu, cuda: time_cuda(fn, cuda),
}


def time_fn(fn: Callable[[], object], device: torch.device | str, threads: int = 1,
            cpu: CpuSettings = CpuSettings(), cuda: CudaSettings = CudaSettings()) -> Timing:
    """Time ``fn`` with the device's timer: torch.utils.benchmark on CPU, do_bench on CUDA."""
    kind = torch.device(device).type
    if kind not in devices.DEVICES:
        raise ValueError(f"cannot time on device {device!r}; allowed: {', '.join(devices.DEVICES)}")
    entry = devices.DEVICES[kind]
    if not entry.available():
        raise RuntimeError(f"{entry.label} timing requested but {entry.why_not}")
    return TIMERS[entry.timer](fn, threads, cpu, cuda)


def interleaved(fns: dict[str, Callable[[], object]], rounds: int, measure: Callable[[Callable[[], object]], "Timing"],
                on_round: Callable[[int], None] | None = None) -> list[tuple[str, int, "Timing"]]:
    """Time every callable once per round, the order rotated and reversed from round to
    round, so that a slow drift of the machine (this VM's memory bandwidth moves by tens
    of percent over minutes) affects every callable alike and cancels in same-round
    ratios. Returns (name, round, Timing) triples in the order they were measured."""
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    names = list(fns)
    out = []
    for r in range(rounds):
        k = r % len(names)
        order = names[k:] + names[:k]
        if r % 2:
            order.reverse()
        for name in order:
            out.append((name, r, measure(fns[name])))
        if on_round is not None:
            on_round(r)
    return out


def bytes_moved(mode: str, numel: int, element_size: int) -> int:
    """Minimum memory traffic of an elementwise activation (the roofline's byte count)."""
    try:
        return STREAMS[mode] * numel * element_size
    except KeyError:
        raise ValueError(f"unknown mode {mode!r}; allowed: {', '.join(STREAMS)}") from None


def gbps(n_bytes: float, seconds: float) -> float:
    return n_bytes / seconds / 1e9 if seconds > 0 else math.nan


def time_copy(x: torch.Tensor, threads: int = 1, cpu: CpuSettings = CpuSettings(),
              cuda: CudaSettings = CudaSettings()) -> Timing:
    """Time ``out.copy_(x)`` into a preallocated buffer: the bandwidth roofline for x's bytes."""
    out = torch.empty_like(x)
    out.copy_(x)  # touch the pages once so the timed copies do not pay first-touch faults
    return time_fn(lambda: out.copy_(x), x.device, threads, cpu, cuda)
