"""Hardware fingerprint and a stable, readable hardware id.

Every result row carries the fingerprint, and results live in ``results/<hw_id>/``,
so the id must be computed where a job runs (on a cluster node, not on the head).
``ACTBENCH_HW_ID`` overrides the id (used by tests that simulate a second machine).
"""

from __future__ import annotations

import functools
import os
import platform
import re
import subprocess
from pathlib import Path

import numpy as np
import torch

from actbench import devices

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cache_sizes() -> dict:
    """Cache sizes in bytes from sysfs (per instance), where readable."""
    caches = {}
    base = Path("/sys/devices/system/cpu/cpu0/cache")
    for index in sorted(base.glob("index*")):
        try:
            level = (index / "level").read_text().strip()
            kind = (index / "type").read_text().strip()
            size = (index / "size").read_text().strip()
        except OSError:
            continue
        suffix = {"Data": "d", "Instruction": "i", "Unified": ""}.get(kind, "")
        m = re.fullmatch(r"(\d+)([KMG]?)", size)
        if m:
            mult = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}[m.group(2)]
            caches[f"l{level}{suffix}_bytes"] = int(m.group(1)) * mult
    return caches


def _ram_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(PROJECT_ROOT), "rev-parse", "--short=12", "HEAD"],
            capture_output=True, text=True, timeout=10,
        )
        commit = out.stdout.strip()
        if out.returncode == 0 and commit:
            dirty = subprocess.run(
                ["git", "-C", str(PROJECT_ROOT), "status", "--porcelain", "--untracked-files=no"],
                capture_output=True, text=True, timeout=10,
            ).stdout.strip()
            return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return "unknown"


def _triton_version() -> str | None:
    try:
        import triton

        return triton.__version__
    except Exception:  # triton may be absent or fail to import on some platforms
        return None


@functools.cache
def fingerprint() -> dict:
    """Everything needed to interpret a measurement taken on this machine."""
    fp = {
        "cpu_model": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "ram_bytes": _ram_bytes(),
        "os": f"{platform.system()} {platform.release()}",
        "python_version": platform.python_version(),
        "torch_version": torch.__version__,
        "triton_version": _triton_version(),
        "numpy_version": np.__version__,
        "project_commit": git_commit(),
        **_cache_sizes(),
    }
    if devices.CUDA.available():  # the CUDA-specific fields
        props = torch.cuda.get_device_properties(0)
        fp.update(
            gpu_name=props.name,
            gpu_count=torch.cuda.device_count(),
            gpu_sm_count=props.multi_processor_count,
            gpu_memory_bytes=props.total_memory,
            cuda_version=torch.version.cuda,
            gpu_driver=_nvidia_driver(),
        )
    return fp


def _nvidia_driver() -> str | None:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=20,
        )
        return out.stdout.strip().splitlines()[0] if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, IndexError):
        return None


def _slug(text: str) -> str:
    text = re.sub(r"\((r|tm)\)|\bcpu\b|\bprocessor\b|@.*$", " ", text.lower())
    text = re.sub(r"\b\d+-core\b", " ", text)
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def hw_id() -> str:
    """Stable readable id, e.g. ``cpu-amd-epyc-2c`` or ``gpu-nvidia-h200``."""
    override = os.environ.get("ACTBENCH_HW_ID")
    if override:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", override):
            raise ValueError(
                f"ACTBENCH_HW_ID={override!r} is not a valid hardware id: use lowercase letters, digits and '-'"
            )
        return override
    gpu = devices.accelerator()
    if gpu is not None:
        name = re.sub(r"^nvidia\s+", "", gpu.hardware_name(), flags=re.I)  # the prefix names the vendor
        slug = _slug(name)
        slug = re.sub(r"-(sxm|pcie|nvl)\d*.*$", "", slug)
        return f"{gpu.hw_prefix}{slug}"
    return f"{devices.CPU.hw_prefix}{_slug(_cpu_model())}-{os.cpu_count()}c"
