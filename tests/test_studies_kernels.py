"""The kernels study: providers checked before timing, tidy rows with the roofline columns,
clear errors, and a provider added with one table entry."""

import io
import math

import numpy as np
import pandas as pd
import pytest
import torch

from actbench import activations, providers
from actbench.cli import main
from actbench.hardware import hw_id
from actbench.studies import kernels

FAST = ["--min-run-time", "0.002", "--max-run-time", "0.01"]


def run_study(tmp_path, *extra):
    rc = main(["kernels", "--results", str(tmp_path), "--device", "cpu", *FAST, *extra])
    return rc, tmp_path / hw_id() / "kernels.parquet"


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("provider", ["eager", "eager_out", "manual"])
def test_every_cpu_provider_agrees_with_the_reference(provider, dtype):
    x = providers.probe_input(dtype, "cpu")
    for name in activations.elementwise_names():
        spec = activations.get(name)
        impl = providers.PROVIDERS[provider].make(spec, providers.bind_params(spec, "cpu", dtype))
        if isinstance(impl, str):
            continue  # unavailable (no builtin, no out= overload): reported, not timed
        result = providers.check(impl, spec, x)
        assert result.forward_ok, (name, result.problems)
        no_backward = isinstance(impl, providers.Preallocated) and impl.backward is None
        assert result.backward_ok or no_backward, (name, result.problems)


@pytest.mark.parametrize("name", ["relu", "gelu"])
def test_compile_provider_agrees_and_runs_backward_repeatedly(name):
    spec = activations.get(name)
    impl = providers.PROVIDERS["compile"].make(spec, {})
    result = providers.check(impl, spec, providers.probe_input(torch.float32, "cpu"))
    assert result.forward_ok and result.backward_ok, result.problems
    x, g = torch.randn(1000), torch.randn(1000)
    backward = kernels.timed_call(impl, "backward", x, g)
    assert torch.equal(backward()[0], backward()[0])  # one recorded graph, run twice


def test_check_catches_wrong_values_and_wrong_gradients():
    spec = activations.get("gelu")
    x = providers.probe_input(torch.float32, "cpu")
    wrong_values = providers.check(providers.Autograd(lambda t: torch.nn.functional.gelu(t) * 1.01), spec, x)
    assert not wrong_values.forward_ok and "forward relative L2 error" in wrong_values.problems[0]

    def gelu_with_detached_tail(t):  # right values, gradient of x*Phi(x) missing the pdf term
        return t * torch.special.ndtr(t).detach()

    wrong_grad = providers.check(providers.Autograd(gelu_with_detached_tail), spec, x)
    assert wrong_grad.forward_ok and not wrong_grad.backward_ok


def test_triton_runs_only_on_cuda():
    assert "triton" not in providers.available_providers("cpu")
    assert "triton" in providers.available_providers("cuda")


def test_tiny_sweep_writes_tidy_rows_with_roofline_columns(tmp_path):
    rc, path = run_study(tmp_path, "--activations", "gelu", "--providers", "eager", "eager_out",
                         "--dtypes", "float32", "bfloat16", "--log2-sizes", "8", "10", "--threads", "1", "2",
                         "--reference-only-above", "8")
    assert rc == 0
    df = pd.read_parquet(path)
    assert not df.duplicated(subset=kernels.KEY).any()
    assert set(df["activation"]) == {"copy", "relu", "gelu"}  # relu added: every ratio needs it
    assert set(df["numel"]) == {256, 1024}
    small, large = df[df["numel"] == 256], df[df["numel"] == 1024]
    assert set(small["threads"]) == {1, 2} and set(small["dtype"]) == {"float32", "bfloat16"}
    assert set(large["threads"]) == {2} and set(large["dtype"]) == {"float32"}  # above 2^8: reference only
    df = df[df["dtype"] == "float32"]
    ok = df[df["status"] == "ok"]
    assert len(ok) == len(df)
    assert (ok["n_samples"] >= 3).all() and (ok["p20_s"] <= ok["median_s"]).all()
    assert {"hw_id", "torch_version", "project_commit", "timestamp_utc"} <= set(df.columns)
    streams = df["mode"].map({"forward": 2, "backward": 3, "forward+backward": 5, "copy": 2})
    assert (df["bytes_moved"] == streams * df["numel"] * 4).all()
    assert ok["gbps"].to_numpy() == pytest.approx((ok["bytes_moved"] / ok["median_s"] / 1e9).to_numpy())
    assert ok["copy_fraction"].to_numpy() == pytest.approx((ok["gbps"] / ok["copy_gbps"]).to_numpy())
    relu = ok[ok["activation"] == "relu"]
    assert (relu["ratio_vs_relu"] == 1.0).all()
    gelu = ok[(ok["activation"] == "gelu")].iloc[0]
    same = ok[(ok["activation"] == "relu") & (ok["provider"] == gelu["provider"]) & (ok["mode"] == gelu["mode"])
              & (ok["numel"] == gelu["numel"]) & (ok["threads"] == gelu["threads"])]
    # same-run ratio: each time over the copy that brackets it
    assert gelu["ratio_vs_relu"] == pytest.approx((gelu["median_s"] / gelu["copy_median_s"])
                                                  / (same["median_s"].item() / same["copy_median_s"].item()))
    assert gelu["copy_median_s"] == pytest.approx((gelu["copy_before_s"] * gelu["copy_after_s"]) ** 0.5)
    assert set(df.loc[df["provider"] == "eager", "allocates_output"]) == {True}
    assert set(df.loc[df["provider"] == "eager_out", "allocates_output"]) == {False}


