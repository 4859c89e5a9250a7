"""The ablation studies (issue 6): each runs its quick configuration in-process, exactly as
the pipeline splits it into jobs, and the results say what the maths says they must.

Expected values are derived independently here (float formats' bit patterns, Python's
math module, numpy), never copied from a previous run.
"""

import hashlib
import importlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn as nn
import yaml

from actbench import ablation, text_corpus, tiny_lm, toy_gan
from actbench.cli import main
from actbench.hardware import hw_id
from actbench.results import read_parquet

ROOT = Path(__file__).resolve().parents[1]
QUICK = yaml.safe_load((ROOT / "workflow/config.quick.yaml").read_text())["ablations"]
STUDIES = list(QUICK)


def flags(study: str) -> list[str]:
    """The quick config's entries as command-line flags, the way ablations.smk builds them."""
    cfg = QUICK[study]
    out = ["--seeds"] + [str(s) for s in range(cfg["seeds"])]
    for key, value in cfg.items():
        if key == "seeds":
            continue
        if isinstance(value, list):
            if value:
                out += ["--" + key.replace("_", "-")] + [str(v) for v in value]
        else:
            out += ["--" + key.replace("_", "-"), str(value)]
    return out


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """Every job of every ablation study (quick config), merged; then the report."""
    results = tmp_path_factory.mktemp("ablations") / "results"
    for study in STUDIES:
        parts = importlib.import_module(f"actbench.studies.{study}").PARTS
        files = []
        for job in ablation.job_names(parts, QUICK[study]["seeds"]):
            assert main([study, "--results", str(results), "--part", job] + flags(study)) == 0
            files.append(str(results / hw_id() / "parts" / study / f"{job}.parquet"))
        assert main([study, "--results", str(results), "--merge", *files]) == 0
    out = results.parent / "generated"
    assert main(["report", "--results", str(results), "--out", str(out)]) == 0
    return results, out


def table(results, study) -> pd.DataFrame:
    return read_parquet(results / hw_id() / f"{study}.parquet")


@pytest.mark.parametrize("study", STUDIES)
def test_every_study_writes_unique_rows_with_provenance(quick, study):
    df = table(quick[0], study)
    module = importlib.import_module(f"actbench.studies.{study}")
    assert len(df) > 0 and {"study", "hw_id", "torch_version", "part", "seed"} <= set(df.columns)
    assert set(df["part"]) == set(module.PARTS)
    key = [k for k in module.KEY if k in df.columns]
    assert not df[key].astype(str).duplicated().any(), f"{study}: KEY {module.KEY} does not identify rows"
    if "wall_time_comparable" in df.columns:  # only exclusive timing parts may claim comparable times
        comparable = df[df["wall_time_comparable"] == True]  # noqa: E712
        assert set(comparable["part"]) <= {"timing"}


def test_my_claims_are_resolved_by_the_report(quick):
    claims = json.loads((quick[1] / "claims.json").read_text())["claims"]
    mine = [c for c in claims if c["study"] in STUDIES]
    assert len(mine) >= 60
    pending = [c["id"] for c in mine if c["verdict"] == "pending"]
    assert not pending, f"claims without a measured value: {pending}"
    for name in ("init_pairing_depth", "leaky_slope", "gelu_approx", "selu_norm", "prelu_slopes", "sparsity",
                 "precision_overflow_float16", "mistakes_mistake1", "architectures_cnn"):
        assert (quick[1] / "figures" / f"{name}.svg").stat().st_size > 5_000


def test_init_pairing_variances_and_depth(quick):
    df = table(quick[0], "init_pairing")
    w = df.groupby("quantity")["value"].mean()
    assert w["xavier_uniform.weight_var:100x256"] == pytest.approx(2 / (100 + 256), rel=0.05)
    assert w["torch.nn.Linear.default_weight_var:100x256"] == pytest.approx(1 / (3 * 100), rel=0.05)
    # Var(relu(z)) for z ~ N(0, s2): second moment s2/2 (the §7.1 arithmetic forgets n_in)
    pre = w["relu_he_100x100.pre_activation_var"]
    assert w["relu_he_100x100.activation_second_moment"] == pytest.approx(pre / 2, rel=0.15)
    f = df[(df["quantity"] == "forward") & (df["activation"] == "relu")]
    last = f[f["layer"] == f["layer"].max()].groupby("init")["second_moment"].mean()
    assert last["he"] > 100 * last["xavier"]  # Xavier halves the signal per ReLU layer, He keeps it


