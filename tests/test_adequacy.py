"""Training to a plateau and the adequacy flags of the dead-unit and trainability studies:
the rule itself, flags that can fail (and then make a claim not testable), both definitions
of a dead unit, the one-factor-at-a-time design and the trainability summaries."""

import json
from argparse import Namespace

import pandas as pd
import pytest

from actbench.cli import main
from actbench.hardware import hw_id
from actbench.models import mlp
from actbench.report import dead_units as rdu
from actbench.report.training import _leading, frozen_flag, max_trainable_depths, trainability_flags
from actbench.studies import dead_units as sdu
from actbench.studies.plateau import PlateauRule, fit_to_plateau, plateaued
from actbench.train import synthetic_split

pytestmark = pytest.mark.usefixtures("one_thread")


# ── the plateau rule ────────────────────────────────────────────────────────
@pytest.mark.parametrize("acc, expected", [
    ([0.1, 0.5, 0.8, 0.9, 0.95], False),          # still rising
    ([0.1, 0.9, 0.92, 0.921, 0.919, 0.922], True),  # best of the last 3 < 0.92 + 0.005
    ([0.1, 0.11, 0.10, 0.11, 0.10], True),         # stuck at chance is a plateau too
    ([0.1, 0.9, 0.9], False),                      # too few epochs to tell
    ([0.1, float("nan"), 0.9, 0.9, 0.9, 0.9], True),
])
def test_plateaued(acc, expected):
    assert plateaued(acc, patience=3, min_delta=0.005) is expected


@pytest.mark.parametrize("kwargs, message", [
    ({"threshold": 1.5}, "threshold must be a test accuracy"),
    ({"patience": 0}, "patience must be >= 1"),
    ({"min_delta": -0.1}, "min_delta must be >= 0"),
    ({"max_epochs": 2, "min_epochs": 3}, "min_epochs <= max_epochs"),
    ({"patience": 3, "give_up": 2}, "give_up must be >= patience"),
])
def test_plateau_rule_refuses_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PlateauRule(**kwargs)


def _circles():
    return synthetic_split("circles", n=400, noise=0.05, seed=0)


def test_fit_to_plateau_stops_and_flags():
    data = _circles()
    # an easy threshold: reached early, then stops at its plateau, adequate
    easy = fit_to_plateau(mlp([2, 16, 2], "relu", seed=0), data, PlateauRule(threshold=0.6, max_epochs=60), lr=1e-2)
    assert easy.reached and easy.stopped in ("plateau", "max_epochs")
    if easy.stopped == "plateau":
        assert easy.plateaued and easy.adequate and easy.epochs < 60
    # an impossible threshold: the flag fails, and the net is given up or runs the budget
    hard = fit_to_plateau(mlp([2, 16, 2], "relu", seed=0), data,
                          PlateauRule(threshold=1.0, max_epochs=30, give_up=5), lr=1e-2)
    assert not hard.reached and not hard.adequate and hard.stopped in ("given_up", "max_epochs")
    cols = hard.columns()
    assert cols["adequate"] is False and cols["adequacy_threshold"] == 1.0 and cols["epochs_run"] == hard.epochs
    # never give up: a net below the threshold runs the whole budget
    full = fit_to_plateau(mlp([2, 4, 2], "relu", seed=0), data, PlateauRule(threshold=1.0, max_epochs=4, give_up=None))
    assert full.stopped == "max_epochs" and full.epochs == 4
    # stop on reach: the first epoch at the threshold ends training
    quick = fit_to_plateau(mlp([2, 16, 2], "relu", seed=0), data,
                           PlateauRule(threshold=0.55, max_epochs=60, stop_on_reach=True), lr=1e-2)
    assert quick.stopped == "reached" and quick.reached
    assert [r["test_accuracy"] >= 0.55 for r in quick.fit.records[1:]].index(True) == quick.epochs - 1


# ── the one-factor-at-a-time design ──────────────────────────────────────────
def _args(**kw):
    p = __import__("argparse").ArgumentParser()
    sdu.STUDY.add_arguments(p)
    argv = []
    for k, v in kw.items():
        argv += [f"--{k.replace('_', '-')}", *map(str, v if isinstance(v, list) else [v])]
    return p.parse_args(argv)


