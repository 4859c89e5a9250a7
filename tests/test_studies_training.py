"""The four training studies on tiny configurations: parts and merge, tidy columns, determinism,
clear errors, and a report whose numbers resolve the claims of these studies."""

import json
from argparse import Namespace

import pandas as pd
import pytest
import torch

from actbench.cli import main
from actbench.hardware import hw_id
from actbench.results import is_provenance_column

TINY = {
    "exp1_mnist": ["--activations", "relu", "tanh", "--seeds", "0", "1", "--epochs", "1",
                   "--train-subset", "300", "--test-subset", "200"],
    "gradient_flow": ["--activations", "relu", "sigmoid", "tanh", "--seeds", "0", "1", "--depths", "5", "10", "20",
                      "--width", "8", "--train-activations", "sigmoid", "--train-depths", "2", "20",
                      "--train-seeds", "1", "--train-max-epochs", "1", "--train-subset", "200", "--test-subset", "100"],
    "dead_units": ["--activations", "relu", "leaky_relu", "--seeds", "0", "1", "--depths", "5", "10",
                   "--variation-depths", "5", "--variation-seeds", "1", "--width", "8", "--lrs", "0.001", "0.01",
                   "0.0001", "--max-epochs", "2", "--patience", "1", "--give-up", "1", "--train-subset", "200",
                   "--test-subset", "100", "--collapse-widths", "2", "8", "--collapse-depths", "10",
                   "--collapse-trials", "20", "--collapse-probes", "16"],
    "necessity": ["--seeds", "2", "--samples", "100", "--epochs", "5", "--region-trials", "2", "--grid", "21"],
}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("results")
    # exp1 as one job per activation x seed (every flag plus --part) and a merge, the way the
    # pipeline runs it
    exp1 = TINY["exp1_mnist"]
    for job in ("relu-s0", "relu-s1", "tanh-s0", "tanh-s1"):
        assert main(["exp1_mnist", "--results", str(root), *exp1, "--part", job]) == 0
    parts = sorted((root / hw_id() / "parts" / "exp1_mnist").glob("*.parquet"))
    assert [p.stem for p in parts] == ["relu-s0", "relu-s1", "tanh-s0", "tanh-s1"]
    assert main(["exp1_mnist", "--results", str(root), "--merge", *map(str, parts)]) == 0
    # by hand, every job of the study (dead_units: the training cells and the collapse Monte Carlo)
    for study in ("gradient_flow", "dead_units", "necessity"):
        assert main([study, "--results", str(root), *TINY[study]]) == 0
    return root


def table(root, study):
    return pd.read_parquet(root / hw_id() / f"{study}.parquet")


def test_exp1_rows_columns_and_dead_unit_definitions(results):
    df = table(results, "exp1_mnist")
    assert len(df) == 2 * 2 * 2  # activations x seeds x epochs (0 and 1)
    assert {"train_loss", "test_accuracy", "dead_pct_tutorial", "dead_pct_never_positive", "dead_pct_gradient",
            "dead_pct_tutorial_as_printed", "epoch_wall_s", "diverged", "seed", "lr", "hw_id"} <= set(df.columns)
    assert not df["wall_time_comparable"].any()
    assert (df["train_rows"] == 300).all() and (df["dead_rows"] == 300).all()
    # for ReLU "never positive" and "gradient-dead" coincide; the tutorial's hook skips tanh
    relu = df[df["activation"] == "relu"]
    assert (relu["dead_pct_never_positive"] == relu["dead_pct_gradient"]).all()
    assert (df.loc[df["activation"] == "tanh", "dead_pct_tutorial_as_printed"] == 0).all()
    trained = df[df["epoch"] == 1]
    assert (trained["test_accuracy"] > 0.3).all()


def test_exp1_is_deterministic(results, tmp_path):
    exp1 = TINY["exp1_mnist"]
    assert main(["exp1_mnist", "--results", str(tmp_path), *exp1[:1], "relu", *exp1[3:]]) == 0
    again = table(tmp_path, "exp1_mnist").sort_values(["seed", "epoch"]).reset_index(drop=True)
    first = table(results, "exp1_mnist").query("activation == 'relu'").sort_values(["seed", "epoch"])
    cols = [c for c in again.columns if not is_provenance_column(c) and c not in ("epoch_wall_s", "epoch_cpu_s")]
    pd.testing.assert_frame_equal(first[cols].reset_index(drop=True), again[cols])


def test_gradient_flow_parts(results):
    df = table(results, "gradient_flow")
    g = df[df["part"] == "gradient"]
    assert set(g["init_choice"]) == {"tutorial", "matched"}
    assert g.groupby(["activation", "init_choice", "depth", "seed"]).size().to_dict() == {
        k: k[2] for k in g.groupby(["activation", "init_choice", "depth", "seed"]).groups}  # one row per layer
    # GELU/sigmoid etc. get Xavier from the tutorial; ReLU gets He both ways
    assert set(g.loc[g["activation"] == "relu", "init"]) == {"he"}
    t = df[df["part"] == "trainability"]
    assert set(t["depth"]) == {2, 20} and set(t["activation"]) == {"sigmoid"}
    assert {"weight_rel_change", "frozen", "test_accuracy"} <= set(t.columns)


