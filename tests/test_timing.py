"""actbench.timing: summary statistics, the CPU and CUDA timing paths, the roofline bytes."""

import math
import sys
import types

import pytest
import torch

from actbench import timing


def test_summary_quantiles_match_linear_interpolation():
    samples = [5.0, 1.0, 4.0, 2.0, 3.0]  # unsorted on purpose
    t = timing.summarize(samples, "test", threads=1)
    assert (t.median_s, t.p20_s, t.p80_s) == (3.0, 1.8, 4.2)
    assert (t.p25_s, t.p75_s) == (2.0, 4.0)
    assert t.n_samples == 5
    assert t.iqr_over_median == pytest.approx(2.0 / 3.0)


def test_noisy_flag_follows_the_iqr_threshold():
    tight = timing.summarize([1.0, 1.01, 0.99, 1.0, 1.02], "test", 1)
    wide = timing.summarize([1.0, 1.5, 0.7, 1.2, 0.9], "test", 1)
    assert not tight.noisy and tight.iqr_over_median < timing.NOISY_IQR
    assert wide.noisy and wide.iqr_over_median > timing.NOISY_IQR
    row = wide.as_row()
    assert row["noisy"] is True and row["n_samples"] == 5


def test_summary_refuses_no_samples():
    with pytest.raises(ValueError, match="no timing samples"):
        timing.summarize([], "test", 1)


@pytest.mark.parametrize("mode, streams", [("forward", 2), ("backward", 3), ("forward+backward", 5), ("copy", 2)])
def test_bytes_moved_counts_streams(mode, streams):
    assert timing.bytes_moved(mode, 1000, 4) == streams * 1000 * 4
    assert timing.bytes_moved(mode, 1000, 2) == streams * 1000 * 2


def test_bytes_moved_rejects_unknown_mode():
    with pytest.raises(ValueError, match="unknown mode 'sideways'; allowed: forward, backward"):
        timing.bytes_moved("sideways", 10, 4)


def test_cpu_timing_sets_the_thread_count_it_reports():
    seen = []
    x = torch.randn(4096)

    def fn():
        seen.append(torch.get_num_threads())
        return x.exp()

    settings = timing.CpuSettings(min_run_time=0.01, max_run_time=0.1)
    t = timing.time_cpu(fn, threads=2, settings=settings)
    assert t.threads == 2 and set(seen) == {2}
    assert t.method.startswith("torch.utils.benchmark")
    assert t.n_samples >= timing.CpuSettings.min_samples
    assert 0 < t.p20_s <= t.median_s <= t.p80_s


def test_cpu_timing_scales_with_work():
    small, large = torch.randn(2**12), torch.randn(2**18)
    settings = timing.CpuSettings(min_run_time=0.02, max_run_time=0.2)
    t_small = timing.time_cpu(lambda: small.exp(), 1, settings)
    t_large = timing.time_cpu(lambda: large.exp(), 1, settings)
    assert t_large.median_s > 4 * t_small.median_s  # 64x the elements


def test_copy_bandwidth_is_positive_and_consistent():
    x = torch.randn(2**16)
    t = timing.time_copy(x, threads=1, cpu=timing.CpuSettings(min_run_time=0.01, max_run_time=0.1))
    bw = timing.gbps(timing.bytes_moved("copy", x.numel(), x.element_size()), t.median_s)
    assert bw > 0.1  # any machine copies faster than 100 MB/s
    assert math.isnan(timing.gbps(1.0, 0.0))


def test_cuda_path_uses_do_bench_samples(monkeypatch):
    """The CUDA path asks do_bench for every sample (with its L2 flush) and summarises them."""
    calls = {}

    def fake_do_bench(fn, warmup, rep, return_mode, **kw):
        calls.update(warmup=warmup, rep=rep, return_mode=return_mode, **kw)
        fn()
        return [2.0, 1.0, 3.0, 4.0, 5.0]  # milliseconds

    fake = types.ModuleType("triton.testing")
    fake.do_bench = fake_do_bench
    monkeypatch.setitem(sys.modules, "triton.testing", fake)
    ran = []
    t = timing.time_cuda(lambda: ran.append(1), timing.CudaSettings(warmup_ms=3, rep_ms=7))
    assert calls == {"warmup": 3, "rep": 7, "return_mode": "all"}
    assert ran and t.method == "triton.testing.do_bench" and t.threads == 0
    assert t.median_s == pytest.approx(3e-3) and t.p20_s == pytest.approx(1.8e-3) and t.n_samples == 5


def test_time_fn_refuses_unusable_devices():
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA GPU timing requested"):
            timing.time_fn(lambda: None, "cuda")
    with pytest.raises(ValueError, match="cannot time on device 'meta'"):
        timing.time_fn(lambda: None, "meta")
    with pytest.raises(ValueError, match="threads must be >= 1"):
        timing.time_cpu(lambda: None, threads=0)


def test_slow_blocks_are_topped_up_to_min_samples():
    import time

    seen = []

    def fn():
        seen.append(torch.get_num_threads())
        time.sleep(0.02)  # one block outlasts max_run_time

    t = timing.time_cpu(fn, 2, timing.CpuSettings(min_run_time=0.001, max_run_time=0.01, min_samples=5))
    assert t.n_samples == 5 and set(seen) == {2}
    assert t.median_s == pytest.approx(0.02, rel=0.5)
