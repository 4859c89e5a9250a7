"""A text corpus every machine has offline: source files of the Python standard library.

The corpus is a fixed list of stdlib modules (``CORPUS_MODULES``), read as bytes from
``sysconfig.get_paths()["stdlib"]``; tokens are bytes (vocabulary 256), so there is no
tokenizer to choose or ship. The last ``val_fraction`` of each file is held out for
validation, so both splits cover every file's style.

The files differ between Python versions, so every result records each file's name,
size and sha256 (``Corpus.manifest()``) and one digest of the whole corpus: two runs
with the same ``corpus_sha256`` trained on the same bytes.
"""

from __future__ import annotations

import hashlib
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import torch

# Pure-Python modules present in every CPython 3.x: prose-heavy docstrings and code.
CORPUS_MODULES = ("argparse", "textwrap", "difflib", "heapq", "pprint", "shlex", "fractions",
                  "calendar", "csv", "string", "statistics", "functools")
VOCAB_SIZE = 256


@dataclass
class Corpus:
    train: torch.Tensor   # uint8 tokens
    val: torch.Tensor
    files: list[dict]      # name, bytes, sha256, train_bytes, val_bytes

    @property
    def sha256(self) -> str:
        """One digest over the (name, sha256) of every file, in order."""
        h = hashlib.sha256()
        for f in self.files:
            h.update(f"{f['name']}:{f['sha256']}\n".encode())
        return h.hexdigest()

    def manifest(self) -> str:
        return ";".join(f"{f['name']}:{f['bytes']}:{f['sha256']}" for f in self.files)


def stdlib_dir() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def corpus_files(modules=CORPUS_MODULES, root: Path | None = None) -> list[Path]:
    root = Path(root) if root else stdlib_dir()
    paths = []
    for name in modules:
        path = root / f"{name}.py"
        if not path.is_file():
            raise FileNotFoundError(
                f"stdlib module source {path} is missing; the corpus needs {', '.join(modules)} "
                f"under {root} (a Python installation without .py sources cannot build it)")
        paths.append(path)
    return paths


def load_corpus(modules=CORPUS_MODULES, val_fraction: float = 0.1, root: Path | None = None) -> Corpus:
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    train_parts, val_parts, files = [], [], []
    for path in corpus_files(modules, root):
        raw = path.read_bytes()
        cut = int(len(raw) * (1 - val_fraction))
        train_parts.append(raw[:cut])
        val_parts.append(raw[cut:])
        files.append({"name": path.name, "bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest(),
                      "train_bytes": cut, "val_bytes": len(raw) - cut})

    def tokens(parts):
        return torch.frombuffer(bytearray(b"".join(parts)), dtype=torch.uint8).clone()

    return Corpus(tokens(train_parts), tokens(val_parts), files)


def random_windows(data: torch.Tensor, context: int, batch: int, gen: torch.Generator):
    """(inputs, targets) int64 [batch, context]: random windows and the next byte of each."""
    if len(data) <= context + 1:
        raise ValueError(f"corpus split of {len(data)} bytes is too short for context {context}")
    start = torch.randint(0, len(data) - context - 1, (batch,), generator=gen)
    idx = start[:, None] + torch.arange(context + 1)
    w = data[idx].long()
    return w[:, :-1], w[:, 1:]


def fixed_windows(data: torch.Tensor, context: int, count: int):
    """Evenly spaced windows covering the split (the same for every run): validation."""
    if len(data) <= context + 1:
        raise ValueError(f"corpus split of {len(data)} bytes is too short for context {context}")
    start = torch.linspace(0, len(data) - context - 1, count).long()
    idx = start[:, None] + torch.arange(context + 1)
    w = data[idx].long()
    return w[:, :-1], w[:, 1:]
