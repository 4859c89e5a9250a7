"""`python -m actbench gpu-check`: clear refusal without CUDA, runs with only torch, triton,
pandas and pyarrow, and its summary applies the issue's targets."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from actbench import gpu_check

ROOT = Path(__file__).resolve().parents[1]
# Everything but torch, triton, pandas and pyarrow (and what they pull in, e.g. sympy and
# mpmath for torch) is hidden.
BLOCK = ["snakemake", "seaborn", "tqdm", "matplotlib", "scipy", "yaml", "jsonschema", "mkdocs"]


def run_bare(code: str, tmp_path) -> subprocess.CompletedProcess:
    """Run Python code in a fresh interpreter where the non-core packages cannot be imported."""
    prelude = "import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in BLOCK)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, "-c", prelude + code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without CUDA")
def test_cpu_machine_gets_a_clear_message_and_exit_2(tmp_path):
    proc = run_bare("from actbench.cli import main; sys.exit(main(['gpu-check']))", tmp_path)
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
