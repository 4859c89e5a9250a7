"""Diagnostics: each seeded defect is caught, a healthy model passes, the monitor measures
both meanings of "dead" correctly and cleans up its hooks, and the CLI fails clearly."""

import subprocess
import sys

import pytest
import torch
import torch.nn as nn

from actbench import diagnostics as dg
from actbench import diagnostics_examples as ex
from actbench.cli import main


pytestmark = pytest.mark.usefixtures("one_thread")


def verdicts(factory):
    model, x, y, loss = factory()
    return {v.check: v for v in dg.diagnose(model, x, y, loss)}


@pytest.mark.parametrize("factory", [ex.healthy, ex.healthy_regression])
def test_healthy_models_pass_every_check(factory):
    result = verdicts(factory)
    assert set(result) == {"dead_units", "gradient_flow", "init", "output_loss", "sparsity"}
    assert all(v.status == "pass" for v in result.values()), {k: v.line() for k, v in result.items()}


@pytest.mark.parametrize("factory, check, status, words", [
    (ex.dead_relu, "dead_units", "fail", "100.0%"),
    (ex.vanishing_sigmoid, "gradient_flow", "fail", "vanishing"),
    (ex.relu_with_xavier, "init", "fail", "xavier-like"),
    (ex.binary_softmax_bce, "output_loss", "warn", "two-way softmax"),
    (ex.relu_output_regression, "output_loss", "fail", "cannot be negative"),
    (ex.sigmoid_multiclass, "output_loss", "fail", "sigmoid"),
    (ex.all_zero_layer, "sparsity", "fail", "only zeros"),
])
def test_each_seeded_defect_is_caught(factory, check, status, words):
    v = verdicts(factory)[check]
    assert v.status == status, v.line()
    assert words in v.reason


def test_defects_do_not_trip_unrelated_checks():
    # the output/loss check is about the head only: a dead hidden layer is not its business
    assert verdicts(ex.dead_relu)["output_loss"].status == "pass"
    assert verdicts(ex.sigmoid_multiclass)["init"].status == "pass"


def _one_layer(act: nn.Module, bias: float, width: int = 4):
    layer = nn.Linear(3, width)
    with torch.no_grad():
        layer.weight.fill_(0.1)
        layer.bias.zero_()
        layer.bias[0] = bias  # unit 0 gets the extreme bias
    return nn.Sequential(layer, act)


@pytest.mark.parametrize("act, bias, never_positive, gradient_dead", [
    (nn.ReLU(), -100.0, True, True),          # ReLU: the two meanings coincide
    (nn.LeakyReLU(0.01), -100.0, True, False),  # never > 0, but slope 0.01 still passes gradient
    (nn.Sigmoid(), 100.0, False, True),        # saturated: always > 0, no gradient
    (nn.Tanh(), -100.0, True, True),
    (nn.GELU(), -100.0, True, True),
    (nn.ELU(), -100.0, True, True),           # f'(z) = e^z underflows
    (nn.ReLU(), 0.0, False, False),
])
def test_two_meanings_of_dead(act, bias, never_positive, gradient_dead):
    model = _one_layer(act, bias)
    x = torch.randn(200, 3, generator=torch.Generator().manual_seed(0))
    mon = dg.measure_dead_units(model, x)
    st = next(iter(mon.stats.values()))
    assert bool(st.dead_never_positive()[0]) is never_positive
    assert bool(st.dead_gradient()[0]) is gradient_dead
    assert not st.dead_gradient()[1:].any()  # the other units are healthy


def test_monitor_removes_hooks_on_exit_and_on_error():
    model = ex.healthy()[0]
    hooked = [m for m in model.modules() if dg.is_activation(m)]
    with dg.DeadUnitMonitor(model) as mon:
        assert mon.attached and all(m._forward_hooks for m in hooked)
        model(torch.randn(8, 20))
    assert not mon.attached
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())
    with pytest.raises(RuntimeError):
        with dg.DeadUnitMonitor(model):
            raise RuntimeError("boom")
    assert not any(m._forward_hooks or m._forward_pre_hooks for m in model.modules())


def test_monitor_during_training_does_not_change_gradients():
    model, x, y, loss_fn = ex.healthy()
    loss_fn(model(x), y).backward()
    plain = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    with dg.DeadUnitMonitor(model) as mon:
        loss_fn(model(x), y).backward()
    watched = [p.grad for p in model.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(plain, watched))
    assert mon.frame()["samples"].tolist() == [len(x), len(x)]


