"""Kernel and training-step reports: one tab per machine, live numbers the ledger resolves,
GPU-only numbers only for GPUs, the physical floor from the datasheet bandwidths."""

import json

import numpy as np
import pandas as pd
import pytest

from actbench.cli import main
from actbench.studies import kernel_cost, kernels

CLAIM_ACTS = ["leaky_relu", "tanh", "sigmoid", "elu", "gelu", "gelu_tanh", "silu", "prelu", "mish", "hardswish"]
CPU, GPU = "cpu-test-a", "gpu-test-h200"
# Claims this setup cannot settle: DRAM bytes need a profiler, EfficientNet/ResNet are not
# in the tiny training run, TPUs are not testable.
UNSETTLED = {"memory-gelu-multiple-passes", "speed-efficientnet-swish", "speed-efficientnet-gelu",
             "speed-elu-train-time", "speed-leaky-train-time", "speed-mish-train-20pct", "tpu-gelu-fast",
             # GPU training-time claims: the fake GPU machine has no training-step results
             "speed-train-leaky-1p1", "speed-train-elu-1p8", "speed-train-gelu-2p5", "speed-train-swish-2p2",
             "speed-train-mish-2p8"}


def fake_gpu(df: pd.DataFrame) -> pd.DataFrame:
    """A CPU table dressed as a GPU run: device cuda, no threads, sizes 2^26 and 2^28 (where
    the Triton targets apply), a triton provider."""
    one = df[df["threads"] == df["threads"].max()].copy()
    one["device"], one["threads"], one["method"], one["hw_id"] = "cuda", 0, "triton.testing.do_bench", GPU
    for col in ("numel", "bytes_moved"):
        one[col] = one[col] * 2**18
    one["log2_numel"] = one["log2_numel"] + 18
    triton = one[one["provider"] == "eager"].assign(provider="triton")
    return pd.concat([one, triton], ignore_index=True)


def quick_time(fn, device, threads, cpu, cuda):
    """Five perf_counter samples: the report needs plausible rows, not careful timing."""
    import time

    from actbench.timing import summarize

    samples = []
    for _ in range(5):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return summarize(samples, "perf_counter (test)", threads)


@pytest.fixture(scope="module")
def report(tmp_path_factory, monkeypatch_module):
    results = tmp_path_factory.mktemp("results")
    monkeypatch_module.setenv("ACTBENCH_HW_ID", CPU)
    monkeypatch_module.setattr(kernels, "time_fn", quick_time)
    monkeypatch_module.setattr(kernel_cost, "time_cpu", lambda fn, threads, settings: quick_time(fn, "cpu", threads,
                                                                                                settings, None))
    fast = ["--min-run-time", "0.002", "--max-run-time", "0.01"]
    assert main(["kernels", "--results", str(results), "--device", "cpu", "--activations", *CLAIM_ACTS,
                 "--providers", "eager", "eager_out", "--dtypes", "float32", "--log2-sizes", "8", "10",
                 "--threads", "1", "2", *fast]) == 0
    assert main(["kernel_cost", "--results", str(results), "--activations", *CLAIM_ACTS, "--blocks", "3",
                 "--rounds", "2", "--min-run-time", "0.001", "--compute-log2", "8", "--memory-log2", "10"]) == 0
    assert main(["training_step", "--results", str(results), "--device", "cpu", "--models", "mlp",
                 "transformer_ffn", "--activations", "leaky_relu", "elu", "silu", "mish", "--threads", "1",
                 "--mlp-batch", "8", "--tokens", "8", "--rounds", "3", *fast]) == 0
    cpu = pd.read_parquet(results / CPU / "kernels.parquet")
    (results / GPU).mkdir()
    fake_gpu(cpu).to_parquet(results / GPU / "kernels.parquet")
    out = tmp_path_factory.mktemp("generated")
    assert main(["report", "--results", str(results), "--out", str(out)]) == 0
    return results, out, cpu


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_one_tab_per_machine_with_its_figures(report):
    _, out, _ = report
    tabs = (out / "tables" / "kernels-machines.md").read_text()
    assert tabs.index(f'=== "{CPU}"') < tabs.index(f'=== "{GPU}"')
    for hw in (CPU, GPU):
        for kind in ("time", "relative"):
            assert (out / "figures" / f"kernels-{kind}-{hw}.svg").stat().st_size > 5000
        rooflines = sorted((out / "figures").glob(f"kernels-roofline-{hw}-*.svg"))  # one per provider
        assert rooflines and all(f.stat().st_size > 5000 for f in rooflines)
        for figure in rooflines:  # each in the tab, with the CSV of its points
            assert f"generated/figures/{figure.name}" in tabs
            assert f"generated/figures/{figure.stem}.csv" in tabs
    gpu_tab = tabs[tabs.index(f'=== "{GPU}"'):]
    assert "Triton kernels against the targets" in gpu_tab
    assert "Triton kernels against the targets" not in tabs[:tabs.index(f'=== "{GPU}"')]
    assert f'=== "{CPU}"' in (out / "tables" / "training_step-machines.md").read_text()


