"""Small helpers shared by the study command lines: argument types with clear errors."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from actbench import activations
from actbench.results import write_study


def activation_list(name: str) -> str:
    """argparse type: an elementwise registry name (aliases accepted) -> canonical name."""
    try:
        spec = activations.get(name)
    except activations.UnknownActivationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not spec.elementwise:
        raise argparse.ArgumentTypeError(
            f"{name!r} is a module-only entry (not elementwise); valid: {', '.join(activations.elementwise_names())}"
        )
    return spec.name


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer; expected a positive integer") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} is not allowed; expected a positive integer (> 0)")
    return value


def writable_folder(text: str) -> str:
    """argparse type: a folder this process can create files in (it may not exist yet).

    Checked before any work starts, so a long study does not fail at its final write.
    The check creates and removes one hidden file in the nearest existing folder; as
    root, permission bits do not stop writes, so only real failures are reported.
    """
    path = Path(text)
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise argparse.ArgumentTypeError(
            f"folder {text!r} cannot be created: {existing} is a file, not a folder; "
            "pass a folder you can write to")
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".actbench-write-check-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise argparse.ArgumentTypeError(
            f"folder {text!r} is not writable: cannot create files in {existing} ({exc.strerror}); "
            "pass a folder you can write to") from None
    return text


def write_and_report(df, study: str, results_dir, key) -> Path:
    path = write_study(df, study, Path(results_dir), key=key)
    print(f"{study}: wrote {len(df)} rows to {path}")
    return path
