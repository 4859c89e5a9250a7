"""The training loop (actbench.train): learning, determinism, divergence as data, callbacks."""

import math

import pytest
import torch
import torch.nn as nn

from actbench import models, train

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def circles():
    return train.synthetic_split("circles", 400, 0.05, seed=0)


def strip_time(records):
    return [{k: v for k, v in r.items() if k not in ("epoch_wall_s", "epoch_cpu_s")} for r in records]


def test_fit_learns_circles(circles):
    model = models.mlp([2, 16, 16, 2], "relu", seed=0)
    result = train.fit(model, circles, epochs=30, lr=1e-2, batch_size=50, seed=0)
    assert not result.diverged
    assert result.records[0]["epoch"] == 0 and result.records[-1]["epoch"] == 30
    assert result.final["test_accuracy"] > 0.9
    assert result.final["train_loss"] < result.records[1]["train_loss"]


def test_fit_is_deterministic_given_seed(circles):
    runs = []
    for _ in range(2):
        model = models.mlp([2, 8, 2], "gelu", seed=3)
        runs.append(train.fit(model, circles, epochs=3, lr=1e-2, batch_size=32, seed=5, threads=1).records)
    assert strip_time(runs[0]) == strip_time(runs[1])
    model = models.mlp([2, 8, 2], "gelu", seed=3)
    other = train.fit(model, circles, epochs=3, lr=1e-2, batch_size=32, seed=6, threads=1).records
    assert strip_time(other) != strip_time(runs[0])


class NaNAfter(nn.Module):
    """Identity until it has been called `calls` times, then NaN: divergence at a known step."""

    def __init__(self, calls):
        super().__init__()
        self.calls, self.seen = calls, 0

    def forward(self, x):
        self.seen += 1
        return x * float("nan") if self.seen > self.calls else x


def test_divergence_is_recorded_not_raised(circles):
    # 400 rows / batch 100 = 4 steps per epoch; the first test evaluation is one call, then
    # 4 training calls and 1 evaluation per epoch: call 12 is the first step of epoch 3.
    model = nn.Sequential(nn.Linear(2, 2), NaNAfter(11))
    result = train.fit(model, circles, epochs=5, lr=1e-3, batch_size=100, seed=0)
    assert result.diverged and result.diverged_epoch == 3
    last = result.records[-1]
    assert last["diverged"] and last["diverged_epoch"] == 3 and math.isnan(last["train_loss"])
    assert [r["epoch"] for r in result.records] == [0, 1, 2, 3]
    assert not any(r["diverged"] for r in result.records[:-1])


def test_exploding_learning_rate_diverges_cleanly():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(256, 4, generator=gen)
    y = x.sum(dim=1, keepdim=True) * 100
    model = models.mlp([4, 32, 1], "relu", seed=0)
    result = train.fit(model, (x, y, x, y), epochs=20, lr=1e6, batch_size=32, seed=0, optimizer="sgd", loss="mse")
    assert result.diverged
    assert 1 <= result.diverged_epoch <= 20


def test_callbacks_add_columns_and_see_every_step(circles):
    class CountSteps(train.Callback):
        steps = 0

        def on_batch_end(self, model, step, loss):
            CountSteps.steps += 1

        def on_epoch_end(self, model, record):
            return {"seen_steps": CountSteps.steps}

    result = train.fit(models.mlp([2, 4, 2], "tanh", seed=0), circles, epochs=2, lr=1e-2, batch_size=64,
                       seed=0, callbacks=[CountSteps(), lambda model, rec: {"double_epoch": 2 * rec["epoch"]}])
    frame = result.frame()
    assert list(frame["double_epoch"]) == [0, 2, 4]
    assert list(frame["seen_steps"]) == [0, 7, 14]  # ceil(400 / 64) = 7 steps per epoch
    assert frame["steps"].iloc[-1] == 14


def test_threads_are_applied(circles):
    before = torch.get_num_threads()
    try:
        train.fit(models.mlp([2, 4, 2], "relu", seed=0), circles, epochs=1, lr=1e-2, seed=0, threads=1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_stratified_subset_keeps_class_shares_and_is_reproducible():
    y = torch.cat([torch.zeros(700, dtype=torch.long), torch.ones(200, dtype=torch.long),
                   torch.full((100,), 2, dtype=torch.long)])
    idx = train.stratified_subset(y, 100, seed=1)
    assert len(idx) == 100 and len(set(idx.tolist())) == 100
    assert torch.bincount(y[idx]).tolist() == [70, 20, 10]
    assert torch.equal(idx, train.stratified_subset(y, 100, seed=1))
    assert not torch.equal(idx, train.stratified_subset(y, 100, seed=2))
    assert len(train.stratified_subset(y, 0)) == 1000  # 0 = everything


def test_evaluate_restores_training_mode(circles):
    model = models.mlp([2, 4, 2], "relu", batchnorm=True, seed=0)
    model.train()
    loss, acc = train.evaluate(model, circles.x_test, circles.y_test)
    assert model.training and 0 <= acc <= 1 and loss > 0


@pytest.mark.parametrize("kwargs, message", [
    ({"epochs": -1}, "epochs must be >= 0"),
    ({"lr": 0.0}, "lr must be > 0"),
    ({"batch_size": 0}, "batch_size must be > 0"),
    ({"threads": 0}, "threads must be > 0"),
    ({"optimizer": "lbfgs"}, "unknown optimizer 'lbfgs'"),
    ({"loss": "hinge"}, "unknown loss 'hinge'"),
])
def test_bad_arguments_are_named(circles, kwargs, message):
    args = {"epochs": 1, "lr": 1e-3, "batch_size": 8, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=message):
        train.fit(models.mlp([2, 4, 2], "relu"), circles, **args)


def test_dataset_checks_lengths():
    with pytest.raises(ValueError, match="x_train has 3 rows but y_train has 2"):
        train.Dataset(torch.zeros(3, 2), torch.zeros(2))
    with pytest.raises(ValueError, match="data must be a Dataset"):
        train.fit(models.mlp([2, 2], None), "data", epochs=1)