def test_selu_fixed_point_and_dropout(quick):
    df = table(quick[0], "selu_norm")
    fp = df.set_index("quantity")
    assert abs(fp.loc["map_mean_at_1", "mean"]) < 1e-6
    assert fp.loc["map_var_at_1", "var"] == pytest.approx(1.0, abs=1e-5)
    f = df[(df["quantity"] == "forward") & (df["init"] == "lecun") & (df["layer"] == df["layer"].max())]
    var = f.groupby("dropout")["var"].mean()
    assert 0.5 < var["none"] < 2
    assert var["dropout"] > var["alpha_dropout"]


def test_gelu_grid_matches_an_independent_computation(quick):
    df = table(quick[0], "gelu_approx")
    x = np.linspace(-10, 10, 20001)
    exact = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x])
    approx = np.array([0.5 * v * (1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3))) for v in x])
    g = df[(df["dtype"] == "float64") & (df["quantity"] == "max_abs_diff")]
    assert g["value"].item() == pytest.approx(np.abs(exact - approx).max(), rel=1e-6)
    default = df[df["quantity"] == "torch.nn.GELU.default.max_abs_diff_vs_exact"]["value"].item()
    assert default == 0.0  # nn.GELU() is the exact form


def test_every_finite_16_bit_value():
    from actbench.studies.gelu_approx import every_finite

    # 65536 bit patterns minus the all-ones exponent (inf and NaN): 2 * 2^mantissa_bits
    assert every_finite(torch.float16).numel() == 2**16 - 2 * 2**10
    assert every_finite(torch.bfloat16).numel() == 2**16 - 2 * 2**7
    assert torch.isfinite(every_finite(torch.float16)).all()


def test_precision_overflow_classification(quick):
    o = table(quick[0], "precision").query("quantity == 'overflow'").set_index(["dtype", "activation", "provider"])
    assert o.loc[("float16", "relu", "module"), "fwd_nonfinite"] == 0
    # SELU(x) = 1.0507 x exceeds 65504 for the largest float16 inputs: unavoidable, not a bug
    selu = o.loc[("float16", "selu", "module")]
    assert selu["fwd_nonfinite"] > 0 and selu["fwd_implementation"] == 0
    # the hand-typed tanh, (e^x - e^-x) / (e^x + e^-x), gives inf/inf = NaN although tanh fits
    assert o.loc[("float16", "tanh", "manual"), "fwd_implementation"] > 0


def test_mistakes_softmax_and_dead_units(quick):
    df = table(quick[0], "mistakes")
    s = df[df["part"] == "softmax"]
    naive = s[(s["variant"] == "naive") & (s["quantity"] == "nan_count")]["value"].item()
    assert naive == 3
    stable = s[(s["variant"] == "stable") & (s["quantity"] == "prob")].sort_values("index")["value"].to_numpy()
    e = np.exp(np.array([0.0, 1.0, 2.0]))
    np.testing.assert_allclose(stable, e / e.sum(), rtol=1e-6)
    d2 = df[(df["part"] == "mistake2") & (df["input"] == "gaussian") & (df["stage"] == "init")]
    assert (d2["value"] == 0).all()  # zero-mean input: no ReLU unit is silent on a whole batch


def test_pruning_removes_only_silent_units():
    from actbench.studies.sparsity import prune_never_positive

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 3))
    with torch.no_grad():
        model[0].bias[:3] = -100.0  # three units that never fire
    x = torch.randn(200, 5)
    pruned, removed = prune_never_positive(model, x)
    assert removed >= 3 and pruned[0].out_features <= 5
    torch.testing.assert_close(pruned(x), model(x))
    assert sum(p.numel() for p in pruned.parameters()) < sum(p.numel() for p in model.parameters())


