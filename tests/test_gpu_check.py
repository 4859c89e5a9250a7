"""`python -m actbench gpu-check`: clear refusal without CUDA, runs with only torch, triton,
pandas and pyarrow, its stages keep their deadlines, the rehearsal runs the whole flow on the
CPU, and the summary applies the issue's targets."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from actbench import gpu_check
from actbench.studies import training_step

ROOT = Path(__file__).resolve().parents[1]
# Everything but torch, triton, pandas and pyarrow (and what they pull in, e.g. sympy and
# mpmath for torch) is hidden.
BLOCK = ["snakemake", "seaborn", "tqdm", "matplotlib", "scipy", "yaml", "jsonschema", "mkdocs"]


def bare_env(tmp_path) -> dict:
    """An environment whose Python processes, and every process they start, cannot import
    the non-core packages: a sitecustomize on PYTHONPATH hides them at start-up."""
    site = tmp_path / "bare-site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text("import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in BLOCK))
    return {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{ROOT / 'src'}"}


def run_bare(code: str, tmp_path) -> subprocess.CompletedProcess:
    """Run Python code in a fresh interpreter where the non-core packages cannot be imported."""
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=bare_env(tmp_path),
                          capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_cpu_machine_gets_a_clear_message_and_exit_2(tmp_path):
    proc = run_bare("import sys; from actbench.cli import main; sys.exit(main(['gpu-check']))", tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "gpu-check needs a CUDA GPU" in proc.stderr and "python -m actbench kernels" in proc.stderr
    assert not (tmp_path / "results").exists()


def test_the_gpu_check_code_path_needs_only_core_packages(tmp_path):
    """Imports gpu-check and runs the same sweep code on the CPU with the extras hidden."""
    code = (
        "import actbench.gpu_check\n"
        "from actbench.studies import kernels as k\n"
        "s = k.Sweep(activations=['gelu'], providers=['eager'], modes=['forward'], dtypes=['float32'],\n"
        "            log2_sizes=[8], threads=[1], device='cpu')\n"
        "df = k.KernelSweep(s).run()\n"
        "assert (df['status'] == 'ok').all(), df['status']\n"
        "print('rows', len(df))\n"
    )
    proc = run_bare(code, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "rows 3" in proc.stdout  # copy, relu, gelu


def test_help_lists_gpu_check(capsys):
    from actbench.cli import build_parser

    assert "gpu-check" in build_parser().format_help()


def _row(name, provider, mode, dtype, fraction, median):
    return {"activation": name, "provider": provider, "mode": mode, "dtype": dtype, "log2_numel": 28,
            "status": "ok", "copy_fraction": fraction, "median_s": median}


def test_summary_applies_the_targets():
    rows = [_row("copy", "copy", "copy", "float32", 1.0, 1.0)]
    for name, fwd, bwd in (("relu", 0.95, 0.9), ("gelu", 0.95, 0.8)):
        rows += [_row(name, "triton", "forward", "float32", fwd, 1.0),
                 _row(name, "triton", "backward", "float32", bwd, 2.0),
                 _row(name, "compile", "forward", "float32", 0.9, 1.1),
                 _row(name, "compile", "backward", "float32", 0.9, 1.8)]
    table = gpu_check.summary(pd.DataFrame(rows)).set_index("activation")
    assert table.loc["relu", "target"] == "met"
    assert table.loc["gelu", "target"] == "MISSED"  # backward below 85 %
    assert table.loc["relu", "triton/compile_fwd"] == pytest.approx(1 / 1.1)
    assert "copy" not in table.index


def _rehearse(tmp_path, *flags) -> subprocess.CompletedProcess:
    """`gpu-check --rehearse` in a bare environment (its stage processes are bare too)."""
    return subprocess.run([sys.executable, "-m", "actbench", "gpu-check", "--rehearse", "--results",
                           str(tmp_path / "results"), "--out", str(tmp_path / "out"), *flags],
                          cwd=tmp_path, env=bare_env(tmp_path), capture_output=True, text=True, timeout=600)


def _check_rehearsal(tmp_path, proc, models, activations, dtypes=gpu_check.DTYPES):
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    hw = next((tmp_path / "results").iterdir()).name
    out = tmp_path / "out"
    # what the device tool brings back: at most 8 files, at most 2 folders down
    returned = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert returned == sorted(["summary.txt", *(f"{hw}/{name}.parquet" for name in gpu_check.STUDY_FILES.values())])
    assert "gpu-check summary" in proc.stdout and "verification:" in (out / "summary.txt").read_text()

    verify = pd.read_parquet(out / hw / "kernels_verify.parquet")
    assert verify["passed"].all() and set(verify["activation"]) == set(activations)
    launch = pd.read_parquet(out / hw / "kernels_launch_config.parquet")
    launch_dtypes = set(dtypes) & set(gpu_check.LAUNCH_DTYPES)
    assert launch["chosen"].sum() == 2 * len(gpu_check.LAUNCH_ACTIVATIONS) * len(launch_dtypes)  # fwd, bwd
    assert (launch["copy_fraction"] > 0).all()
    steps = pd.read_parquet(out / hw / "training_step.parquet")
    assert set(steps["model"]) == set(models)
    assert set(steps["activation"]) == {"identity", "relu", "gelu", *activations}
    kernels = pd.read_parquet(out / hw / "kernels.parquet")
    triton_rows = kernels[kernels["provider"] == "triton"]
    assert len(triton_rows) and (triton_rows["status"] == "ok").all()  # the interpreted kernels were timed
    assert set(kernels["dtype"]) == set(dtypes) and set(kernels["log2_numel"]) == {10, 12}


def test_rehearsal_runs_every_stage_on_the_cpu_with_only_core_packages(tmp_path):
    """The device run, rehearsed: every stage, results copied out, summary (a slice of it)."""
    models, activations, dtypes = ["mlp", "efficientnet_b0"], ["relu", "swish_beta"], ["float32", "bfloat16"]
    proc = _rehearse(tmp_path, "--models", *models, "--activations", *activations, "--dtypes", *dtypes)
    _check_rehearsal(tmp_path, proc, models, activations, dtypes)


@pytest.mark.slow
def test_full_rehearsal(tmp_path):
    proc = _rehearse(tmp_path)
    _check_rehearsal(tmp_path, proc, list(training_step.MODELS), gpu_check.REHEARSAL["activations"])


def test_a_stage_past_its_deadline_is_killed_with_its_children(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_check, "GRACE_S", 0.5)
    marker = tmp_path / "grandchild-alive"
    # the stage starts a child of its own that would outlive it, then hangs
    grandchild = f"import time, pathlib; time.sleep(3); pathlib.Path({str(marker)!r}).touch()"
    code = f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {grandchild!r}]); time.sleep(60)"
    start = time.time()
    status, seconds = gpu_check.run_child([sys.executable, "-c", code], deadline=time.time() + 1, env=dict(os.environ))
    assert status.startswith("killed") and seconds < 10 and time.time() - start < 10
    time.sleep(4)
    assert not marker.exists()  # the whole process group went


def test_a_failing_stage_reports_its_exit_code():
    status, _ = gpu_check.run_child([sys.executable, "-c", "raise SystemExit(3)"], time.time() + 30, dict(os.environ))
    assert status == "failed (exit 3)"


def test_results_over_the_return_limit_are_not_copied(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "results" / "gpu-x"
    folder.mkdir(parents=True)
    (folder / "kernels.parquet").write_bytes(b"x" * 100)
    (folder / "training_step.parquet").write_bytes(b"x" * 10)
    monkeypatch.setattr(gpu_check, "OUT_FILE_LIMIT", 50)
    copied = gpu_check.copy_out(str(tmp_path / "results"), "gpu-x", str(tmp_path / "out"))
    assert copied == [str(tmp_path / "out" / "gpu-x" / "training_step.parquet")]
    assert "over the 16 MiB" in capsys.readouterr().out


def test_training_step_past_its_deadline_measures_nothing(tmp_path):
    args = gpu_check.build_parser().parse_args(["--rehearse", "--results", str(tmp_path)])
    gpu_check.finish_defaults(args)
    assert gpu_check.stage_training_step(args, deadline=time.monotonic() - 1) == 1
    assert not any(tmp_path.iterdir())


def test_an_unknown_model_is_refused_with_the_allowed_ones(capsys):
    with pytest.raises(SystemExit):
        gpu_check.build_parser().parse_args(["--models", "vit"])
    assert "invalid choice: 'vit'" in capsys.readouterr().err
