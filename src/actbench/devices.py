"""The devices a measurement can run on, each described once.

Every place that used to test ``device == "cuda"`` asks the entry instead: which timer
it uses, the kernels study's default sizes and dtypes, whether CPU thread counts apply,
whether Triton compiles kernels for it, how its hardware ids begin and how to tell
whether this machine has one. A second GPU backend is one more entry in ``DEVICES``.

This module imports torch only: ``gpu-check`` imports it on a bare GPU machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch


@dataclass(frozen=True)
class Device:
    name: str  # torch's device type, and the value of --device and of the results' `device` column
    label: str  # how pages and messages name it
    timer: str  # actbench.timing.TIMERS key: how a callable is timed on it
    log2_sizes: tuple[int, ...]  # the kernels study's default sizes (powers of two)
    dtypes: tuple[str, ...]  # the kernels study's default dtypes
    hw_prefix: str  # hardware ids of machines measured on it start with this
    available: Callable[[], bool]  # whether this machine has one usable now
    why_not: str  # what `available` checks, for the message when it is False
    gpu: bool = False  # an accelerator: the tutorial's GPU claims compare with it
    threads: bool = False  # CPU intra-op thread counts apply (else results store threads = 0)
    triton: bool = False  # Triton compiles kernels for it (the CPU has only the interpreter)
    hardware_name: Callable[[], str] | None = None  # the accelerator's model name (for the hardware id)
    release_memory: Callable[[], None] = lambda: None  # hand cached memory back between size groups


def _cuda_name() -> str:
    return torch.cuda.get_device_properties(0).name


# Sizes: cache-resident (2^12 elements) up to at least 4x the last-level cache: 2^25
# float32 is 128 MiB (this CPU's L3 is 32 MiB); on a GPU 2^28 float32 is 1 GiB (L2: tens of MiB).
CPU = Device("cpu", "CPU", timer="autorange", log2_sizes=(12, 16, 20, 23, 25), dtypes=("float32", "bfloat16"),
             hw_prefix="cpu-", available=lambda: True, why_not="", threads=True)
CUDA = Device("cuda", "CUDA GPU", timer="do_bench", log2_sizes=(12, 16, 20, 24, 26, 28),
              dtypes=("float32", "bfloat16", "float16"), hw_prefix="gpu-nvidia-",
              available=lambda: torch.cuda.is_available(), why_not="torch.cuda.is_available() is False",
              gpu=True, triton=True, hardware_name=_cuda_name, release_memory=lambda: torch.cuda.empty_cache())

DEVICES: dict[str, Device] = {d.name: d for d in (CPU, CUDA)}
AUTO = "auto"  # --device auto: the first accelerator this machine has, else the CPU
CHOICES = (AUTO, *DEVICES)
AUTO_HELP = (f"{AUTO}: " + " or ".join(f"a {d.label}" for d in DEVICES.values() if d.gpu)
             + f" when this machine has one, else the {CPU.label}")
TRITON_DEVICES = tuple(name for name, d in DEVICES.items() if d.triton)


def get(name: str | torch.device) -> Device:
    """The entry for a device name (or a torch.device / 'cuda:0': its type)."""
    kind = torch.device(name).type if not isinstance(name, str) or ":" in name else name
    try:
        return DEVICES[kind]
    except KeyError:
        raise ValueError(f"unknown device {str(name)!r}; allowed: {', '.join(DEVICES)}") from None


def accelerator() -> Device | None:
    """The first accelerator this machine has (None on a CPU-only machine)."""
    return next((d for d in DEVICES.values() if d.gpu and d.available()), None)


def default() -> Device:
    return accelerator() or CPU


def available_names() -> list[str]:
    return [name for name, d in DEVICES.items() if d.available()]


def resolve(name: str, flag: str = "--device") -> str:
    """A --device value -> the device to use: ``auto`` picks; a device this machine lacks is refused."""
    if name == AUTO:
        return default().name
    device = get(name)
    if not device.available():
        raise ValueError(f"{flag} {name}: no {device.label} is visible ({device.why_not}); "
                         f"allowed here: {', '.join([*available_names(), AUTO])}")
    return name


def label_of(names) -> str:
    """How a page names the device of a set of result rows: the accelerator's label if any row used one."""
    known = [DEVICES[n] for n in dict.fromkeys(names) if n in DEVICES]
    return next((d.label for d in known if d.gpu), CPU.label)


def any_gpu(names) -> bool:
    return any(n in DEVICES and DEVICES[n].gpu for n in names)