def test_swiglu_matches_parameter_count_and_attention_is_causal():
    for d, h in ((64, 256), (16, 32), (48, 100)):
        hg = tiny_lm.ffn_hidden("swiglu", d, h)
        assert abs(3 * d * hg - 2 * d * h) <= 1.5 * d
    torch.manual_seed(0)
    counts = {k: sum(p.numel() for p in tiny_lm.TinyLM(k, d_model=32, heads=2, hidden=64).parameters())
              for k in ("relu", "gelu", "swiglu")}
    assert counts["relu"] == counts["gelu"]
    assert abs(counts["swiglu"] - counts["relu"]) / counts["relu"] < 0.01
    model = tiny_lm.TinyLM("gelu", d_model=16, heads=2, hidden=32, context=12).eval()
    a = torch.randint(0, 256, (1, 12))
    b = a.clone()
    b[0, 8:] = (b[0, 8:] + 1) % 256  # change only the future
    torch.testing.assert_close(model(a)[0, :8], model(b)[0, :8])


def test_lm_divergence_is_recorded_not_raised():
    corpus = text_corpus.load_corpus(modules=("bisect", "heapq"))
    model = tiny_lm.TinyLM("relu", d_model=16, heads=2, layers=1, hidden=32, context=16)
    records = tiny_lm.train_lm(model, corpus, steps=5, batch=4, lr=float("inf"), seed=0, warmup=1,
                               eval_every=1, eval_windows=8)
    assert records[-1]["diverged"] is True


def test_corpus_is_the_named_stdlib_files():
    corpus = text_corpus.load_corpus(modules=("bisect", "heapq"), val_fraction=0.25)
    for f, path in zip(corpus.files, text_corpus.corpus_files(("bisect", "heapq"))):
        raw = path.read_bytes()
        assert f["sha256"] == hashlib.sha256(raw).hexdigest()
        assert f["train_bytes"] + f["val_bytes"] == len(raw)
    assert bytes(corpus.val[-10:].tolist()) == text_corpus.corpus_files(("heapq",))[0].read_bytes()[-10:]
    x, y = text_corpus.random_windows(corpus.train, 8, 4, torch.Generator().manual_seed(0))
    assert torch.equal(x[:, 1:], y[:, :-1])
    with pytest.raises(FileNotFoundError, match="no_such_module"):
        text_corpus.load_corpus(modules=("no_such_module",))


def test_gan_quality_measures():
    gen = torch.Generator().manual_seed(0)
    a, b = toy_gan.sample_real(1000, gen), toy_gan.sample_real(1000, gen)
    assert toy_gan.energy_distance(a, b) < 0.05 < toy_gan.energy_distance(a, b + 1.0)
    covered, quality = toy_gan.mode_stats(a)
    assert covered == 8 and quality > 0.95


def test_job_names_and_bad_input():
    parts = importlib.import_module("actbench.studies.mistakes").PARTS
    jobs = ablation.job_names(parts, 2)
    assert "timing" in jobs and "mistake1-seed1" in jobs and "softmax" in jobs
    assert ablation.parse_job("mistake1-seed1", parts) == ("mistake1", 1)
    with pytest.raises(ValueError, match="allowed: softmax, mistake1-seed<N>"):
        ablation.parse_job("mistake4-seed0", parts)
    with pytest.raises(ValueError, match="is unseeded"):
        ablation.parse_job("softmax-seed0", parts)


def test_cli_refuses_bad_values(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["leaky_slope", "--results", str(tmp_path), "--slopes", "1.5"])
    assert "slope 1.5 is not allowed" in capsys.readouterr().err
    assert main(["selu_norm", "--results", str(tmp_path), "--part", "nonsense"]) == 2
    assert "unknown job 'nonsense'" in capsys.readouterr().err
    assert not (tmp_path / hw_id()).exists()


