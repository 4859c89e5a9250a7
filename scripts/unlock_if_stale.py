"""Release the lock a killed Snakemake left behind, when that is safe (`make pipeline` runs this).

A Snakemake killed with SIGKILL (or whose machine died) keeps its lock in
.snakemake/locks/, and every later run of the folder stops with "Directory cannot be
locked". The lock does not record a process id, so this looks for the processes
instead: when no Snakemake, and no job a Snakemake started (`python -m actbench ...`),
runs in this folder, the lock is stale and `snakemake --unlock` is safe. Otherwise it
prints what is running and the command to use once it has stopped, and exits 1.

Incomplete markers (jobs that were running when Snakemake died) need nothing here: the
default profile sets `rerun-incomplete: true`, so the next run redoes those jobs.

    python scripts/unlock_if_stale.py SNAKEMAKE [ARGS...]   # ARGS: as for the run itself
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _argv(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def _ancestors() -> set[int]:
    """This process and the ones that started it (make's shell mentions snakemake too)."""
    out, pid = set(), os.getpid()
    while pid > 1:
        out.add(pid)
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return out


def _is_pipeline_process(argv: list[str]) -> bool:
    """Snakemake itself (`python .../bin/snakemake ...`, `python -m snakemake ...`) or one of
    its jobs (every rule runs `python -m actbench ...` or `python -m actbench.notebook ...`).
    Generous on purpose: a false match only means the lock is left for the user to release."""
    modules = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "-m"]
    return (any(Path(a).name == "snakemake" for a in argv)
            or any(m == "snakemake" or m.split(".")[0] == "actbench" for m in modules))


def running_here(folder: Path) -> list[tuple[int, str]]:
    """(pid, command line) of every pipeline process whose working folder is ``folder``."""
    here, skip, found = folder.resolve(), _ancestors(), []
    for proc in Path("/proc").glob("[0-9]*"):
        pid = int(proc.name)
        if pid in skip:
            continue
        try:
            cwd = Path(os.readlink(proc / "cwd"))
        except OSError:  # gone, or another user's process
            continue
        argv = _argv(pid)
        if cwd == here and _is_pipeline_process(argv):
            found.append((pid, " ".join(argv).strip()))
    return sorted(found)


def main(argv: list[str]) -> int:
    snakemake, args = argv[0], argv[1:]
    locks = Path(".snakemake/locks")
    if not locks.is_dir() or not any(locks.iterdir()):
        return 0  # no lock: nothing to do
    unlock = " ".join([snakemake, "--unlock", *args])
    busy = running_here(Path.cwd())
    if busy:
        print(f"make: Snakemake's lock in {Path.cwd()} belongs to a run that is still going:", file=sys.stderr)
        for pid, command in busy:
            print(f"  pid {pid}: {command[:200]}", file=sys.stderr)
        print(f"make: wait for it to finish (or stop it), then run `make` again; if you are sure nothing "
              f"runs, `{unlock}` releases the lock", file=sys.stderr)
        return 1
    print(f"make: releasing the lock of a Snakemake run that was killed (none runs in {Path.cwd()}): {unlock}")
    return subprocess.run([snakemake, "--unlock", *args]).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
