"""Every row of src/actbench/bad_inputs.yaml (the table on docs/bad-input.md): the user
sees the stated message and nothing is written."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pandas as pd
import pytest
import torch

from actbench import bad_inputs, cli, results
from pipeline_helpers import QUICK, ROOT, env, files_under, snakemake

ROWS = bad_inputs.load()


def prepare(row, work):
    """The row's setup, then its `before` commands (run in ``work``, with the row's env)."""
    if row.needs == "no-cuda" and torch.cuda.is_available():
        pytest.skip("this row is about machines without a CUDA device")
    for kind, name in row.setup.items():
        if kind == "file":
            (work / name).write_text("not a folder\n")
        elif kind == "folder":
            (work / name).mkdir(parents=True)
        elif kind == "copy":
            source, dest = name.split()
            (work / dest).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(ROOT / source, work / dest)
        elif kind == "checkpoint":  # what a run of the study killed after its first size leaves
            results.write_checkpoint(pd.DataFrame({"median_s": [1e-6]}), name, work / "results")
        else:
            raise ValueError(f"row {row.id}: unknown setup {kind!r}")
    for args in row.before:
        assert cli.main([a.replace("{dir}", str(work)) for a in args]) == 0, f"row {row.id}: {args} failed"


def expected(row, work) -> str:
    return row.checked_message.replace("{dir}", str(work))


@pytest.mark.parametrize("row", [r for r in ROWS if r.run == "cli"], ids=lambda r: r.id)
def test_bad_command_line_input(row, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # default --results / --out would land here
    for name, value in row.env.items():
        monkeypatch.setenv(name, value)
    prepare(row, tmp_path)
    capsys.readouterr()  # what the `before` commands printed
    before = files_under(tmp_path)
    try:
        status = cli.main([a.replace("{dir}", str(tmp_path)) for a in row.args])
    except SystemExit as exc:  # argparse errors
        status = exc.code
    err = capsys.readouterr().err
    assert status == 2
    assert expected(row, tmp_path) in err, err
    assert "Traceback" not in err
    assert files_under(tmp_path) == before


@pytest.mark.parametrize("row", [r for r in ROWS if r.run == "config"], ids=lambda r: r.id)
def test_bad_config(row, tmp_path):
    prepare(row, tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text(row.config)
    before = files_under(tmp_path, skip=(".snakemake",))
    proc = snakemake(tmp_path, "-n", "--cores", "1", "--configfile", str(QUICK), str(bad), check=False,
                     **row.env)
    assert proc.returncode != 0
    assert expected(row, tmp_path) in proc.stdout + proc.stderr, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert files_under(tmp_path, skip=(".snakemake",)) == before


def test_the_real_command_line_prints_the_same(tmp_path):
    """The in-process runs above see what a shell user sees (one row through a real process)."""
    row = next(r for r in ROWS if r.id == "zero-size")
    proc = subprocess.run([sys.executable, "-m", "actbench", *row.args], cwd=tmp_path, capture_output=True,
                          text=True, env=env(), timeout=300)
    assert proc.returncode == 2 and expected(row, tmp_path) in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_docs_table_lists_every_row():
    table = bad_inputs.markdown_table()
    assert len(ROWS) >= 15
    assert table.count("\n") == len(ROWS) + 2
    for row in ROWS:
        assert row.input in table