def test_pipeline_plans_ablation_jobs_and_runs_timing_alone(tmp_path):
    import subprocess
    import sys

    bin_dir = Path(sys.executable).parent
    proc = subprocess.run([str(bin_dir / "snakemake"), "-s", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
                           "-n", "--cores", "8", "--configfile", str(ROOT / "workflow/config.quick.yaml")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    for rule in ("gelu_approx_timing", "mistakes_timing"):  # the two timing parts, each alone
        assert out.count(f"rule {rule}:") == 1, rule
        assert "slots=8" in out.split(f"rule {rule}:")[1].split("\n\n")[0], rule
    for study in STUDIES:
        assert f"results/{hw_id()}/{study}.parquet" in out


def test_docs_page_only_uses_numbers_the_quick_run_produces(quick):
    """docs/ablations.md reads n(study, metric) = num("<study>.<shown hw>.<metric>") (nci: the
    same with its interval), tables and figures; all must exist after the quick configuration."""
    import re

    page = (ROOT / "docs" / "ablations.md").read_text()
    numbers = json.loads((quick[1] / "numbers.json").read_text())["numbers"]
    missing = []
    for study, metric in re.findall(r'\bn(?:ci)?\("([a-z_0-9]+)", "([^"]+)"\)', page):
        hw = numbers[f"{study}.shown_hw"]["value"]
        if f"{study}.{hw}.{metric}" not in numbers:
            missing.append(f"{study}.{metric}")
    for name in re.findall(r'table\("([a-z_0-9]+)"\)', page):
        if not (quick[1] / "tables" / f"{name}.md").exists():
            missing.append(f"table {name}")
    for name in re.findall(r'figure\("([a-z_0-9-]+)"', page):
        if not (quick[1] / "figures" / f"{name}.svg").exists():
            missing.append(f"figure {name}")
    claims = {c["id"] for c in json.loads((quick[1] / "claims.json").read_text())["claims"]}
    missing += [f"claim {c}" for c in re.findall(r'claim\("([^"]+)"\)', page) if c not in claims]
    assert not missing, missing


def test_a_job_is_deterministic_given_its_seed(tmp_path):
    args = ["architectures", "--part", "gan-seed1", "--gan-steps", "20", "--gan-hidden", "8", "--gan-repeats", "1"]
    frames = []
    for run in ("a", "b"):
        assert main([args[0], "--results", str(tmp_path / run), *args[1:]]) == 0
        frames.append(read_parquet(tmp_path / run / hw_id() / "parts" / "architectures" / "gan-seed1.parquet"))
    cols = ["activation", "energy_distance", "modes_covered", "quality_fraction", "final_loss_d"]
    pd.testing.assert_frame_equal(frames[0][cols], frames[1][cols])


# ───────────────────────── adequacy, definitions and families (issue 12) ─────────────────────────
def _numbers(quick) -> dict:
    return json.loads((quick[1] / "numbers.json").read_text())["numbers"]


def _book(quick):
    from actbench.report.numbers import NumberBook

    book = NumberBook()
    book._numbers = _numbers(quick)
    book.machines = [hw_id()]
    return book


def test_adequacy_flags_fail_on_an_untrained_quick_run(quick):
    """The quick run trains a few hundred rows for two epochs: the slopes barely move and
    the nets stay far from 90 %, so the flags must say so, with the measured value."""
    nums, hw = _numbers(quick), hw_id()
    for flag in ("prelu.adequate:early", "prelu.adequate:linear", "swish_beta.adequate"):
        entry = nums[f"prelu_slopes.{hw}.{flag}"]
        assert entry["value"] is False and entry.get("exact")
        why = nums[f"prelu_slopes.{hw}.{flag}.why"]["value"]
        assert "test accuracy ≥ 90 %" in why and "lowest" in why
    for key in ("leaky_slope.{hw}.deep.adequate", "mistakes.{hw}.mistake5.adequate"):
        assert isinstance(nums[key.format(hw=hw)]["value"], bool)


def test_an_inadequate_setup_makes_the_claim_not_testable(quick):
    from actbench.report.ledger import decide

    claim = {"id": "t-beta", "section": "3.3", "claim": "β ends near 1", "claimed": 50.0, "study": "prelu_slopes",
             "metric": "swish_beta.share_near_1_pct", "rule": {"kind": "at_least"},
             "requires": ["swish_beta.adequate"]}
    row = decide(claim, hw_id(), _book(quick))
    assert row["verdict"] == "not testable"
    assert row["why"].startswith("not testable at this scale:") and "test accuracy" in row["why"]


def _prelu_frame(moves: dict[str, list[float]], accuracy: float = 0.95, start: float = 0.25) -> pd.DataFrame:
    """A synthetic prelu_slopes table: per layer the median α per epoch, for two seeds."""
    rows = []
    positions = list(moves)
    for seed in (0, 1):
        for layer, pos in enumerate(positions):
            path = [start] + moves[pos]
            for epoch, v in enumerate(path):
                rows.append({"quantity": "trajectory", "net": "cnn", "activation": "prelu", "init": start,
                             "seed": seed, "layer": layer, "layer_position": pos, "epoch": epoch, "value": v,
                             "test_accuracy": accuracy, "diverged": False})
            rows.append({"quantity": "final", "net": "cnn", "activation": "prelu", "init": start, "seed": seed,
                         "layer": layer, "layer_position": pos, "epoch": len(path) - 1, "unit": 0,
                         "value": path[-1], "test_accuracy": accuracy, "diverged": False})
    return pd.DataFrame(rows)


def test_prelu_adequacy_checks_move_settle_and_accuracy():
    from actbench.report.prelu_slopes import beta_checks, needed_move, prelu_checks

    assert needed_move(0.25, (0.01, 0.05)) == pytest.approx(0.1)  # half of 0.25 -> 0.05
    assert needed_move(0.25, (0.1, 0.3)) == pytest.approx(0.05)  # start inside the range: the floor
    assert needed_move(0.5, 1.0) == pytest.approx(0.25) and needed_move(2.0, 1.0) == pytest.approx(0.5)
    good = _prelu_frame({"early": [0.2, 0.1, 0.06], "middle": [0.3, 0.5, 0.52], "late": [0.2, 0.15, 0.14]})
    assert all(ok for ok, _ in prelu_checks(good, "cnn", "early").values())
    assert all(ok for ok, _ in prelu_checks(good, "cnn", "middle").values())
    # "late" moved 0.11 >= 0.05 and settled (0.01 of 0.11)
    assert prelu_checks(good, "cnn", "late")["settled"][0]
    stuck = _prelu_frame({"early": [0.25, 0.24, 0.23], "middle": [0.25, 0.25, 0.26], "late": [0.25, 0.2, 0.1]})
    early = prelu_checks(stuck, "cnn", "early")
    assert not early["moved"][0] and "smallest move 0.02" in early["moved"][1]
    assert not prelu_checks(stuck, "cnn", "late")["settled"][0]  # still drifting: 0.1 of 0.15 in the last epoch
    untrained = _prelu_frame({"early": [0.2, 0.1, 0.06], "middle": [0.3, 0.5, 0.52], "late": [0.2, 0.15, 0.14]},
                             accuracy=0.5)
    ok, why = prelu_checks(untrained, "cnn", "early")["trained"]
    assert not ok and "lowest 50 %" in why
    # β started at 1 and never left it: "ends near 1" would hold without training, so it is not adequate
    beta = _prelu_frame({"early": [1.0, 1.01, 1.02], "middle": [1.0, 0.99, 1.0], "late": [1.01, 1.0, 1.0]},
                        start=1.0).assign(activation="swish_beta")
    moved, why = beta_checks(beta)["moved"]
    assert not moved and "≥ 0.05 from 1" in why
    away = _prelu_frame({"early": [0.7, 0.9, 0.95], "middle": [0.6, 0.8, 0.82], "late": [0.6, 0.7, 0.72]},
                        start=0.5).assign(activation="swish_beta")
    assert all(ok for ok, _ in beta_checks(away).values())


def test_leaky_and_mistake5_adequacy_need_a_plateau():
    from actbench.report.leaky_slope import adequacy
    from actbench.report.mistakes import mistake5_adequacy

    def runs(acc_path, **cols):
        return pd.DataFrame([{"epoch": e, "test_accuracy": a, "seed": s, "diverged": False, **cols}
                             for s in (0, 1) for e, a in enumerate(acc_path)])
    assert adequacy(runs([0.1, 0.7, 0.85, 0.86], net="deep", slope=0.1), "deep")[0]
    ok, why = adequacy(runs([0.1, 0.5, 0.7, 0.85], net="deep", slope=0.1), "deep")  # +15 points in the last epoch
    assert not ok and "largest last-epoch gain 15 points" in why
    assert not adequacy(runs([0.1, 0.7, 0.75, 0.76], net="deep", slope=0.1), "deep")[0]  # below 80 %
    assert mistake5_adequacy(runs([0.1, 0.9, 0.95, 0.955], variant="hybrid"))[0]
    assert not mistake5_adequacy(runs([0.1, 0.6, 0.8, 0.89], variant="hybrid"))[0]
    # a network the claim does not compare (all-ReLU) does not decide its adequacy
    both = pd.concat([runs([0.1, 0.9, 0.95, 0.955], variant="hybrid"), runs([0.1, 0.6, 0.8, 0.89], variant="all_relu")])
    assert mistake5_adequacy(both)[0]


def test_mistake1_runs_the_tutorials_plain_sgd(quick):
    import argparse

    from actbench.studies.mistakes import mistake1_optimizer

    args = argparse.Namespace(plain_sgd_lr=1e-3, sgd_lr=1e-2, adam_lr=1e-3)
    make, lr = mistake1_optimizer("sgd_plain", args)
    opt = make([nn.Parameter(torch.zeros(2))], lr)
    assert lr == 1e-3 and isinstance(opt, torch.optim.SGD) and opt.defaults["momentum"] == 0
    df = table(quick[0], "mistakes")
    m1 = df[df["part"] == "mistake1"]
    assert set(m1["optimizer"]) == {"sgd_plain", "sgd", "adam"}
    assert set(m1.loc[m1["optimizer"] == "sgd_plain", "lr"]) == {0.001}
    nums = _numbers(quick)
    assert f"mistakes.{hw_id()}.mistake1.sgd_plain.sigmoid.train_loss_epoch:4" in nums


def test_xavier_on_the_tutorials_own_layers(quick):
    w = table(quick[0], "init_pairing").groupby("quantity")["value"].mean()
    # Var(W) * n_in = 2 n_in / (n_in + n_out): 1 only for a square layer
    assert w["xavier_uniform.weight_var_times_fan_in:100x256"] == pytest.approx(200 / 356, rel=0.05)
    assert w["xavier_uniform.weight_var_times_fan_in:256x128"] == pytest.approx(512 / 384, rel=0.05)
    assert w["xavier_uniform.weight_var_times_fan_in:square"] == pytest.approx(1.0, rel=0.05)


def test_fp16_overflow_depends_on_the_implementation(quick):
    """The tutorial's own formulas overflow where PyTorch's kernels do not: the claims'
    definitions (built-in outputs/gradients, the tutorial's formula) really differ."""
    o = table(quick[0], "precision").query("quantity == 'overflow' and dtype == 'float16'")
    o = o.set_index(["activation", "provider"])
    for act in ("gelu_tanh", "elu"):  # x**3 overflows for |x| > 40; exp(x) in the untaken where branch
        assert o.loc[(act, "module"), "fwd_nonfinite"] == 0 and o.loc[(act, "module"), "bwd_nonfinite"] == 0
        assert o.loc[(act, "manual"), "bwd_nonfinite"] > 0
    nums, hw = _numbers(quick), hw_id()
    assert nums[f"precision.{hw}.float16.gelu_tanh.manual.nonfinite_gradient_fraction"].get("exact")
