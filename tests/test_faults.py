"""The pipeline keeps its promises under faults.

(a) A job SIGKILLed mid-run (alone, or with Snakemake itself, as when a node dies):
    the rerun completes and the table has no partial or duplicated rows.
(b) Two machines write into one results/: neither folder is touched by the other, and
    the report merges both.
(c) A corrupt parquet file and a corrupt vendored MNIST file are detected, with a
    message that says what to do (and doing it works).
(d) A diverging training configuration is recorded as diverged, not fatal.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from actbench import cli
from actbench.results import ResultsError, read_parquet, write_study
from actbench.studies import study_names
from pipeline_helpers import QUICK, ROOT, assert_same_content, env, snakemake, snakemake_cmd

HW = "fault-test"
DEFAULT_PROFILE = ROOT / "workflow" / "profiles" / "default"


# ── (a) SIGKILL mid-run ──────────────────────────────────────────────────────

def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return tree


def descendants(pid: int) -> list[int]:
    tree, out, todo = _children(), [], [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def argv(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError:
        return []


def study_job(root_pid: int, study: str) -> int | None:
    """The Python process running `python -m actbench <study> ...` under Snakemake (not the
    bash that started it: killing only the shell would leave Python running)."""
    for pid in descendants(root_pid):
        args = argv(pid)
        if (args and Path(args[0]).name.startswith("python") and args[1:4] == ["-m", "actbench", study]):
            return pid
    return None


def _sigkill(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def kill_run(proc: subprocess.Popen) -> None:
    """SIGKILL a Snakemake run this test started and every process it started (its own
    session: the process group id is the run's pid), as when its node dies."""
    _sigkill([proc.pid, *descendants(proc.pid)])
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def wait_for(condition, timeout: float, what: str, poll: float = 0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


# Each case: the study whose job is killed, the extra config that makes the job long
# enough to hit, which process dies, and when. "computing": as soon as the job prints
# progress; "writing": as soon as its atomic write's temp file appears.
SHAPES_BIG = "shapes:\n  activations: []\n  grid_limit: 6.0\n  points: 20001\n"
KILL_CASES = [
    # Two of the four in the default run (a killed job, a lost node mid-write); the other
    # two take half a minute each and run with `make test-slow`.
    pytest.param("shapes", SHAPES_BIG, "job", "computing", id="shapes-job-killed-while-computing",
                 marks=pytest.mark.slow),
    pytest.param("shapes", SHAPES_BIG, "pipeline", "writing", id="shapes-node-lost-while-writing"),
    pytest.param("kernels", "kernels:\n  providers: [eager, eager_out, manual]\n", "job", "computing",
                 id="kernels-timing-job-killed"),
    pytest.param("exp1_mnist", "exp1_mnist:\n  activations: [tanh]\n  seeds: 1\n", "pipeline", "computing",
                 id="exp1-training-node-lost", marks=pytest.mark.slow),
]


def study_target(workdir: Path, study: str) -> Path:
    return workdir / "results" / HW / f"{study}.parquet"


def run_args(study: str, extra: Path) -> list[str]:
    # As the Makefile runs it: the default profile (slots, rerun-incomplete).
    return [f"results/{HW}/{study}.parquet", "--cores", "2", "--workflow-profile", str(DEFAULT_PROFILE),
            "--configfile", str(QUICK), str(extra)]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A clean run of each study (computed once, on first use)."""
    cache: dict[tuple[str, str], pd.DataFrame] = {}

    def get(study: str, extra_config: str) -> pd.DataFrame:
        if (study, extra_config) not in cache:
            work = tmp_path_factory.mktemp(f"reference-{study}")
            extra = work / "extra.yaml"
            extra.write_text(extra_config)
            snakemake(work, *run_args(study, extra), ACTBENCH_HW_ID=HW)
            cache[(study, extra_config)] = read_parquet(study_target(work, study))
        return cache[(study, extra_config)]

    return get


def _progress_started(workdir: Path, study: str, pid: int):
    logs = [p for p in (workdir / "logs").rglob("*.log") if study in p.as_posix()]
    return any("%|" in p.read_text(errors="replace") for p in logs) and pid


def _temp_file_appeared(workdir: Path, study: str):
    return any((workdir / "results").rglob(f".{study}.parquet.*.tmp"))


@pytest.mark.parametrize("study, extra_config, victim, moment", KILL_CASES)
def test_sigkill_mid_run_then_rerun_completes_without_partial_or_duplicate_rows(
        tmp_path, reference, study, extra_config, victim, moment):
    expected = reference(study, extra_config)
    work = tmp_path / "run"
    work.mkdir()
    extra = work / "extra.yaml"
    extra.write_text(extra_config)
    proc = subprocess.Popen(snakemake_cmd(work, *run_args(study, extra)), cwd=ROOT, env=env(ACTBENCH_HW_ID=HW),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        job = wait_for(lambda: study_job(proc.pid, study), 600, f"the {study} job to start")
        if moment == "computing":
            wait_for(lambda: _progress_started(work, study, job), 600, f"{study} progress output")
        else:
            wait_for(lambda: _temp_file_appeared(work, study), 600, f"{study}'s temporary file", poll=0.002)
        alive_before = Path(f"/proc/{job}").exists()
        if victim == "pipeline":
            kill_run(proc)
        else:
            _sigkill([job])
        assert alive_before, f"the {study} job had finished before it could be killed"
    finally:
        if proc.poll() is None and (victim == "pipeline" or sys.exc_info()[0] is not None):
            kill_run(proc)  # a failed wait above: leave nothing of this run behind
        out, _ = proc.communicate(timeout=600)
    assert proc.returncode != 0, f"the run survived the kill?\n{out[-2000:]}"

    # Nothing that looks complete but is not: the target is absent or a whole table.
    target = study_target(work, study)
    if target.exists():
        assert_same_content(read_parquet(target), expected, study, "left behind by the killed run")
    for path in (work / "results").rglob("*.parquet"):
        read_parquet(path)  # every visible parquet file is readable

    if victim == "pipeline":  # Snakemake died holding its lock: what `make pipeline` does first
        assert any((work / ".snakemake" / "locks").iterdir())
        unlock = unlock_if_stale(work, *snakemake_cmd(work, *run_args(study, extra)))
        assert unlock.returncode == 0 and "releasing the lock" in unlock.stdout, unlock.stderr[-2000:]
    rerun = snakemake(work, *run_args(study, extra), ACTBENCH_HW_ID=HW)
    assert "Nothing to be done" not in rerun.stdout + rerun.stderr
    assert_same_content(read_parquet(target), expected, study, "after the rerun")


UNLOCK = ROOT / "scripts" / "unlock_if_stale.py"


def unlock_if_stale(work: Path, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(UNLOCK), *command], cwd=work, capture_output=True, text=True,
                          env=env(ACTBENCH_HW_ID=HW), timeout=600)


def test_unlock_is_a_no_op_without_a_lock(tmp_path):
    proc = unlock_if_stale(tmp_path, "echo", "--cores", "1")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


def test_a_stale_lock_is_released(tmp_path):
    (tmp_path / ".snakemake" / "locks").mkdir(parents=True)
    (tmp_path / ".snakemake" / "locks" / "0.input.lock").write_text("x\n")
    proc = unlock_if_stale(tmp_path, "echo", "--cores", "1")  # `echo` stands in for snakemake
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (f"make: releasing the lock of a Snakemake run that was killed (none runs in {tmp_path}): "
                           "echo --unlock --cores 1\n--unlock --cores 1\n")


@pytest.mark.parametrize("running", [["/venv/bin/snakemake", "--cores", "8"], ["-m", "actbench", "shapes"]],
                         ids=["snakemake", "its-job"])
def test_a_lock_of_a_live_run_is_kept_and_the_command_is_shown(tmp_path, running):
    locks = tmp_path / ".snakemake" / "locks"
    locks.mkdir(parents=True)
    (locks / "0.input.lock").write_text("x\n")
    # A process in this folder that looks like Snakemake (or a job it started): it sleeps
    # and ignores its other arguments.
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", *running], cwd=tmp_path)
    try:
        proc = unlock_if_stale(tmp_path, "echo", "--cores", "1")
    finally:
        live.kill()
        live.wait()
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.splitlines() == [
        f"make: Snakemake's lock in {tmp_path} belongs to a run that is still going:",
        f"  pid {live.pid}: {sys.executable} -c import time; time.sleep(120) {' '.join(running)}",
        "make: wait for it to finish (or stop it), then run `make` again; if you are sure nothing runs, "
        "`echo --unlock --cores 1` releases the lock",
    ]
    assert (locks / "0.input.lock").exists()


# ── (b) two machines, one results/ ───────────────────────────────────────────

def test_two_machines_share_results_without_overwriting(tmp_path):
    for machine in ("machine-a", "machine-b"):
        if machine == "machine-b":
            before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (tmp_path / "results/machine-a").rglob("*")}
        snakemake(tmp_path, f"results/{machine}/shapes.parquet", "--cores", "2", "--configfile", str(QUICK),
                  ACTBENCH_HW_ID=machine)
    after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (tmp_path / "results/machine-a").rglob("*")}
    assert before and after == before, "machine-b's run changed machine-a's folder"
    a, b = (read_parquet(tmp_path / f"results/{m}/shapes.parquet") for m in ("machine-a", "machine-b"))
    assert set(a["hw_id"]) == {"machine-a"} and set(b["hw_id"]) == {"machine-b"}
    assert_same_content(b, a, "shapes", "the same study on two machines")

    out = tmp_path / "generated"
    assert cli.main(["report", "--results", str(tmp_path / "results"), "--out", str(out)]) == 0
    assert json.loads((out / "numbers.json").read_text())["machines"] == ["machine-a", "machine-b"]


# ── (c) corrupt files ────────────────────────────────────────────────────────

def actbench(*args, cwd: Path, pythonpath: Path | None = None, **env_extra) -> subprocess.CompletedProcess:
    extra = {"PYTHONPATH": str(pythonpath)} if pythonpath else {}
    return subprocess.run([sys.executable, "-m", "actbench", *args], cwd=cwd, capture_output=True, text=True,
                          env=env(**extra, **env_extra), timeout=900)


def test_corrupt_parquet_is_detected_with_what_to_do_and_the_advice_works(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ACTBENCH_HW_ID", HW)
    results, out = tmp_path / "results", tmp_path / "generated"
    assert cli.main(["shapes", "--results", str(results), "--points", "101"]) == 0
    path = results / HW / "shapes.parquet"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # a truncated copy
    capsys.readouterr()

    assert cli.main(["report", "--results", str(results), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"actbench report: error: {path} is not a readable parquet file" in err
    assert "delete it and rerun the study that writes it" in err

    path.unlink()  # what the message says to do
    assert cli.main(["shapes", "--results", str(results), "--points", "101"]) == 0
    assert cli.main(["report", "--results", str(results), "--out", str(out)]) == 0


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path -> bytes), hidden ones included."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_failing_report_leaves_its_previous_output_as_it_was(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ACTBENCH_HW_ID", HW)
    results, out = tmp_path / "results", tmp_path / "docs" / "generated"
    assert cli.main(["shapes", "--results", str(results), "--points", "101"]) == 0
    assert cli.main(["report", "--results", str(results), "--out", str(out)]) == 0
    (out / "experiments.ipynb").write_text("{}")  # written by actbench.notebook, not the report
    (out / "figures" / "stale.svg").write_text("<svg/>")  # a figure this report no longer makes
    before = tree(tmp_path / "docs")

    # Fails after the first module has written its figure and table (the second reads every file).
    (results / HW / "kernels.parquet").write_bytes(b"not a parquet file")
    capsys.readouterr()
    assert cli.main(["report", "--results", str(results), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"actbench report: error: {results / HW / 'kernels.parquet'} is not a readable parquet")
    assert tree(tmp_path / "docs") == before  # nothing new, nothing half-replaced, no temporary folder

    (results / HW / "kernels.parquet").unlink()
    assert cli.main(["report", "--results", str(results), "--out", str(out)]) == 0
    after = tree(tmp_path / "docs")
    assert after["generated/experiments.ipynb"] == b"{}"  # other writers' files survive the swap
    assert "generated/figures/stale.svg" not in after  # the report's own folders are replaced whole
    assert "generated/figures/shapes.svg" in after and "generated/numbers.json" in after
    assert sorted(p.name for p in (tmp_path / "docs").iterdir()) == ["generated"]


def test_upsert_onto_a_corrupt_file_refuses_and_keeps_it(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTBENCH_HW_ID", HW)
    rows = pd.DataFrame({"activation": ["relu"], "seed": [0], "value": [1.0]})
    path = write_study(rows, "demo", tmp_path, key=["activation", "seed"])
    path.write_bytes(b"not a parquet file")
    with pytest.raises(ResultsError, match="is not a readable parquet file.*delete it and rerun"):
        write_study(rows, "demo", tmp_path, key=["activation", "seed"])
    assert path.read_bytes() == b"not a parquet file"  # the evidence is not silently replaced


@pytest.fixture
def project_copy(tmp_path):
    """src/actbench and resources/mnist copied into a tree of their own: the package finds
    its data relative to itself, so corrupting the copy leaves the real files alone."""
    copy = tmp_path / "checkout"
    shutil.copytree(ROOT / "src" / "actbench", copy / "src" / "actbench",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "resources" / "mnist", copy / "resources" / "mnist")
    return copy


MNIST_USERS = [
    pytest.param(["exp1_mnist", "--activations", "relu", "--seeds", "0", "--epochs", "1",
                  "--train-subset", "500", "--test-subset", "100", "--dead-subset", "100"], id="exp1_mnist"),
]


@pytest.mark.parametrize("command", MNIST_USERS)
def test_corrupt_mnist_file_is_detected_with_how_to_restore(project_copy, command):
    if command[0] not in study_names():
        pytest.skip(f"study {command[0]!r} is not registered yet")
    target = project_copy / "resources" / "mnist" / "train-images-idx3-ubyte.gz"
    raw = bytearray(target.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    target.write_bytes(bytes(raw))
    results = project_copy / "results"
    proc = actbench(*command, "--results", str(results), cwd=project_copy, pythonpath=project_copy / "src",
                    ACTBENCH_HW_ID=HW)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert f"MNIST file {target} fails its checksum" in proc.stderr
    assert "git checkout -- resources/mnist/" in proc.stderr and "sha256sum -c SHA256SUMS" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not results.exists(), "a run on corrupt data wrote results"


# ── (d) divergence is data ───────────────────────────────────────────────────

DIVERGING = [
    # ReLU with an absurd learning rate overflows float32: a non-finite loss.
    pytest.param("relu", "1e30", id="relu-lr1e30-nonfinite-loss"),
    # The example. With Adam the loss explodes (about 1e3, chance accuracy) but
    # stays finite: train.fit flags it as exploded (above EXPLODE_FACTOR x the first loss).
    pytest.param("sigmoid", "10", id="sigmoid-lr10-exploding-loss"),
]


@pytest.mark.parametrize("activation, lr", DIVERGING)
def test_diverging_configuration_is_recorded_not_fatal(tmp_path, activation, lr):
    results = tmp_path / "results"
    proc = actbench("exp1_mnist", "--results", str(results), "--activations", activation, "--seeds", "0",
                    "--epochs", "2", "--lr", lr, "--train-subset", "500", "--test-subset", "100",
                    "--dead-subset", "100", cwd=tmp_path, ACTBENCH_HW_ID=HW)
    assert proc.returncode == 0, proc.stderr[-2000:]
    df = read_parquet(results / HW / "exp1_mnist.parquet")
    assert df["diverged"].any(), df[["epoch", "train_loss", "diverged"]].to_string()
    first = df[df["diverged"]].iloc[0]
    assert first["diverged_epoch"] >= 1