def test_a_provider_is_one_entry_and_a_failing_one_is_not_timed(tmp_path, monkeypatch):
    table = dict(providers.PROVIDERS)
    table["doubled"] = providers.Provider("doubled", "relu twice: right for relu only",
                                          lambda spec, p: providers.Autograd(lambda x: torch.relu(torch.relu(x))))
    table["wrong"] = providers.Provider("wrong", "returns its input", lambda spec, p: providers.Autograd(lambda x: x * 1))
    monkeypatch.setattr(providers, "PROVIDERS", table)
    monkeypatch.setattr(kernels, "PROVIDERS", table)
    rc, path = run_study(tmp_path, "--activations", "relu", "--providers", "doubled", "wrong",
                         "--dtypes", "float32", "--log2-sizes", "8", "--threads", "1", "--modes", "forward")
    assert rc == 0
    df = pd.read_parquet(path).set_index("provider")
    assert df.loc["doubled", "status"] == "ok" and df.loc["doubled", "median_s"] > 0
    assert df.loc["wrong", "status"].startswith("check failed: forward relative L2 error")
    assert math.isnan(df.loc["wrong", "median_s"])


@pytest.mark.parametrize("args, message", [
    (["--providers", "triton"], "provider(s) triton cannot run on cpu (triton runs on cuda only)"),
    (["--log2-sizes", "40"], "log2 size 40 is out of range; allowed 0..34"),
    (["--threads", "0"], "thread count 0 is not allowed"),
    (["--activations", "geluu"], "unknown activation 'geluu'"),
    (["--min-run-time", "1", "--max-run-time", "0.5"], "need 0 < --min-run-time <= --max-run-time"),
])
def test_bad_input_names_the_value_and_writes_nothing(tmp_path, capsys, args, message):
    try:
        rc = main(["kernels", "--results", str(tmp_path), "--device", "cpu", *args])
    except SystemExit as exc:  # argparse errors
        rc = exc.code
    assert rc == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / hw_id()).exists()


def test_time_budget_keeps_what_was_measured(tmp_path, capsys):
    rc = main(["kernels", "--results", str(tmp_path), "--device", "cpu", "--time-budget", "1e-9"])
    assert rc == 2 and "nothing was measured" in capsys.readouterr().err
    assert not (tmp_path / hw_id()).exists()


def test_roofline_columns_from_synthetic_rows():
    base = {"dtype": "float32", "numel": 1000, "threads": 1, "element_size": 4, "status": "ok"}
    rows = [
        {**base, "activation": "copy", "provider": "copy", "mode": "copy", "bytes_moved": 8000, "median_s": 1e-6},
        {**base, "activation": "relu", "provider": "eager", "mode": "forward", "bytes_moved": 8000, "median_s": 2e-6},
        {**base, "activation": "gelu", "provider": "eager", "mode": "forward", "bytes_moved": 8000, "median_s": 8e-6},
        {**base, "activation": "gelu", "provider": "eager", "mode": "backward", "bytes_moved": 12000, "median_s": 6e-6},
    ]
    df = kernels.add_roofline(pd.DataFrame(rows)).set_index(["activation", "mode"])
    assert df.loc[("copy", "copy"), "copy_gbps"] == pytest.approx(8.0)
    assert df.loc[("relu", "forward"), "copy_fraction"] == pytest.approx(0.5)
    assert df.loc[("gelu", "forward"), "ratio_vs_relu"] == pytest.approx(4.0)
    assert df.loc[("gelu", "backward"), "gbps"] == pytest.approx(2.0)
    assert math.isnan(df.loc[("gelu", "backward"), "ratio_vs_relu"])  # no relu backward row