def test_dead_units_stages_and_collapse(results):
    df = table(results, "dead_units")
    tr = df[df["part"] == "training"]
    assert set(tr["stage"]) == {"init", "trained"}
    assert set(tr["activation"]) == {"relu", "leaky_relu"}
    assert (tr.loc[tr["activation"] == "leaky_relu", "dead_gradient"] == 0).all()  # f' >= 0.01 > threshold
    c = df[df["part"] == "collapse"]
    p = c.set_index("width")["dead_probability"]
    assert p[2] >= p[8]  # narrower nets die more often


def test_necessity_collapse_is_exact_and_relu_beats_linear(results):
    df = table(results, "necessity")
    col = df[df["part"] == "collapse"]
    assert (col.loc[col["dtype"] == "float64", "max_abs_diff"] < 1e-12).all()
    r1 = df[df["part"] == "regions_1d"]
    assert (r1["linear_regions"] <= r1["bound"]).all()
    assert {"boundary", "points", "classify", "regions_2d"} <= set(df["part"])


def test_report_resolves_the_claims(results, tmp_path):
    from actbench import report

    out = tmp_path / "gen"
    report.run(Namespace(results=str(results), out=str(out), hw=None))
    claims = {r["id"]: r for r in json.loads((out / "claims.json").read_text())["claims"]}
    for cid in ("exp1-relu-accuracy", "exp1-tanh-loss", "exp1-relu-dead", "exp1-relu-beats-tanh",
                "exp2-relu-ratio", "exp2-sigmoid-ratio", "grad-tanh-depth10-realistic", "sigmoid-depth20-frozen-layers",
                "dead-depth-5", "dead-leaky-fixes", "dead-lower-lr-helps", "dead-batchnorm-reduces",
                "necessity-linear-collapse", "necessity-circles-linear", "necessity-regions-grow-with-depth"):
        assert claims[cid]["verdict"] != "pending", cid
    assert claims["necessity-linear-collapse"]["verdict"] == "confirmed"
    for name in ("exp1_summary", "exp2_summary", "dead_units_grid", "necessity_classify"):
        assert (out / "tables" / f"{name}.md").stat().st_size > 100
    for name in ("exp1_loss", "exp2_gradient_flow", "dead_at_init", "necessity_boundaries"):
        assert (out / "figures" / f"{name}.svg").stat().st_size > 5000
    numbers = json.loads((out / "numbers.json").read_text())["numbers"]
    assert numbers[f"exp1_mnist.{hw_id()}.relu.final_test_accuracy_pct"]["value"] > 30


def test_split_studies_job_names_and_narrowing():
    """The jobs the pipeline runs (the names the hand-written rules used) and the settings
    each job narrows the command line to."""
    from actbench.studies.dead_units import STUDY as dead
    from actbench.studies.exp1_mnist import STUDY as exp1
    from actbench.studies.gradient_flow import STUDY as flow

    cfg = dead.defaults(quick=True)  # relu, leaky_relu, prelu; 2 seeds; 1 variation seed
    assert dead.job_names(cfg) == ["relu-s0", "relu-s1", "leaky_relu-s0", "prelu-s0", "collapse"]
    parser = __import__("argparse").ArgumentParser()
    dead.add_arguments(parser)
    args = parser.parse_args(dead.cli_words(cfg) + ["--part", "leaky_relu-s0"])
    job = dead.for_job(args)
    assert (job.activations, job.seeds, job.reference_activation) == (["leaky_relu"], [0], "relu")
    assert job.run_training and not job.run_collapse
    assert not dead.for_job(parser.parse_args(["--part", "collapse"])).run_training
    assert exp1.job_names({"activations": ["relu", "tanh"], "seeds": 2}) == ["relu-s0", "relu-s1", "tanh-s0",
                                                                              "tanh-s1"]
    assert flow.job_names({"activations": ["relu", "tanh"]}) == ["relu", "tanh"]


@pytest.mark.parametrize("argv, message", [
    (["exp1_mnist", "--activations", "relux"], "unknown activation 'relux'"),
    (["exp1_mnist", "--lr", "-1", "--activations", "relu", "--seeds", "0"],
     "argument --lr: -1.0 is not allowed; expected a number > 0"),
    (["dead_units", "--batchnorm", "maybe"], "'maybe' is not a boolean"),
    (["dead_units", "--lrs", "0", "--activations", "relu", "--seeds", "0"],
     "argument --lrs: 0.0 is not allowed; expected a number > 0"),
    (["necessity", "--noise", "-1"], "argument --noise: -1.0 is not allowed; expected a number ≥ 0"),
    (["exp1_mnist", "--part", "../x", "--activations", "relu", "--seeds", "0", "--epochs", "1",
      "--train-subset", "50", "--test-subset", "50"], "part name '../x' is not allowed"),
    (["exp1_mnist", "--part", "relu", "--activations", "relu", "--seeds", "0"],
     "--part 'relu' is not one of this study's jobs for these settings; allowed: <activation>-s<seed>"),
    (["gradient_flow", "--part", "gelu", "--activations", "relu", "tanh"],
     "--part 'gelu' is not one of this study's jobs for these settings; allowed: <activation>, one of the "
     "given --activations: relu, tanh"),
    (["dead_units", "--part", "prelu-s7", "--seeds", "0", "1", "2", "3", "4", "5", "6", "7"],
     "--part 'prelu-s7' is not one of this study's jobs"),
])
def test_bad_input_is_refused_and_nothing_is_written(argv, message, tmp_path, capsys):
    try:
        code = main([argv[0], "--results", str(tmp_path), *argv[1:]])
    except SystemExit as exc:  # argparse errors
        code = exc.code
    assert code == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.rglob("*.parquet"))
