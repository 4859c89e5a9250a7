"""One training loop for every study: ``fit(model, data, epochs, lr, batch_size, seed, ...)``.

Design points (the studies and the ablations build on them):

* Deterministic given ``seed`` and the thread count on one machine: the shuffling order
  comes from a generator seeded with ``seed`` and the global torch RNG is seeded too
  (dropout). Model initialisation is seeded by the builder (``models.mlp(seed=...)``).
* Divergence is data, not a crash: a NaN/inf loss, or an epoch's mean training loss
  above ``EXPLODE_FACTOR`` times the first batch's loss (finite but exploded, e.g. sigmoid
  with Adam at lr 10 sits near 1e3 against ln 10 at the start), stops training and the
  returned records carry ``diverged=True`` and ``diverged_epoch``.
* Per-epoch records are plain dicts (one row per epoch in the studies' tables); callbacks
  add columns to them (dead units, gradient norms, ...).
* Wall time per epoch is recorded, but it is only comparable between runs that had the
  machine to themselves; the studies mark it ``wall_time_comparable=False`` otherwise.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pandas as pd
import torch
import torch.nn as nn
from tqdm import tqdm

from actbench.data import load_mnist, synthetic

LOSSES = ("cross_entropy", "mse", "bce_logits")
OPTIMIZERS = ("adam", "sgd")

# An epoch whose mean training loss exceeds this multiple of the first batch's loss has
# exploded: 100x keeps ordinary loss spikes (a few times the start) out of it.
EXPLODE_FACTOR = 100.0


@dataclass
class Dataset:
    """Training tensors and (optionally) held-out tensors."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor | None = None
    y_test: torch.Tensor | None = None
    name: str = ""

    def __post_init__(self):
        if len(self.x_train) != len(self.y_train):
            raise ValueError(f"x_train has {len(self.x_train)} rows but y_train has {len(self.y_train)}")
        if (self.x_test is None) != (self.y_test is None):
            raise ValueError("give both x_test and y_test, or neither")
        if self.x_test is not None and len(self.x_test) != len(self.y_test):
            raise ValueError(f"x_test has {len(self.x_test)} rows but y_test has {len(self.y_test)}")


def stratified_subset(y: torch.Tensor, size: int, seed: int = 0) -> torch.Tensor:
    """Indices of a class-balanced random subset of ``size`` rows (sorted, reproducible).

    Each class gets size * (its share) rows, rounded, with the remainder going to the
    largest classes, so the subset keeps the label distribution of the full set.
    """
    n = len(y)
    if size <= 0 or size >= n:
        return torch.arange(n)
    gen = torch.Generator().manual_seed(seed)
    classes, counts = torch.unique(y, return_counts=True)
    quota = (counts.double() * size / n).floor().long()
    short = size - int(quota.sum())
    order = torch.argsort(counts.double() * size / n - quota.double(), descending=True)
    quota[order[:short]] += 1
    picked = []
    for c, q in zip(classes.tolist(), quota.tolist()):
        rows = torch.nonzero(y == c).flatten()
        picked.append(rows[torch.randperm(len(rows), generator=gen)[:q]])
    return torch.sort(torch.cat(picked)).values


def mnist(train_subset: int = 0, test_subset: int = 0, subset_seed: int = 0,
          scale: str = "minus_one_one") -> Dataset:
    """MNIST as flat rows. A subset size of 0 means the whole split; subsets are stratified
    and fixed by ``subset_seed`` (the same rows for every activation and training seed)."""
    x_train, y_train = load_mnist("train", scale=scale)
    x_test, y_test = load_mnist("test", scale=scale)
    if 0 < train_subset < len(y_train):  # index only for a real subset (indexing copies 190 MB)
        tr = stratified_subset(y_train, train_subset, subset_seed)
        x_train, y_train = x_train[tr], y_train[tr]
    if 0 < test_subset < len(y_test):
        te = stratified_subset(y_test, test_subset, subset_seed + 1)
        x_test, y_test = x_test[te], y_test[te]
    return Dataset(x_train, y_train, x_test, y_test, name="mnist")


def synthetic_split(name: str, n: int = 1000, noise: float = 0.1, seed: int = 0) -> Dataset:
    """A synthetic 2-D set with an independent test set of the same size (seed + 10_000)."""
    x, y = synthetic(name, n, noise, seed)
    xt, yt = synthetic(name, n, noise, seed + 10_000)
    return Dataset(x, y, xt, yt, name=name)


