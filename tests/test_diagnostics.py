"""Diagnostics: each seeded defect is caught, a healthy model passes, the monitor measures
both meanings of "dead" correctly and cleans up its hooks, activations written as functions
or registered as custom entries are seen, what cannot be seen is SKIP (never PASS), and the
CLI fails clearly."""

import subprocess
import sys
import warnings

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from actbench import activations
from actbench import diagnostics as dg
from actbench import diagnostics_examples as ex
from actbench.cli import main
from actbench.models import activation_module, deep_mlp, mlp


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


# ── what diagnose sees: functions, registry entries, and what it cannot see ─────────
def _frame_of(model, x):
    return dg.measure_dead_units(model, x).frame()


@pytest.mark.parametrize("function, module, name", [
    (F.relu, nn.ReLU(), "relu"),
    (torch.relu, nn.ReLU(), "relu"),
    (lambda z: z.relu(), nn.ReLU(), "relu"),
    (lambda z: z.relu_(), nn.ReLU(), "relu"),
    (torch.tanh, nn.Tanh(), "tanh"),
    (torch.sigmoid, nn.Sigmoid(), "sigmoid"),
    (F.gelu, nn.GELU(), "gelu"),
    (lambda z: F.gelu(z, approximate="tanh"), nn.GELU(approximate="tanh"), "gelu_tanh"),
    (lambda z: F.leaky_relu(z, 0.2), nn.LeakyReLU(0.2), "leaky_relu"),
    (F.silu, nn.SiLU(), "silu"),
    # in place: f'(z) must be taken at the input, not at the overwritten output (ELU differs there)
    (lambda z: F.elu(z, inplace=True), nn.ELU(), "elu"),
    (F.celu, nn.CELU(), "celu"),  # PyTorch's own activation without a registry entry
])
def test_activation_functions_are_measured_like_their_modules(function, module, name):
    as_module = _one_layer(module, -100.0)
    as_function = ex.functional(nn.Sequential(as_module[0], nn.Linear(4, 2)), function)
    x = torch.randn(200, 3, generator=torch.Generator().manual_seed(0))
    by_module, by_function = _frame_of(as_module, x), _frame_of(as_function, x)
    assert len(by_function) == 1 and by_function["layer"][0].endswith("()")  # named after the call
    assert by_function["activation"].tolist() == [name] == by_module["activation"].tolist()
    columns = ["units", "dead_never_positive", "dead_gradient", "exact_zero_fraction", "mean_positive_rate"]
    assert by_function[columns].equals(by_module[columns])


def test_functional_30_layer_xavier_relu_net_no_longer_passes():
    """The issue's example: written with F.relu, every activation check used to PASS on nothing."""
    result = verdicts(ex.functional_relu_xavier)
    assert result["init"].status == "fail" and "xavier-like" in result["init"].reason
    assert result["dead_units"].status == "fail" and "relu()#" in result["dead_units"].reason
    # the same weights as activation modules give the same verdicts
    module_model = deep_mlp("relu", 30, 64, in_features=64, init="xavier", seed=0)
    _, x, y, loss = ex.functional_relu_xavier()
    as_modules = {v.check: v.status for v in dg.diagnose(module_model, x, y, loss)}
    assert as_modules == {k: v.status for k, v in result.items()}


@pytest.mark.parametrize("name", activations.elementwise_names())
def test_every_registry_activation_module_is_watched(name):
    # custom entries (squared_relu, elu_learnable) included; SwishBeta's inner torch.sigmoid is
    # part of the module and must not count as a layer of its own
    model = mlp([3, 5, 4, 2], name, seed=0)
    df = _frame_of(model, torch.randn(32, 3))
    assert df["activation"].tolist() == [name, name]
    assert df["units"].tolist() == [5, 4]
    assert dg.is_activation(activation_module(name)) and dg.activation_name(activation_module(name)) == name


class _GatedSiLU(nn.SiLU):  # a subclass of a registry module is that activation
    def __init__(self):
        super().__init__()
        self.gate = nn.Sigmoid()

    def forward(self, x):
        return x * self.gate(x)


def test_activation_modules_inside_a_recognised_activation_are_part_of_it():
    df = _frame_of(nn.Sequential(nn.Linear(3, 4), _GatedSiLU()), torch.randn(16, 3))
    assert df["activation"].tolist() == ["silu"]

def test_registry_derivation_leaves_the_callers_random_stream_alone():
    dg._module_classes.cache_clear()
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    dg.activation_name(nn.ReLU())  # builds every registry module, maxout's Linear included
    assert torch.equal(torch.rand(3), expected)


class _LSTMNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp, self.lstm, self.head = nn.Linear(20, 8), nn.LSTM(8, 8, batch_first=True), nn.Linear(8, 5)

    def forward(self, x):
        return self.head(self.lstm(self.inp(x).unsqueeze(1))[0][:, -1])


def _scripted_healthy():
    model, x, y, loss = ex.healthy()
    with warnings.catch_warnings():  # torch.jit.script is deprecated, but users still hand it in
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.jit.script(model), x, y, loss


def _maxout_net():
    _, x, y, loss = ex.healthy()
    return nn.Sequential(nn.Linear(20, 64), activation_module("maxout"), nn.Linear(64, 5)), x, y, loss


@pytest.mark.parametrize("factory, words", [
    (ex.unrecognised_activation, "'1' (ClampReLU): not a layer or activation diagnose recognises"),
    (ex.custom_function_activation, "autograd.Function ClampReLUFunction"),
    (lambda: (_LSTMNet(), *ex.healthy()[1:]), "'lstm' (LSTM)"),
    (_scripted_healthy, "TorchScript"),
    (_maxout_net, "maxout is not elementwise"),
])
def test_what_cannot_be_inspected_is_skip_not_pass(factory, words):
    result = verdicts(factory)
    for check in ("dead_units", "init", "sparsity"):
        assert result[check].status == "skip", result[check].line()
        assert words in result[check].reason
    assert "not a clean bill of health" in dg.summary(list(result.values()))


