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

Settings: a study run from the command line records its parameters on every row it
writes (``settings``, as JSON, and ``settings_hash``, a hash of those that change what
a row holds; see ``RunSettings``). Before any work it checks the file it would write: a
file whose rows were made with other settings, or whose settings were never recorded
(results written before this existed, such as the committed ones), is neither replaced
nor added to unless the run says ``--replace``. Rows keep their settings when merged, so
a file never mixes two settings without saying so.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from actbench.hardware import fingerprint, hw_id as current_hw_id

DEFAULT_RESULTS = Path("results")
BY_HAND_RESULTS = "results-local"  # a study's default --results: by hand, never the pipeline's results/
SETTINGS_HASH = "settings_hash"
SETTINGS = "settings"
INCOMPLETE = b"actbench.incomplete"  # parquet metadata key of a checkpoint (see write_checkpoint)


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
    _atomic_write_table(pa.Table.from_pandas(df, preserve_index=False), path)


def _atomic_write_table(table: pa.Table, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.chmod(tmp, _readable_mode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ── the settings a run records and checks ─────────────────────────────────────
@dataclass
class RunSettings:
    """One command-line run of a study: its parameters (``settings``), the hash of those
    that change what a row holds (``hash``; the others, ``selection``, only choose rows),
    and whether it may replace a file made with other settings (``--replace``)."""

    study: str
    settings: dict
    hash: str
    selection: tuple[str, ...] = ()
    replace: bool = False
    replaced: set = field(default_factory=set)  # files this run has already replaced (later writes add to them)


_RUN: RunSettings | None = None


@contextlib.contextmanager
def recording(run: RunSettings | None):
    """While a study runs: every row ``with_provenance`` makes for it records ``run``'s
    settings, and ``write_study`` checks them against the file it writes. (A context, not
    an argument, so that every study's writer records them without being changed.)"""
    global _RUN
    before, _RUN = _RUN, run
    try:
        yield run
    finally:
        _RUN = before


def _current(study: str) -> RunSettings | None:
    return _RUN if _RUN is not None and _RUN.study == study else None


def _show(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def settings_differences(old: dict, new: dict, names, labels=("there", "now")) -> list[str]:
    """'name: OLD there, NEW now' for each of ``names`` whose value differs."""
    return [f"{n}: {_show(old.get(n))} {labels[0]}, {_show(new.get(n))} {labels[1]}"
            for n in names if old.get(n) != new.get(n)]


def check_settings(path: Path, run: RunSettings | None, upsert: bool) -> None:
    """Refuse, before any work, to replace ``path`` (``upsert`` False) or add rows beside
    its rows (``upsert`` True) when they were made with other settings or with settings
    never recorded. Adding rows needs equal settings apart from those that only choose
    rows; replacing needs every setting equal (or the run would silently drop rows).
    Nothing to check without a run (the API used directly), with ``--replace``, or when
    the file does not exist."""
    path = Path(path)
    if run is None or run.replace or not path.exists():
        return
    recorded = read_arrow(path, columns=[SETTINGS])
    values = set(recorded.column(SETTINGS).to_pylist()) if SETTINGS in recorded.column_names else {None}
    names = [n for n in run.settings if not (upsert and n in run.selection)]
    if None in values:
        problem = ("holds rows whose settings were not recorded (written before actbench recorded them, as the "
                   "committed results were)")
    else:
        differences = []
        for text in sorted(values):
            differences += [d for d in settings_differences(json.loads(text), run.settings, names)
                            if d not in differences]
        if not differences:
            return
        problem = f"holds rows made with other settings ({'; '.join(differences)})"
    action = "add its rows beside them" if upsert else "replace them"
    raise ResultsError(f"{path} {problem}; this run would {action}. Write elsewhere with --results DIR, "
                       "or pass --replace to replace that file on purpose")


def with_provenance(df: pd.DataFrame, study: str) -> pd.DataFrame:
    """Add hardware fingerprint, versions, commit and timestamp columns to every row, and
    the settings of the run that made it (when it runs from the command line)."""
    out = df.copy()
    out["study"] = study
    out["hw_id"] = current_hw_id()
    for key, value in fingerprint().items():
        out[f"hw_{key}" if not key.endswith("_version") and key != "project_commit" else key] = value
    out["timestamp_utc"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    run = _current(study)
    if run is not None:
        out[SETTINGS_HASH] = run.hash
        out[SETTINGS] = json.dumps(run.settings, sort_keys=True, ensure_ascii=False)
    return out


def is_provenance_column(name: str) -> bool:
    """Whether ``with_provenance`` adds this column (machine, versions, commit, time, the
    run's settings).

    The machine's columns differ between two runs of the same study on different
    machines; tests that compare results' content (cluster vs local, rerun after a
    fault) ignore them all.
    """
    return (name in ("study", "hw_id", "project_commit", "timestamp_utc", SETTINGS_HASH, SETTINGS)
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
        schema = pq.read_schema(path)
        if INCOMPLETE in (schema.metadata or {}):
            study = schema.metadata[INCOMPLETE].decode()
            raise ResultsError(
                f"{path} is the checkpoint of a {study} run that did not finish (killed, or still running), not a "
                f"results file: its rows are incomplete and nothing reads them. Run the study again; it writes "
                f"{study}.parquet only when it is complete")
        if columns is not None:
            columns = [c for c in columns if c in set(schema.names)]
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
    Without ``key`` the file is replaced. Either is refused when the file's rows were
    made with other settings (``check_settings``); with ``--replace`` the run's first
    write replaces the file and its later ones add to it.
    """
    rows = with_provenance(df, study)
    target = Path(path) if path else study_path(study, results_dir)
    run = _current(study)
    check_settings(target, run, upsert=bool(key))
    replacing = run is not None and run.replace and target.resolve() not in run.replaced
    if run is not None:
        run.replaced.add(target.resolve())
    if key and target.exists() and not replacing:
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


def checkpoint_path(study: str, results_dir: Path = DEFAULT_RESULTS) -> Path:
    """Where a long study keeps the rows of a run in progress: beside its results file,
    under a name no reader of results looks for (not ``*.parquet``)."""
    return study_path(study, results_dir).with_name(f"{study}.parquet.incomplete")


def write_checkpoint(df: pd.DataFrame, study: str, results_dir: Path = DEFAULT_RESULTS) -> Path:
    """Save the rows measured so far (atomically), marked incomplete in the file's own
    metadata, so that ``read_arrow`` refuses the file even when copied or renamed. The
    study writes its results file (``write_study``) only when it is complete, then calls
    ``drop_checkpoint``; a run killed before that leaves only this file."""
    table = pa.Table.from_pandas(with_provenance(df, study), preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), INCOMPLETE: study.encode()})
    path = checkpoint_path(study, results_dir)
    _atomic_write_table(table, path)
    return path


def drop_checkpoint(study: str, results_dir: Path = DEFAULT_RESULTS) -> None:
    checkpoint_path(study, results_dir).unlink(missing_ok=True)


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