class Callback:
    """Hooks into ``fit``. Subclass and override what you need; a plain function
    ``f(model, record) -> dict | None`` is treated as ``on_epoch_end``."""

    def on_train_begin(self, model: nn.Module) -> dict | None:
        """Called before the first step; a returned dict becomes the epoch-0 record's extra columns."""
        return None

    def on_batch_end(self, model: nn.Module, step: int, loss: float) -> None:
        return None

    def on_epoch_end(self, model: nn.Module, record: dict) -> dict | None:
        """Return extra columns for this epoch's record (or None)."""
        return None


class _FunctionCallback(Callback):
    def __init__(self, fn: Callable):
        self.fn = fn

    def on_epoch_end(self, model, record):
        return self.fn(model, record)


@dataclass
class FitResult:
    records: list[dict] = field(default_factory=list)
    diverged: bool = False
    diverged_epoch: int | None = None

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.records)

    @property
    def final(self) -> dict:
        return self.records[-1] if self.records else {}


def make_loss(loss) -> nn.Module:
    if isinstance(loss, nn.Module):
        return loss
    table = {"cross_entropy": nn.CrossEntropyLoss, "mse": nn.MSELoss, "bce_logits": nn.BCEWithLogitsLoss}
    if loss not in table:
        raise ValueError(f"unknown loss {loss!r}; allowed: {', '.join(LOSSES)} or an nn.Module")
    return table[loss]()


def make_optimizer(optimizer, params, lr: float) -> torch.optim.Optimizer:
    if callable(optimizer) and not isinstance(optimizer, str):
        return optimizer(params, lr)
    if optimizer == "adam":
        return torch.optim.Adam(params, lr=lr)
    if optimizer == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    raise ValueError(f"unknown optimizer {optimizer!r}; allowed: {', '.join(OPTIMIZERS)} or a callable(params, lr)")


def _is_classification(loss_fn: nn.Module) -> bool:
    return isinstance(loss_fn, (nn.CrossEntropyLoss, nn.NLLLoss))


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss="cross_entropy",
             batch_size: int = 4096, autocast_dtype: torch.dtype | None = None) -> tuple[float, float]:
    """(mean loss, accuracy) of ``model`` on (x, y) in eval mode; accuracy is NaN for
    non-classification losses. The model's train/eval mode is restored afterwards."""
    loss_fn = make_loss(loss)
    was_training = model.training
    model.eval()
    total_loss, correct = 0.0, 0
    try:
        for i in range(0, len(x), batch_size):
            xb, yb = x[i:i + batch_size], y[i:i + batch_size]
            with _autocast(autocast_dtype):
                out = model(xb)
            out = out.float()
            total_loss += loss_fn(out, yb).item() * len(xb)
            if _is_classification(loss_fn):
                correct += (out.argmax(dim=1) == yb).sum().item()
    finally:
        model.train(was_training)
    accuracy = correct / len(x) if _is_classification(loss_fn) else math.nan
    return total_loss / len(x), accuracy


def _autocast(dtype):
    if dtype is None:
        from contextlib import nullcontext

        return nullcontext()
    return torch.autocast("cpu", dtype=dtype)


def _as_callbacks(callbacks: Iterable) -> list[Callback]:
    out = []
    for cb in callbacks or ():
        out.append(cb if isinstance(cb, Callback) else _FunctionCallback(cb))
    return out


def _as_dataset(data) -> Dataset:
    if isinstance(data, Dataset):
        return data
    if isinstance(data, (tuple, list)) and len(data) in (2, 4):
        return Dataset(*data)
    raise ValueError("data must be a Dataset or a tuple (x_train, y_train[, x_test, y_test])")