def test_partly_seen_model_skips_instead_of_passing_and_a_failure_still_fails():
    result = verdicts(ex.unrecognised_activation)  # the ReLU layer that is seen is healthy
    assert "what was inspected is fine: 0.0% of 64 units" in result["dead_units"].reason
    model, x, y, loss = ex.dead_relu()
    model[1] = ex.ClampReLU()  # hide the dead layer's activation; the last ReLU is seen and dead
    with torch.no_grad():
        model[2].bias.fill_(-50.0)
    dead = {v.check: v for v in dg.diagnose(model, x, y, loss)}["dead_units"]
    assert dead.status == "fail" and "not inspected: '1' (ClampReLU)" in dead.reason


def test_model_without_activations_is_skipped_not_passed():
    model = nn.Sequential(nn.Linear(20, 16), nn.Linear(16, 5))
    _, x, y, loss = ex.healthy()
    result = {v.check: v for v in dg.diagnose(model, x, y, loss)}
    assert [result[c].status for c in ("dead_units", "init", "sparsity")] == ["skip"] * 3
    assert "no activation seen" in result["dead_units"].reason


def test_one_weight_layer_and_unknown_loss_are_skipped():
    model = nn.Sequential(nn.Linear(20, 5), nn.ReLU())
    x = torch.randn(64, 20)
    result = {v.check: v for v in dg.diagnose(model, x, torch.rand(64, 5), nn.KLDivLoss(reduction="batchmean"))}
    assert result["gradient_flow"].status == "skip" and "needs two" in result["gradient_flow"].reason
    output_loss = result["output_loss"]
    assert output_loss.status == "skip" and "KLDivLoss is not in the checked table" in output_loss.reason


class _FunctionalHead(nn.Module):
    def __init__(self, head):
        super().__init__()
        self.body, self.out, self.head = nn.Linear(20, 16), nn.Linear(16, 5), head

    def forward(self, x):
        return self.head(self.out(F.relu(self.body(x))))


@pytest.mark.parametrize("head, loss, status, words", [
    (torch.sigmoid, nn.CrossEntropyLoss(), "fail", "sigmoid scores for mutually exclusive classes"),
    (lambda z: F.softmax(z, dim=1), nn.CrossEntropyLoss(), "fail", "applies log-softmax itself"),
    (lambda z: z.log_softmax(dim=1), nn.NLLLoss(), "pass", "log_softmax output"),
])
def test_functional_output_heads_are_seen(head, loss, status, words):
    _, x, y, _ = ex.healthy()
    v = {v.check: v for v in dg.diagnose(_FunctionalHead(head), x, y, loss)}["output_loss"]
    assert v.status == status and words in v.reason, v.line()


def test_function_calls_outside_forward_are_not_watched_and_no_mode_is_left_behind():
    model = ex.healthy()[0]
    with dg.DeadUnitMonitor(model) as mon:
        torch.sigmoid(model(torch.randn(8, 20)))  # e.g. in the loss: not part of the model
    assert mon.frame()["activation"].tolist() == ["relu", "relu"]

    class Broken(nn.Module):
        def forward(self, x):
            F.relu(x)
            raise RuntimeError("boom")

    with dg.DeadUnitMonitor(Broken()) as mon:
        with pytest.raises(RuntimeError, match="boom"):
            mon.model(torch.randn(2, 3))
        assert torch._C._len_torch_function_stack() == 0  # left at once, not only when the monitor detaches


# ── options and input are checked before any work ───────────────────────────────
@pytest.mark.parametrize("threshold", [0.0, 1.0, -1e-3, float("nan")])
def test_library_threshold_outside_its_meaning_is_refused(threshold):
    model, x, y, loss = ex.healthy()
    with pytest.raises(ValueError, match="expected a number strictly between 0 and 1"):
        dg.diagnose(model, x, y, loss, threshold=threshold)


@pytest.mark.parametrize("model, x, words", [
    (mlp([20, 8, 5], "relu"), torch.randn(4, 784), "the input has shape (4, 784) but the model expects (N, 20): "
     "its first layer '0' is Linear with in_features=20"),
    (nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU()), torch.randn(2, 1, 8, 8),
     "the input has shape (2, 1, 8, 8) but the model expects (N, 3, H, W): "
     "its first layer '0' is Conv2d with in_channels=3"),
    (nn.Sequential(nn.Linear(20, 8), nn.ReLU(), nn.Linear(7, 2)), torch.randn(4, 20),
     "failed on the input of shape (4, 20), although that fits its first layer '0' (Linear with in_features=20)"),
])
def test_shape_mismatch_names_the_expected_input(model, x, words):
    with pytest.raises(ValueError) as exc:
        dg.diagnose(model, x)
    assert words in str(exc.value) and "RuntimeError" in str(exc.value)
    assert model.training  # the mode is restored although the forward failed

# ── command line ────────────────────────────────────────────────────────────
def test_cli_healthy_exits_zero(capsys):
    assert main(["diagnose", "actbench.diagnostics_examples:healthy"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len([line for line in out if line.startswith("PASS")]) == 5
    assert out[-1] == "summary: all 5 checks passed"


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
    assert "sample (256, 6)" in out and "SKIP  output_loss" in out  # no loss given: not checked
    assert "not a clean bill of health: output_loss" in out


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
