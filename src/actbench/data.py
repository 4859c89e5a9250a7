"""Datasets: vendored MNIST (checksummed IDX files) and seeded synthetic 2-D sets."""

from __future__ import annotations

import gzip
import hashlib
import math
from pathlib import Path

import numpy as np
import torch

from actbench.hardware import PROJECT_ROOT

MNIST_DIR = PROJECT_ROOT / "resources" / "mnist"
MNIST_FILES = {
    ("train", "images"): "train-images-idx3-ubyte.gz",
    ("train", "labels"): "train-labels-idx1-ubyte.gz",
    ("test", "images"): "t10k-images-idx3-ubyte.gz",
    ("test", "labels"): "t10k-labels-idx1-ubyte.gz",
}
RESTORE_HINT = (
    "restore it with `git checkout -- resources/mnist/` (or copy the original IDX .gz files "
    "into resources/mnist/) and check with `cd resources/mnist && sha256sum -c SHA256SUMS`"
)
SYNTHETIC = ("xor", "circles", "spirals")


class DataError(RuntimeError):
    """A dataset file is missing or altered; the message says how to restore it."""


def _expected_sums(directory: Path) -> dict[str, str]:
    sums_file = directory / "SHA256SUMS"
    if not sums_file.exists():
        raise DataError(f"{sums_file} is missing; {RESTORE_HINT}")
    sums = {}
    for line in sums_file.read_text().splitlines():
        if line.strip():
            digest, name = line.split()
            sums[name.lstrip("*")] = digest
    return sums


def _read_verified(directory: Path, name: str, sums: dict[str, str]) -> bytes:
    path = directory / name
    if not path.exists():
        raise DataError(f"MNIST file {path} is missing; {RESTORE_HINT}")
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != sums.get(name):
        raise DataError(
            f"MNIST file {path} fails its checksum (sha256 {digest[:16]}..., expected "
            f"{str(sums.get(name))[:16]}...); the file was altered or truncated; {RESTORE_HINT}"
        )
    return gzip.decompress(raw)


def _parse_idx(data: bytes) -> np.ndarray:
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_mnist(split: str = "train", directory: Path = MNIST_DIR, scale: str = "minus_one_one"):
    """Return (images float32 [N, 784], labels int64 [N]) for 'train' or 'test'.

    scale: 'minus_one_one' maps pixels to [-1, 1] (the tutorial's Experiment 1 set-up:
    ToTensor then Normalize(0.5, 0.5)); 'unit' maps to [0, 1].
    """
    if split not in ("train", "test"):
        raise ValueError(f"split {split!r} is not valid; use 'train' or 'test'")
    if scale not in ("minus_one_one", "unit"):
        raise ValueError(f"scale {scale!r} is not valid; use 'minus_one_one' or 'unit'")
    directory = Path(directory)
    sums = _expected_sums(directory)
    images = _parse_idx(_read_verified(directory, MNIST_FILES[(split, "images")], sums))
    labels = _parse_idx(_read_verified(directory, MNIST_FILES[(split, "labels")], sums))
    x = torch.from_numpy(images.reshape(len(images), -1).astype(np.float32) / 255.0)
    if scale == "minus_one_one":
        x = x * 2.0 - 1.0
    return x, torch.from_numpy(labels.astype(np.int64))


def synthetic(name: str, n: int = 1000, noise: float = 0.1, seed: int = 0):
    """Seeded 2-D binary (xor, circles) or 3-class (spirals) sets: (x float32 [n, 2], y int64 [n])."""
    if name not in SYNTHETIC:
        raise ValueError(f"unknown synthetic dataset {name!r}; valid: {', '.join(SYNTHETIC)}")
    if n <= 0:
        raise ValueError(f"n must be a positive number of samples, got {n}")
    gen = torch.Generator().manual_seed(seed)
    if name == "xor":
        x = torch.rand(n, 2, generator=gen) * 2 - 1
        y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).long()
    elif name == "circles":
        y = (torch.rand(n, generator=gen) < 0.5).long()
        radius = torch.where(y == 1, 0.5, 1.0)
        angle = torch.rand(n, generator=gen) * 2 * math.pi
        x = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)
    else:  # spirals, 3 arms
        y = torch.randint(0, 3, (n,), generator=gen)
        t = torch.rand(n, generator=gen)
        angle = 4 * t + y * (2 * math.pi / 3)
        x = torch.stack([t * torch.cos(angle), t * torch.sin(angle)], dim=1)
    x = x + noise * torch.randn(n, 2, generator=gen)
    return x.float(), y