def test_shared_module_is_tracked_per_call_and_inplace_input_is_kept():
    act = nn.ReLU(inplace=True)  # the tutorial reuses one instance for both hidden layers
    model = nn.Sequential(nn.Linear(5, 6), act, nn.Linear(6, 3), act)
    with dg.DeadUnitMonitor(model) as mon:
        model(torch.randn(50, 5))
    df = mon.frame()
    assert df["layer"].tolist() == ["1", "1#1"] and df["units"].tolist() == [6, 3]
    # in-place ReLU overwrote its input; the derivative must still be 1 where z > 0
    assert (next(iter(mon.stats.values())).max_abs_derivative == 1).any()


def test_conv_units_are_channels():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU())
    with torch.no_grad():
        model[0].bias[2] = -100.0
    mon = dg.measure_dead_units(model, torch.randn(6, 1, 8, 8))
    st = next(iter(mon.stats.values()))
    assert st.units == 4 and st.dead_gradient().tolist() == [False, False, True, False]


def test_tutorial_dead_pct_pools_layers():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU())
    with torch.no_grad():
        model[0].bias[:2] = -100.0
        model[0].weight.clamp_(-0.1, 0.1)
    pct = dg.tutorial_dead_pct(model, torch.randn(128, 3))
    assert pct >= 25.0  # 2 of 8 units in the pool are dead by construction


def test_gradient_magnitudes_leave_no_gradients_behind():
    model, x, y, loss_fn = ex.vanishing_sigmoid()
    g = dg.gradient_magnitudes(model, x, y, loss_fn)
    assert len(g) == 20 and g["layer_index"].tolist() == list(range(20))
    assert g["mean_abs_grad"].iloc[0] < 1e-6 * g["mean_abs_grad"].iloc[-1]
    assert all(p.grad is None for p in model.parameters())


def test_dead_unit_callback_columns():
    model = ex.healthy()[0]
    x = torch.randn(300, 20)
    cols = dg.dead_unit_columns(model, x, x[:128])
    assert {"dead_pct_tutorial", "dead_pct_never_positive", "dead_pct_gradient", "exact_zero_pct",
            "dead_pct_gradient_l1", "dead_pct_gradient_l2"} <= set(cols)
    assert cols["dead_pct_tutorial"] >= cols["dead_pct_never_positive"]  # fewer rows: more look dead


# ── command line ────────────────────────────────────────────────────────────
def test_cli_healthy_exits_zero(capsys):
    assert main(["diagnose", "actbench.diagnostics_examples:healthy"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len([line for line in out if line.startswith("PASS")]) == 5


def test_cli_defect_exits_one(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["diagnose", "actbench.diagnostics_examples:relu_output_regression"])
    assert exc.value.code == 1
    assert "FAIL  output_loss" in capsys.readouterr().out


def test_cli_accepts_a_file_and_a_bare_model(tmp_path, capsys):
    f = tmp_path / "my_model.py"
    f.write_text("import torch.nn as nn\n\ndef build():\n    return nn.Sequential(nn.Linear(6, 8), nn.Tanh(), nn.Linear(8, 2))\n")
    assert main(["diagnose", f"{f}:build"]) == 0
    out = capsys.readouterr().out
    assert "sample (256, 6)" in out and "WARN  output_loss" in out  # no loss given: not checked


@pytest.mark.parametrize("spec, message", [
    ("nocolon", "is not MODULE:FACTORY"),
    ("actbench.models:", "is not MODULE:FACTORY"),
    ("actbench.no_such_module:f", "cannot import module 'actbench.no_such_module'"),
    ("actbench.models:no_such", "has no attribute 'no_such'; callables there:"),
    ("actbench.models:INITS", "is a tuple, not a callable factory"),
    ("actbench.models:mlp", "raised TypeError"),
    ("/nonexistent/file.py:f", "does not exist"),
])
def test_cli_malformed_factory_is_a_clear_error(spec, message, capsys):
    assert main(["diagnose", spec]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_cli_factory_returning_junk(tmp_path, capsys):
    f = tmp_path / "junk.py"
    f.write_text("def f():\n    return 42\n")
    assert main(["diagnose", f"{f}:f"]) == 2
    assert "factory returned int" in capsys.readouterr().err


def test_python_dash_m_entry_point():
    proc = subprocess.run([sys.executable, "-m", "actbench", "diagnose", "actbench.diagnostics_examples:dead_relu"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "FAIL  dead_units" in proc.stdout