def test_triton_provider_under_the_interpreter(tmp_path):
    """The triton provider's plumbing (parameters, backward from a recorded graph), run by
    Triton's CPU interpreter in a fresh process (it must be set before the kernels load)."""
    import os
    import subprocess
    import sys

    code = (
        "import torch\n"
        "from actbench import activations, providers\n"
        "from actbench.studies.kernels import timed_call\n"
        "for name in ['gelu', 'prelu']:\n"
        "    spec = activations.get(name)\n"
        "    impl = providers.PROVIDERS['triton'].make(spec, providers.bind_params(spec, 'cpu', torch.float32))\n"
        "    if isinstance(impl, str):\n"
        "        print('UNAVAILABLE', impl); raise SystemExit(0)\n"
        "    c = providers.check(impl, spec, providers.probe_input(torch.float32, 'cpu'))\n"
        "    assert c.forward_ok and c.backward_ok, (name, c.problems)\n"
        "    x, g = torch.randn(300), torch.randn(300)\n"
        "    backward = timed_call(impl, 'backward', x, g)\n"
        "    assert torch.equal(backward()[0], backward()[0])\n"
        "print('OK')\n"
    )
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    if "UNAVAILABLE" in proc.stdout:
        pytest.skip(proc.stdout.strip())
    assert "OK" in proc.stdout


TINY = ["--activations", "relu", "--providers", "eager", "--dtypes", "float32", "--log2-sizes", "8", "10",
        "--threads", "1", "--modes", "forward"]
# Runs the kernels command and SIGKILLs itself when the sweep starts its second size, just
# after the first size's checkpoint was written (sizes run largest first).
KILLED_AFTER_ONE_SIZE = """
import os, signal, sys
from actbench import cli
from actbench.studies import kernels
calls, real = [], kernels.KernelSweep.measure_group
def measure_group(self, *args, **kwargs):
    calls.append(1)
    if len(calls) == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(self, *args, **kwargs)
kernels.KernelSweep.measure_group = measure_group
sys.exit(cli.main(sys.argv[1:]))
"""


def test_a_killed_sweep_leaves_the_previous_file_as_it_was_and_a_checkpoint_no_reader_takes(tmp_path):
    import subprocess
    import sys

    from pipeline_helpers import env

    from actbench import results

    command = ["kernels", "--results", str(tmp_path), "--device", "cpu", *FAST, *TINY]
    hw = "machine-a"
    assert subprocess.run([sys.executable, "-m", "actbench", *command], env=env(ACTBENCH_HW_ID=hw),
                          capture_output=True, timeout=600).returncode == 0
    done = tmp_path / hw / "kernels.parquet"
    before = done.read_bytes()

    killed = subprocess.run([sys.executable, "-c", KILLED_AFTER_ONE_SIZE, *command], env=env(ACTBENCH_HW_ID=hw),
                            capture_output=True, text=True, timeout=600)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert done.read_bytes() == before  # nothing of the killed run in the results file
    checkpoint = tmp_path / hw / "kernels.parquet.incomplete"
    assert checkpoint.exists()
    with pytest.raises(results.ResultsError, match="is the checkpoint of a kernels run that did not finish"):
        results.read_parquet(checkpoint)
    assert sorted(p.name for p in (tmp_path / hw).iterdir()) == ["kernels.parquet", "kernels.parquet.incomplete"]

    # readers of a results folder see the complete file only; a new run finishes and
    # removes the checkpoint
    assert results.read_study("kernels", tmp_path).equals(pd.read_parquet(io.BytesIO(before)))
    assert subprocess.run([sys.executable, "-m", "actbench", *command], env=env(ACTBENCH_HW_ID=hw),
                          capture_output=True, timeout=600).returncode == 0
    assert not checkpoint.exists() and len(pd.read_parquet(done)) == len(pd.read_parquet(io.BytesIO(before)))


