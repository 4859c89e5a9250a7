"""Train to a plateau: the adequacy rule shared by the dead-unit and trainability studies.

A net is trained with :func:`actbench.train.fit` one epoch after another (Adam's state
and the shuffling carry on, as in one long run) and evaluated on the held-out rows after
every epoch. Two facts are recorded per net and stated on the docs pages:

* **reached**: its final test accuracy (the model whose units are counted) is at least
  ``threshold`` (``TRAINED_ACCURACY`` = 90 % on MNIST; chance is 10 %);
* **plateaued**: its test accuracy stopped rising: the best accuracy of the last
  ``patience`` epochs is less than ``min_delta`` above the best of all earlier epochs
  (epoch 0, the untrained net, included).

A net is *adequate* when both hold. Training stops at the first epoch (at least
``min_epochs``) where the net has reached the threshold and plateaued (with
``stop_on_reach``: as soon as it reaches the threshold, for studies that only ask whether a
net trains, not what a trained net looks like); a net below the
threshold is given up once it has gained less than ``min_delta`` over ``give_up`` epochs
(it is inadequate either way; ``give_up=None`` never gives up); otherwise it runs
``max_epochs``. Not a study itself (it declares no ``STUDY``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from actbench.train import Callback, FitResult, fit

TRAINED_ACCURACY = 0.90


@dataclass(frozen=True)
class PlateauRule:
    threshold: float = TRAINED_ACCURACY
    patience: int = 3
    min_delta: float = 0.005
    max_epochs: int = 30
    min_epochs: int = 1
    give_up: int | None = 10
    stop_on_reach: bool = False

    def __post_init__(self):
        if not 0 < self.threshold <= 1:
            raise ValueError(f"threshold must be a test accuracy in (0, 1], got {self.threshold}")
        if self.patience < 1:
            raise ValueError(f"patience must be >= 1 epoch, got {self.patience}")
        if self.min_delta < 0:
            raise ValueError(f"min_delta must be >= 0, got {self.min_delta}")
        if not 1 <= self.min_epochs <= self.max_epochs:
            raise ValueError(f"need 1 <= min_epochs <= max_epochs, got {self.min_epochs} and {self.max_epochs}")
        if self.give_up is not None and self.give_up < self.patience:
            raise ValueError(f"give_up must be >= patience ({self.patience}) epochs or None, got {self.give_up}")

    def text(self) -> str:
        return (f"test accuracy >= {100 * self.threshold:g} % and no gain of {100 * self.min_delta:g} pp "
                f"over the last {self.patience} epochs (at most {self.max_epochs} epochs)")


def plateaued(accuracies, patience: int, min_delta: float) -> bool:
    """True if the best of the last ``patience`` values is less than ``min_delta`` above the
    best before them (``accuracies`` in epoch order, epoch 0 first; NaN values are skipped)."""
    acc = [float(a) for a in accuracies if a is not None and math.isfinite(float(a))]
    if len(acc) <= patience:
        return False
    return max(acc[-patience:]) < max(acc[:-patience]) + min_delta


class _Stop(Exception):
    pass


class _Watch(Callback):
    def __init__(self, rule: PlateauRule):
        self.rule = rule
        self.records: list[dict] = []

    def on_epoch_end(self, model, record):
        self.records.append(dict(record))
        epoch = record["epoch"]
        if epoch < self.rule.min_epochs or record.get("diverged"):
            return None
        acc = [r["test_accuracy"] for r in self.records]
        rule = self.rule
        if acc[-1] >= rule.threshold and (rule.stop_on_reach or plateaued(acc, rule.patience, rule.min_delta)):
            raise _Stop("reached" if rule.stop_on_reach else "plateau")
        if acc[-1] < rule.threshold and rule.give_up is not None and plateaued(acc, rule.give_up, rule.min_delta):
            raise _Stop("given_up")
        return None


@dataclass
class PlateauResult:
    fit: FitResult
    rule: PlateauRule
    stopped: str  # "plateau" (reached and plateaued), "reached" (stop_on_reach), "given_up" (stuck below),
    #               "max_epochs" or "diverged"

    @property
    def final(self) -> dict:
        return self.fit.final

    @property
    def epochs(self) -> int:
        return int(self.fit.final.get("epoch", 0))

    @property
    def reached(self) -> bool:
        acc = self.fit.final.get("test_accuracy", math.nan)
        return not self.fit.diverged and acc is not None and math.isfinite(acc) and acc >= self.rule.threshold

    @property
    def plateaued(self) -> bool:
        if self.fit.diverged:
            return False
        return plateaued([r["test_accuracy"] for r in self.fit.records], self.rule.patience, self.rule.min_delta)

    @property
    def adequate(self) -> bool:
        return self.reached and self.plateaued

    def columns(self) -> dict:
        """The per-net adequacy columns a study table carries."""
        best = max((r["test_accuracy"] for r in self.fit.records[1:]
                    if r["test_accuracy"] is not None and math.isfinite(r["test_accuracy"])), default=math.nan)
        return {"epochs_run": self.epochs, "stopped": self.stopped, "best_test_accuracy": best,
                "reached_threshold": self.reached, "plateaued": self.plateaued, "adequate": self.adequate,
                "adequacy_threshold": self.rule.threshold, "plateau_patience": self.rule.patience,
                "plateau_min_delta": self.rule.min_delta, "max_epochs": self.rule.max_epochs}


def fit_to_plateau(model, data, rule: PlateauRule, lr: float = 1e-3, batch_size: int = 128,
                   seed: int = 0) -> PlateauResult:
    """Train ``model`` in place until the rule stops it (see the module docstring)."""
    watch = _Watch(rule)
    try:
        result = fit(model, data, epochs=rule.max_epochs, lr=lr, batch_size=batch_size, seed=seed,
                     callbacks=[watch])
    except _Stop as stop:
        return PlateauResult(FitResult(records=watch.records), rule, str(stop))
    return PlateauResult(result, rule, "diverged" if result.diverged else "max_epochs")
