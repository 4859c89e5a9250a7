"""Reading and writing ``results/<hw_id>/<study>.parquet``.

Rules (see DESIGN.md): tidy long tables; every row carries the hardware fingerprint,
library versions, project commit and timestamp; writes are atomic (temp file +
rename) so a killed run never leaves a file that looks complete; a machine only ever
writes its own folder.

On a cluster the hardware id is only known on the node a job lands on, so Snakemake
(on the head node) declares ``<results>/.cluster/declared/<study>.parquet`` instead
(see workflow/rules/common.smk). Its jobs set ``ACTBENCH_LINK_DIR`` to that folder, and
``write_study`` links the declared path to the file it just wrote in
``<results>/<hw_id>/``. Hidden folders are not machines (see ``hardware_ids``).
"""

from __future__ import annotations

import datetime as _dt
import os
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from actbench.hardware import fingerprint, hw_id as current_hw_id

DEFAULT_RESULTS = Path("results")


class ResultsError(RuntimeError):
    """A results file is missing, unreadable or inconsistent; the message says what to do."""


def _readable_mode() -> int:
    """rw for everyone the umask allows (mkstemp alone gives 0600: other users, or the
    report job on a cluster running as a service account, could not read results)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _readable_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def atomic_write_parquet(df: pd.DataFrame, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp)
        os.chmod(tmp, _readable_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def with_provenance(df: pd.DataFrame, study: str) -> pd.DataFrame:
    """Add hardware fingerprint, versions, commit and timestamp columns to every row."""
    out = df.copy()
    out["study"] = study
    out["hw_id"] = current_hw_id()
    for key, value in fingerprint().items():
        out[f"hw_{key}" if not key.endswith("_version") and key != "project_commit" else key] = value
    out["timestamp_utc"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    return out


def is_provenance_column(name: str) -> bool:
    """Whether ``with_provenance`` adds this column (machine, versions, commit, time).

    These differ between two runs of the same study on different machines; tests that
    compare results' content (cluster vs local, rerun after a fault) ignore them.
    """
    return (name in ("study", "hw_id", "project_commit", "timestamp_utc")
            or name.startswith("hw_") or name.endswith("_version"))


def study_path(study: str, results_dir: Path = DEFAULT_RESULTS, hw: str | None = None) -> Path:
    return Path(results_dir) / (hw or current_hw_id()) / f"{study}.parquet"


def read_parquet(path: Path) -> pd.DataFrame:
    return read_arrow(path).to_pandas()


def read_arrow(path: Path, columns: list[str] | None = None) -> pa.Table:
    """A results file as an Arrow table; ``columns``: only these (those it lacks are skipped).

    Every reader of results goes through here, so a damaged file (truncated by a full
    disk, overwritten with other bytes) stops with one line naming it and what to do,
    never with pyarrow's traceback (which does not say which file it was reading).
    """
    path = Path(path)
    if not path.exists():
        raise ResultsError(f"{path} does not exist; run the study that writes it (see `python -m actbench --help`)")
    try:
        if columns is not None:
            present = set(pq.read_schema(path).names)
            columns = [c for c in columns if c in present]
        return pq.read_table(path, columns=columns)
    except (pa.ArrowException, OSError) as exc:  # ArrowInvalid, thrift errors (OSError), ...
        reason = " ".join(str(exc).split())  # one line: some pyarrow messages span several
        # pyarrow repeats the path for some readers and not others; we name it once
        reason = reason.replace(f"Could not open Parquet input source '{path}': ", "")
        raise ResultsError(
            f"{path} is not a readable parquet file ({reason}); delete it and rerun the study that writes it "
            "(`make` reruns every study whose file is missing)"
        ) from exc


def write_study(
    df: pd.DataFrame,
    study: str,
    results_dir: Path = DEFAULT_RESULTS,
    key: list[str] | None = None,
    path: Path | None = None,
) -> Path:
    """Write a study's rows for this machine, atomically.

    With ``key``, rows are upserted: existing rows of the file whose key matches a new
    row are replaced, all others kept (so a partial rerun never duplicates rows).
    Without ``key`` the file is replaced.
    """
    rows = with_provenance(df, study)
    target = Path(path) if path else study_path(study, results_dir)
    if key and target.exists():
        missing = [k for k in key if k not in rows.columns]
        if missing:
            raise ValueError(f"upsert key columns {missing} are not in the {study} table")
        old = read_parquet(target)
        if all(k in old.columns for k in key):
            new_keys = pd.MultiIndex.from_frame(rows[key].astype(str))
            old_keys = pd.MultiIndex.from_frame(old[key].astype(str))
            old = old[~old_keys.isin(new_keys)]
            rows = pd.concat([old, rows], ignore_index=True)
    if key:
        dup = rows.duplicated(subset=key, keep="last")
        rows = rows[~dup].reset_index(drop=True)
    atomic_write_parquet(rows, target)
    if path is None or Path(path).resolve() == study_path(study, results_dir).resolve():
        link_declared(target, f"{study}.parquet")
    return target


def link_declared(target: Path, relative: str) -> None:
    """On a cluster: point <ACTBENCH_LINK_DIR>/<relative>, the path Snakemake declared,
    at ``target``, the file just written in results/<hw_id>/. No-op when not set.

    The link is made after the data file is complete and is itself replaced atomically,
    so a job killed at any moment leaves either no link (Snakemake reruns the job) or a
    link to a complete file.
    """
    link_dir = os.environ.get("ACTBENCH_LINK_DIR")
    if not link_dir:
        return
    link = Path(link_dir) / relative
    link.parent.mkdir(parents=True, exist_ok=True)
    tmp = link.parent / f".{link.name}.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    os.symlink(os.path.relpath(Path(target).resolve(), link.parent.resolve()), tmp)
    os.replace(tmp, link)


def read_study(study: str, results_dir: Path = DEFAULT_RESULTS, hw: str | None = None) -> pd.DataFrame:
    """One machine's table, or (hw=None) every machine's tables concatenated."""
    results_dir = Path(results_dir)
    if hw is not None:
        known = hardware_ids(results_dir)
        if hw not in known:
            raise ResultsError(
                f"unknown hardware id {hw!r}; results exist for: {', '.join(known) or 'none'} (in {results_dir})"
            )
        return read_parquet(study_path(study, results_dir, hw))
    frames = [read_parquet(p) for p in sorted(results_dir.glob(f"*/{study}.parquet"))]
    if not frames:
        raise ResultsError(f"no {study}.parquet under {results_dir}/*/; run `python -m actbench {study}` first")
    return pd.concat(frames, ignore_index=True)


def hardware_ids(results_dir: Path = DEFAULT_RESULTS) -> list[str]:
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        return []
    return sorted(p.name for p in results_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