def fit(model: nn.Module, data, epochs: int, lr: float = 1e-3, batch_size: int = 128, seed: int = 0,
        threads: int | None = None, callbacks: Iterable = (), optimizer="adam", loss="cross_entropy",
        eval_batch_size: int = 4096, autocast_dtype: torch.dtype | None = None,
        progress: bool = False, desc: str | None = None) -> FitResult:
    """Train ``model`` in place; return one record per epoch (plus an epoch-0 record
    measured before training).

    Record columns: epoch, steps, train_loss (mean over the epoch's batches),
    train_accuracy (running, classification only), test_loss, test_accuracy (after the
    epoch, eval mode), epoch_wall_s and epoch_cpu_s (training steps only, this process),
    diverged, diverged_epoch (-1 if none), and whatever the
    callbacks return. A non-finite loss ends training: that epoch's record has
    diverged=True and NaN metrics; an exploded loss (see ``EXPLODE_FACTOR``) ends it too,
    with the epoch's (finite) metrics kept. No exception is raised.
    """
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    if batch_size <= 0:
        raise ValueError(f"batch_size must be > 0, got {batch_size}")
    if not (lr > 0):
        raise ValueError(f"lr must be > 0, got {lr}")
    if threads is not None:
        if threads <= 0:
            raise ValueError(f"threads must be > 0, got {threads}")
        torch.set_num_threads(threads)
    data = _as_dataset(data)
    loss_fn = make_loss(loss)
    classify = _is_classification(loss_fn)
    cbs = _as_callbacks(callbacks)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    opt = make_optimizer(optimizer, model.parameters(), lr)
    result = FitResult()
    has_test = data.x_test is not None

    def test_metrics():
        if not has_test:
            return math.nan, math.nan
        return evaluate(model, data.x_test, data.y_test, loss_fn, eval_batch_size, autocast_dtype)

    test_loss, test_acc = test_metrics()
    start = {"epoch": 0, "steps": 0, "train_loss": math.nan, "train_accuracy": math.nan,
             "test_loss": test_loss, "test_accuracy": test_acc, "epoch_wall_s": 0.0, "epoch_cpu_s": 0.0,
             "diverged": False, "diverged_epoch": -1}
    for cb in cbs:
        start.update(cb.on_train_begin(model) or {})
        start.update(cb.on_epoch_end(model, dict(start)) or {})
    result.records.append(start)

    n = len(data.x_train)
    step = 0
    first_loss = None  # the first batch's loss: the scale an exploded loss is judged against
    epochs_iter = tqdm(range(1, epochs + 1), desc=desc or "fit", unit="epoch", disable=not progress, leave=False)
    for epoch in epochs_iter:
        model.train()
        t0, c0 = time.perf_counter(), time.process_time()
        perm = torch.randperm(n, generator=gen)
        loss_sum, seen, correct = 0.0, 0, 0
        diverged = False
        for i in range(0, n, batch_size):
            idx = perm[i:i + batch_size]
            xb, yb = data.x_train[idx], data.y_train[idx]
            opt.zero_grad(set_to_none=True)
            with _autocast(autocast_dtype):
                out = model(xb)
            out = out.float()
            batch_loss = loss_fn(out, yb)
            if not torch.isfinite(batch_loss):
                diverged = True
                break
            batch_loss.backward()
            opt.step()
            step += 1
            value = batch_loss.item()
            if first_loss is None:
                first_loss = value
            loss_sum += value * len(idx)
            seen += len(idx)
            if classify:
                correct += (out.detach().argmax(dim=1) == yb).sum().item()
            for cb in cbs:
                cb.on_batch_end(model, step, value)
        wall = time.perf_counter() - t0
        cpu = time.process_time() - c0  # this process's CPU time: less sensitive to other jobs
        if diverged:
            record = {"epoch": epoch, "steps": step, "train_loss": math.nan, "train_accuracy": math.nan,
                      "test_loss": math.nan, "test_accuracy": math.nan, "epoch_wall_s": wall,
                      "epoch_cpu_s": cpu, "diverged": True, "diverged_epoch": epoch}
            result.records.append(record)
            result.diverged, result.diverged_epoch = True, epoch
            break
        test_loss, test_acc = test_metrics()
        record = {"epoch": epoch, "steps": step, "train_loss": loss_sum / max(seen, 1),
                  "train_accuracy": correct / max(seen, 1) if classify else math.nan,
                  "test_loss": test_loss, "test_accuracy": test_acc, "epoch_wall_s": wall,
                  "epoch_cpu_s": cpu, "diverged": False, "diverged_epoch": -1}
        if not math.isfinite(test_loss):
            # finite training loss but a non-finite evaluation (parameters blew up on the last step)
            record.update(diverged=True, diverged_epoch=epoch)
        elif first_loss is not None and first_loss > 0 and record["train_loss"] > EXPLODE_FACTOR * first_loss:
            record.update(diverged=True, diverged_epoch=epoch)
        for cb in cbs:
            record.update(cb.on_epoch_end(model, dict(record)) or {})
        result.records.append(record)
        if record["diverged"]:
            result.diverged, result.diverged_epoch = True, epoch
            break
    return result