def test_headline_ratio_is_recomputed_from_the_parquet(report):
    _, out, cpu = report
    numbers = json.loads((out / "numbers.json").read_text())["numbers"]
    ok = cpu[(cpu["status"] == "ok") & (cpu["provider"] == "eager") & (cpu["mode"] == "forward+backward")
             & (cpu["numel"] == cpu["numel"].max()) & (cpu["threads"] == cpu["threads"].max())]
    # each time over the copy timed just before and after its block: the drift cancels
    t = (ok["median_s"] / ok["copy_median_s"]).set_axis(ok["activation"])
    assert (ok["copy_before_s"] > 0).all() and (ok["copy_after_s"] > 0).all()
    assert numbers[f"kernels.{CPU}.gelu.fwd_bwd_time_ratio_vs_relu"]["value"] == pytest.approx(t["gelu"] / t["relu"])
    # The A100 "1e9 values" numbers exist for GPUs only; the physical floor for everyone.
    assert f"kernels.{GPU}.relu.fwd_ms:1e9_fp32" in numbers
    assert f"kernels.{CPU}.relu.fwd_ms:1e9_fp32" not in numbers
    floor = numbers["kernels.a100_datasheet.relu.fwd_ms_floor:1e9"]["measurement"]
    assert floor["ci_low"] == pytest.approx(4e9 / 2.039e12 * 1e3) and float(floor["ci_high"]) == float("inf")
    assert numbers["kernels.floor_ms_1e9_fp32_fwd.a100_80gb_sxm"]["value"] == pytest.approx(8e9 / 2.039e12 * 1e3)


def test_billion_table_sets_the_floor_beside_the_claim(report):
    _, out, _ = report
    table = (out / "tables" / "kernels-billion.md").read_text()
    assert "floor H200 (ms)" in table and f"{GPU}: best provider (ms)" in table
    relu = next(line for line in table.splitlines() if line.startswith("| relu |"))
    assert "| 0.5 |" in relu and f"| {8e9 / 4.8e12 * 1e3:.3g} |" in relu


def test_kernel_and_training_step_claims_are_resolved(report):
    _, out, _ = report
    claims = json.loads((out / "claims.json").read_text())["claims"]
    mine = [c for c in claims if c["study"] in ("kernels", "kernel_cost", "training_step")
            and c["id"] not in UNSETTLED]
    assert len(mine) > 25
    pending = sorted({c["id"] for c in mine if c["verdict"] == "pending"})
    assert not pending, pending
    rows = {(c["id"], c["hw_id"]): c for c in claims}
    for cid in ("hardswish-cheaper", "cost-table-tanh", "speed-swish-vs-gelu-30pct"):
        row = rows[(cid, CPU)]
        assert np.isfinite(row["measured"]) and row["n"] == 3 and row["interval"][0] <= row["measured"] <= row["interval"][1]
    # the cost claim shows the other regime beside the one it is decided in
    assert [a["label"] for a in rows[("cost-table-tanh", CPU)]["also"]] == ["regime: memory-bound (shown, not decided)"]
    # A100 claims: not testable on a CPU, and the ReLU time refuted by the datasheet floor
    assert rows[("speed-a100-gelu-ratio", CPU)]["verdict"] == "not testable"
    assert rows[("speed-a100-relu-abs", None)]["verdict"] == "refuted"


def test_cost_interval_is_taken_across_blocks(report):
    """The block is the replicate: n is the number of blocks, and the estimate and interval
    are the t-interval over the blocks' own paired estimates, not over all rounds pooled."""
    from actbench import measurement as ms
    from actbench.report.kernel_cost import regime_measurements, within_block

    results, _, _ = report
    df = pd.read_parquet(results / CPU / "kernel_cost.parquet")
    sub = df[df["regime"] == "compute-bound"]
    assert sorted(sub["block"].unique()) == [0, 1, 2] and sub["round"].nunique() == 2
    key = ("gelu", "fwd_bwd_time_ratio_vs_relu", "forward+backward")
    per_block = [within_block(blk)[key].estimate for _, blk in sub.groupby("block")]
    got = regime_measurements(sub)[key]
    want = ms.geo_mean_of(per_block)
    assert got.n == 3 and (got.estimate, got.ci_low, got.ci_high) == pytest.approx(
        (want.estimate, want.ci_low, want.ci_high))
    assert "across 3 blocks" in got.note
    # one block (the old design): the rounds are the replicates, and the note says so
    one = regime_measurements(sub[sub["block"] == 0])[key]
    assert one.n == 2 and "as firm as one run" in one.note
