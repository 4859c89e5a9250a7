"""The pipeline on a real SLURM cluster: one node (this machine), two partitions.

The test installs Debian's slurmctld, slurmd and munge when they are absent, writes a
single-node configuration for this machine, starts munged, slurmctld and slurmd, runs
the quick configuration's studies of each kind (plain, training split into part jobs +
merge, GPU kernel timing; pipeline_helpers.SLICE_*) through workflow/profiles/slurm,
and checks the results equal a local run's in content. It stops the daemons it started
by their process ids.

Each partition's jobs get their own hardware id (a TaskProlog exports ACTBENCH_HW_ID on
the node, as a different machine would compute a different id), while Snakemake runs
without one: so the test proves that results land in results/<id computed in the job>/,
never in the head node's folder.

Run with `pytest -m slurm` (.ci/run does); needs root to install packages and to write
/etc/slurm/slurm.conf (job steps find the configuration only there: the executor
plugin drops SLURM_CONF from their environment).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from actbench.hardware import hw_id
from actbench.results import hardware_ids, read_parquet
from pipeline_helpers import (QUICK, ROOT, SLICE_CONFIG, SLICE_STUDIES, assert_same_content, env,
                              snakemake)

pytestmark = pytest.mark.slurm

PACKAGES = ["slurmctld", "slurmd", "munge", "slurm-client"]
DAEMONS = {"munged": "munge", "slurmctld": "slurmctld", "slurmd": "slurmd"}
CLIENTS = ["sbatch", "squeue", "sinfo", "scontrol", "scancel", "srun"]
SYSTEM_CONF = Path("/etc/slurm/slurm.conf")
MARK = "# written by actbench tests/test_slurm.py; removed when the test ends"
PROFILE = ROOT / "workflow" / "profiles" / "slurm"
# The executor's status polling backs off by 10 s per check; these keep the test short.
FAST_POLLING = ["--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "1",
                "--seconds-between-status-checks", "2", "--slurm-no-account"]
PARTITION_HW = {"cpu": "slurm-node-cpu", "gpu": "slurm-node-gpu"}


def _which(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")


def ensure_installed() -> None:
    missing = [b for b in [*DAEMONS, *CLIENTS] if _which(b) is None]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(f"SLURM is not installed ({', '.join(missing)} missing) and apt-get as root is not available")
    quiet = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True,
             "env": {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}}
    update = subprocess.run(["apt-get", "update", "-q"], timeout=600, **quiet)
    install = subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES],
                             timeout=900, **quiet)
    if install.returncode != 0:
        pytest.skip(f"could not install {' '.join(PACKAGES)} with apt-get: "
                    f"{(update.stdout + install.stdout)[-800:]}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise RuntimeError("no MemTotal in /proc/meminfo")


def slurm_conf(base: Path, host: str) -> str:
    """A single-node cluster on this machine: partitions `cpu` (default) and `gpu`, as in
    the profile; the node declares one GPU (backed by /dev/null) so GPU requests schedule."""
    return f"""{MARK}