def test_cells_star_design():
    args = _args(activations=["relu", "leaky_relu"], seeds=[0, 1], variation_seeds=1, depths=[5, 50],
                 variation_depths=[5, 20], lrs=[3e-4, 1e-2, 1e-4])
    cells = pd.DataFrame(sdu.cells(args))
    ref = cells[cells["factor"] == "reference"]
    # the reference at every depth and seed, plus the variation depths for the varied seed
    assert sorted(ref.loc[ref["seed"] == 0, "depth"]) == [5, 20, 50]
    assert sorted(ref.loc[ref["seed"] == 1, "depth"]) == [5, 50]
    assert set(ref["init"]) == {"he"} and set(ref["lr"]) == {3e-4} and not ref["batchnorm"].any()
    var = cells[cells["factor"] != "reference"]
    assert set(var["seed"]) == {0} and set(var["depth"]) == {5, 20}
    # each variation changes exactly one factor
    assert var.groupby("factor").size().to_dict() == {"activation": 2, "init": 2, "batchnorm": 2, "lr": 4}
    assert set(var.loc[var["factor"] == "lr", "lr"]) == {1e-2, 1e-4}
    assert set(var.loc[var["factor"] == "activation", "activation"]) == {"leaky_relu"}
    # a job for a non-reference activation and a seed beyond the variations has nothing to train
    assert sdu.cells(_args(activations=["prelu"], seeds=[7], variation_seeds=4, reference_activation="relu")) == []
    # without --reference-activation the first activation is the reference
    assert {c["factor"] for c in sdu.cells(_args(activations=["prelu"], seeds=[7], variation_seeds=4))} == {"reference"}


# ── adequacy flags that can fail ─────────────────────────────────────────────
def test_cell_and_pooled_flags():
    four = pd.DataFrame({"adequate": [True, True, True, True, False], "test_accuracy": [0.93] * 4 + [0.4],
                         "depth": [5] * 5})
    ok, why = rdu.cell_flag(four, "rule")
    assert ok and "4 of 5 nets are adequate" in why and "at least 80 %" in why
    three = four.assign(adequate=[True, True, True, False, False])
    ok, why = rdu.cell_flag(three, "rule")
    assert not ok and "3 of 5" in why and "40.0" in why
    ok, why = rdu.pooled_flag(three, "rule")
    assert ok and "depth 5: 2" in why
    assert not rdu.pooled_flag(three.assign(adequate=False), "rule")[0]