def block_rows(gelu_times, relu_time=2e-6, copy_time=1e-6):
    """Synthetic rows of one configuration timed in len(gelu_times) blocks."""
    base = {"dtype": "float32", "numel": 2 ** 20, "threads": 1, "element_size": 4, "status": "ok",
            "hw_id": "cpu-test-1c", "bytes_moved": 8 * 2 ** 20, "n_samples": 5}
    rows = []
    for block, t in enumerate(gelu_times):
        for act, provider, mode, median in [("copy", "copy", "copy", copy_time), ("relu", "eager", "forward", relu_time),
                                            ("gelu", "eager", "forward", t)]:
            rows.append({**base, "block": block, "activation": act, "provider": provider, "mode": mode,
                         "median_s": median, "p20_s": median, "p80_s": median, "p25_s": 0.9 * median,
                         "p75_s": 1.1 * median, "copy_before_s": copy_time, "copy_after_s": copy_time,
                         "copy_median_s": copy_time})
    return pd.DataFrame(rows)


def test_blocks_combine_to_the_geometric_mean_with_an_interval_across_blocks():
    from scipy import stats

    times = [4e-6, 5e-6, 6.4e-6]  # gelu/relu ratios 2, 2.5, 3.2
    df = kernels.combine_blocks(block_rows(times)).set_index("activation")
    assert len(df) == 3 and "block" not in df.columns
    gelu = df.loc["gelu"]
    logs = np.log(np.array(times) / 2e-6)
    assert gelu["blocks"] == 3 and gelu["n_samples"] == 15
    assert gelu["median_s"] == pytest.approx(np.exp(np.log(times).mean()))
    assert gelu["ratio_vs_relu"] == pytest.approx(np.exp(logs.mean()))  # geometric mean of the block ratios
    half = stats.t.ppf(0.975, 2) * logs.std(ddof=1) / np.sqrt(3)
    assert gelu["ratio_vs_relu_ci_low"] == pytest.approx(np.exp(logs.mean() - half))
    assert gelu["ratio_vs_relu_ci_high"] == pytest.approx(np.exp(logs.mean() + half))
    assert gelu["ratio_vs_relu_ci_low"] < 2.5 < gelu["ratio_vs_relu_ci_high"]
    assert gelu["ratio_vs_relu_ci_n"] == gelu["copy_fraction_ci_n"] == 3
    assert df.loc["relu", "ratio_vs_relu"] == pytest.approx(1.0)


def test_one_block_has_no_interval_and_identical_blocks_a_point_interval():
    one = kernels.combine_blocks(block_rows([4e-6])).set_index("activation")
    assert one.loc["gelu", "ratio_vs_relu"] == pytest.approx(2.0)
    assert math.isnan(one.loc["gelu", "ratio_vs_relu_ci_low"]) and math.isnan(one.loc["gelu", "copy_fraction_ci_high"])
    same = kernels.combine_blocks(block_rows([4e-6, 4e-6])).set_index("activation")
    assert same.loc["gelu", "ratio_vs_relu_ci_low"] == pytest.approx(2.0)
    assert same.loc["gelu", "ratio_vs_relu_ci_high"] == pytest.approx(2.0)


def test_a_block_sweep_times_large_sizes_in_blocks_and_activations_side_by_side(tmp_path):
    rc, path = run_study(tmp_path, "--activations", "gelu", "--providers", "eager", "--dtypes", "float32",
                         "--modes", "forward", "--log2-sizes", "8", "10", "--threads", "1",
                         "--blocks", "3", "--blocks-from-log2", "10")
    assert rc == 0
    df = pd.read_parquet(path)
    assert not df.duplicated(subset=kernels.KEY).any()
    blocks = df.set_index(["activation", "numel"])["blocks"]
    assert (blocks.xs(1024, level="numel") == 3).all() and (blocks.xs(256, level="numel") == 1).all()
    big = df[(df["numel"] == 1024) & (df["activation"] == "gelu")].iloc[0]
    assert big["ratio_vs_relu_ci_low"] <= big["ratio_vs_relu"] <= big["ratio_vs_relu_ci_high"]
    assert df.loc[df["numel"] == 256, "ratio_vs_relu_ci_low"].isna().all()