ClusterName=actbenchtest
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={base}/munge.socket
StateSaveLocation={base}/state
SlurmdSpoolDir={base}/spool
SlurmctldPidFile={base}/slurmctld.pid
SlurmdPidFile={base}/slurmd.pid
SlurmctldLogFile={base}/slurmctld.log
SlurmdLogFile={base}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
MinJobAge=600
SlurmdParameters=config_overrides
TaskProlog={base}/task_prolog.sh
GresTypes=gpu
NodeName={host} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} RealMemory={int(memory_mb() * 0.8)} Gres=gpu:1 State=UNKNOWN
PartitionName=cpu Nodes={host} Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes={host} MaxTime=INFINITE State=UP
"""


def _read_pid(path: Path, timeout: float = 20) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return int(path.read_text().split()[0])
        time.sleep(0.2)
    raise RuntimeError(f"{path} did not appear")


def _stop(pids: list[int]) -> None:
    """SIGTERM the daemons this test started (by pid), SIGKILL any still alive after 15 s."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 15
    for pid in pids:
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        else:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture(scope="module")
def slurm_cluster():
    ensure_installed()
    if os.geteuid() != 0:
        pytest.skip("starting slurmctld/slurmd for a test cluster needs root")
    if SYSTEM_CONF.exists() and MARK not in SYSTEM_CONF.read_text():
        pytest.skip(f"{SYSTEM_CONF} belongs to a real SLURM installation; not replacing it")
    # munged wants its socket folder world-executable, so not pytest's private tmp_path.
    base = Path(tempfile.mkdtemp(prefix="actbench-slurm-", dir="/tmp"))
    base.chmod(0o755)
    for sub in ("state", "spool"):
        (base / sub).mkdir()
    key = base / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o600)
    prolog = base / "task_prolog.sh"
    # A job's output lines `export NAME=value` set its environment: each partition acts
    # as a different kind of machine.
    prolog.write_text('#!/bin/sh\necho "export ACTBENCH_HW_ID=slurm-node-$SLURM_JOB_PARTITION"\n')
    prolog.chmod(0o755)
    host = socket.gethostname().split(".")[0]
    SYSTEM_CONF.parent.mkdir(parents=True, exist_ok=True)
    SYSTEM_CONF.write_text(slurm_conf(base, host))
    gres = SYSTEM_CONF.parent / "gres.conf"
    gres_ours = not gres.exists()
    if gres_ours:
        gres.write_text(f"{MARK}\nName=gpu Count=1 File=/dev/null\n")
    pids: list[int] = []
    cluster_env = {**os.environ, "SLURM_CONF": str(SYSTEM_CONF)}
    try:
        subprocess.run([_which("munged"), f"--key-file={key}", f"--socket={base}/munge.socket",
                        f"--pid-file={base}/munged.pid", f"--log-file={base}/munged.log",
                        f"--seed-file={base}/munged.seed"], check=True, timeout=30)
        pids.append(_read_pid(base / "munged.pid"))
        subprocess.run([_which("slurmctld"), "-i"], check=True, timeout=60, env=cluster_env)
        pids.append(_read_pid(base / "slurmctld.pid"))
        subprocess.run([_which("slurmd"), "-N", host], check=True, timeout=60, env=cluster_env)
        pids.append(_read_pid(base / "slurmd.pid"))
        deadline = time.monotonic() + 60
        state = ""
        while time.monotonic() < deadline:
            state = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True,
                                   env=cluster_env).stdout.split()
            if state and all(s == "idle" for s in state):
                break
            time.sleep(1)
        else:
            logs = "".join(p.read_text()[-1500:] for p in base.glob("*.log"))
            raise RuntimeError(f"the test cluster's node is not idle ({state}):\n{logs}")
        yield {"env": {"SLURM_CONF": str(SYSTEM_CONF)}, "base": base}
    finally:
        subprocess.run(["scancel", "--full", "--user", "root"], capture_output=True, env=cluster_env)
        _stop(list(reversed(pids)))
        SYSTEM_CONF.unlink(missing_ok=True)
        if gres_ours:
            gres.unlink(missing_ok=True)
        shutil.rmtree(base, ignore_errors=True)


def test_quick_config_on_slurm_matches_a_local_run(slurm_cluster, tmp_path):
    # One study of each kind (plain, part jobs + merge, GPU timing) from the quick config.
    targets = list(SLICE_STUDIES)
    extra = tmp_path / "slice.yaml"
    extra.write_text(SLICE_CONFIG)
    local, cluster = tmp_path / "local", tmp_path / "cluster"
    snakemake(local, *targets, "--cores", "2", "--configfile", str(QUICK), str(extra))
    started = time.monotonic()
    slurm_args = [*targets, "--workflow-profile", str(PROFILE), *FAST_POLLING,
                  "--configfile", str(QUICK), str(extra)]
    proc = snakemake(cluster, *slurm_args, **slurm_cluster["env"])
    minutes = (time.monotonic() - started) / 60
    assert "submitted with SLURM jobid" in proc.stdout + proc.stderr

    # Results sit in the folders of the ids computed in the jobs, none in the head's.
    head = hw_id()
    machines = hardware_ids(cluster / "results")
    assert machines and set(machines) <= set(PARTITION_HW.values()), machines
    assert head not in machines
    if "kernels" in targets:  # the timing rule went to the GPU partition
        assert (cluster / "results" / PARTITION_HW["gpu"] / "kernels.parquet").exists()
    declared = sorted((cluster / "results" / ".cluster" / "declared").glob("*.parquet"))
    assert [p.stem for p in declared] == sorted(targets)
    for link in declared:
        assert link.is_symlink()
        target = link.resolve()
        assert target.parent.parent == (cluster / "results").resolve() and target.parent.name in machines
        assert_same_content(read_parquet(target), read_parquet(local / "results" / head / link.name),
                            link.stem, "SLURM run vs local run")

    # The report merges every machine's folder.
    out = tmp_path / "generated"
    subprocess.run([sys.executable, "-m", "actbench", "report", "--results", str(cluster / "results"),
                    "--out", str(out)], check=True, capture_output=True, env=env())
    assert json.loads((out / "numbers.json").read_text())["machines"] == machines
    # A second run finds nothing to do (the declared links are up to date).
    again = snakemake(cluster, *slurm_args, "-n", **slurm_cluster["env"])
    assert "Nothing to be done" in again.stdout + again.stderr
    print(f"SLURM run of {', '.join(targets)}: {minutes:.1f} min")