TINY = ["--activations", "relu", "leaky_relu", "--seeds", "0", "1", "2", "--depths", "3",
        "--variation-depths", "3", "--variation-seeds", "3", "--width", "16", "--lrs", "0.003", "0.01",
        "0.001", "--max-epochs", "4", "--patience", "1", "--give-up", "2", "--batch-size", "32", "--train-subset", "600",
        "--test-subset", "200", "--collapse-widths", "2", "--collapse-depths", "10", "--collapse-trials", "5",
        "--collapse-probes", "8"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Two tiny runs: one whose nets are adequate (threshold 30 %, any gain under 50 pp is a
    plateau), one whose nets cannot be (threshold 100 %)."""
    from actbench import report

    out = {}
    lenient = ["--accuracy-threshold", "0.3", "--min-delta", "0.5", "--give-up", "6", "--max-epochs", "8"]
    for name, extra in (("lenient", lenient), ("strict", ["--accuracy-threshold", "1.0"])):
        root = tmp_path_factory.mktemp(name)
        assert main(["dead_units", "--results", str(root), *TINY, *extra]) == 0
        gen = root / "gen"
        report.run(Namespace(results=str(root), out=str(gen), hw=None))
        out[name] = (json.loads((gen / "numbers.json").read_text())["numbers"], root)
    return out


def test_flags_recorded_and_fail_when_nothing_is_adequate(generated):
    key = f"dead_units.{hw_id()}"
    strict, _ = generated["strict"]
    for flag in ("relu.depth:3", "relu_bn", "relu.after_training", "relu-leaky_relu", "xavier-he",
                 "lr_high-lr_low", "bn_off-bn_on"):
        assert strict[f"{key}.adequate.{flag}"]["value"] is False, flag
        assert "criterion" in strict[f"{key}.adequate.{flag}.why"]["value"]
    assert "0 of 3 nets are adequate" in strict[f"{key}.adequate.relu.depth:3.why"]["value"]
    lenient, root = generated["lenient"]
    df = pd.read_parquet(root / hw_id() / "dead_units.parquet")
    assert {"adequate", "plateaued", "reached_threshold", "epochs_run", "stopped", "factor"} <= set(df.columns)
    nets = rdu.per_net(df)
    trained = nets[nets["stage"] == "trained"]
    # the flag follows the nets: true exactly when enough of them are adequate
    cell = rdu.select(trained, {**rdu.reference(df), "depth": 3})
    assert lenient[f"{key}.adequate.relu.depth:3"]["value"] is rdu.cell_flag(cell, "")[0] is True
    assert "3 of 3 nets are adequate" in lenient[f"{key}.adequate.relu.depth:3.why"]["value"]


def test_not_adequate_means_not_testable(generated):
    from actbench.report.ledger import decide
    from actbench.report.numbers import NumberBook

    strict, _ = generated["strict"]
    book = NumberBook()
    book.use_machine(hw_id())
    for k, v in strict.items():  # the recorded flags and measurements, re-read from numbers.json
        if k.startswith("dead_units."):
            book._numbers[k] = v
    claim = {"id": "t", "section": "3.2", "claim": "c", "claimed": [5.0, 15.0], "study": "dead_units",
             "metric": "relu.depth:3.dead_unit_pct", "rule": {"kind": "in_range"}, "requires": ["adequate.relu.depth:3"]}
    row = decide(claim, hw_id(), book)
    assert row["verdict"] == "not testable" and row["why"].startswith("not testable at this scale: 0 of 3 nets")


def test_both_definitions_recorded(generated):
    key = f"dead_units.{hw_id()}"
    numbers, root = generated["lenient"]
    for definition in ("dead_unit_pct", "dead_unit_pct_never_positive"):
        m = numbers[f"{key}.{definition}:relu-leaky_relu"]
        assert "measurement" in m and m["measurement"]["paired"]
    # ReLU-only remedies: one number (the definitions coincide); LeakyReLU is never gradient-dead
    assert f"{key}.relu.dead_unit_pct_never_positive:xavier-he" not in numbers
    df = pd.read_parquet(root / hw_id() / "dead_units.parquet")
    relu = df[(df["activation"] == "relu") & (df["part"] == "training")]
    assert (relu["dead_gradient"] == relu["dead_never_positive"]).all()
    assert (df.loc[df["activation"] == "leaky_relu", "dead_gradient"] == 0).all()
    family = numbers[f"{key}.dead_unit_pct_never_positive:relu-leaky_relu"]["measurement"]
    if family["family"] is not None:
        assert family["family"] == "the remedies of §2.6 (never positive)" and family["family_size"] <= 4


# ── trainability summaries ───────────────────────────────────────────────────
def test_max_trainable_depth_two_definitions_and_frozen_flags():
    nets = pd.DataFrame({
        "seed": [0, 0, 0, 0, 1, 1, 1, 1],
        "depth": [2, 5, 10, 15] * 2,
        "reached_threshold": [True, True, False, False, True, False, False, False],
        "plateaued": [True, True, False, True, True, True, False, True],
        "test_accuracy": [0.93, 0.91, 0.6, 0.11, 0.92, 0.85, 0.5, 0.11],
        "diverged": [False] * 8,
    })
    nets["stalled"] = ~nets["reached_threshold"] & nets["plateaued"]
    nets["not_stalled"] = ~nets["stalled"]
    assert max_trainable_depths(nets, "reached_threshold") == [5.0, 2.0]
    assert max_trainable_depths(nets, "not_stalled") == [10.0, 2.0]  # seed 0's 10-layer net was still improving
    ok, why = trainability_flags(nets)
    assert ok and "2 of 2 seeds' 2-layer nets" in why
    assert not trainability_flags(nets.assign(reached_threshold=[False] + [True] * 7))[0]
    ok, why = frozen_flag(nets[nets["depth"] == 10])
    assert not ok and "0 of 2 nets" in why  # still improving: its layers could still move
    assert frozen_flag(nets[nets["depth"] == 15])[0]
    assert _leading([True, True, False, True]) == 2 and _leading([False, True]) == 0
