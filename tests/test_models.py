"""Model builders and initialisation helpers (actbench.models)."""

import math

import pytest
import torch
import torch.nn as nn

from actbench import activations, models

pytestmark = pytest.mark.usefixtures("one_thread")



def test_mlp_layout_matches_widths_and_activations():
    m = models.mlp([784, 256, 128, 10], "gelu")
    kinds = [type(x) for x in m]
    assert kinds == [nn.Linear, nn.GELU, nn.Linear, nn.GELU, nn.Linear]
    assert [x.out_features for x in m if isinstance(x, nn.Linear)] == [256, 128, 10]
    assert m[1] is not m[3]  # one module per layer (a shared PReLU would tie its slope)


def test_mlp_per_layer_activations_batchnorm_and_output_activation():
    m = models.mlp([4, 8, 8, 2], ["relu", "tanh"], batchnorm=True, output_activation="sigmoid")
    assert [type(x) for x in m] == [nn.Linear, nn.BatchNorm1d, nn.ReLU, nn.Linear, nn.BatchNorm1d, nn.Tanh,
                                    nn.Linear, nn.Sigmoid]
    assert m(torch.randn(5, 4)).shape == (5, 2)


def test_mlp_without_activation_is_a_linear_stack():
    m = models.mlp([3, 5, 5, 3], None)
    assert all(isinstance(x, nn.Linear) for x in m)


def test_seeded_build_is_reproducible_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    a = models.mlp([10, 20, 3], "relu", init="he", seed=7)
    after = torch.rand(1)
    b = models.mlp([10, 20, 3], "relu", init="he", seed=7)
    assert torch.equal(after, expected_next)
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)
    c = models.mlp([10, 20, 3], "relu", init="he", seed=8)
    assert not torch.equal(a[0].weight, c[0].weight)


@pytest.mark.parametrize("scheme", ["xavier", "he", "lecun", "torch_default"])
@pytest.mark.parametrize("distribution", ["normal", "uniform"])
def test_init_schemes_hit_their_variance(scheme, distribution):
    layer = nn.Linear(400, 300)
    torch.manual_seed(0)
    models.init_layer(layer, scheme, distribution)
    expected = models.expected_weight_variance(scheme, 400, 300)
    assert float(layer.weight.detach().var()) == pytest.approx(expected, rel=0.03)


def test_bias_zero_and_keep():
    layer = nn.Linear(50, 50)
    before = layer.bias.detach().clone()
    models.init_layer(layer, "he", bias="keep")
    assert torch.equal(layer.bias, before)
    models.init_layer(layer, "he", bias="zero")
    assert torch.count_nonzero(layer.bias) == 0


def test_recommended_init_follows_the_registry():
    m = models.mlp([500, 500, 500, 10], "selu", init="recommended", seed=0)
    assert activations.get("selu").init == "lecun"
    assert float(m[0].weight.detach().var()) * 500 == pytest.approx(1.0, rel=0.03)
    m = models.mlp([500, 500, 10], "relu", init="recommended", seed=0)
    assert float(m[0].weight.detach().var()) * 500 == pytest.approx(2.0, rel=0.03)


def test_tutorial_exp2_init_rule():
    assert models.tutorial_exp2_init("relu") == "he"
    assert models.tutorial_exp2_init("leaky_relu") == "he"
    assert models.tutorial_exp2_init("gelu") == "xavier"   # the tutorial pairs GELU with Xavier
    assert models.recommended_init("gelu") == "he"


def test_deep_mlp_has_depth_linear_layers():
    m = models.deep_mlp("tanh", 20, 64)
    assert len(models.weight_layers(m)) == 20
    assert sum(isinstance(x, nn.Tanh) for x in m) == 19
    assert m(torch.randn(3, 10)).shape == (3, 1)


def test_cnn_accepts_flat_mnist_rows_and_mixed_activations():
    m = models.cnn(["relu", "gelu"], channels=(4, 8), seed=0)
    assert m(torch.randn(2, 784)).shape == (2, 10)
    acts = [type(x) for x in m if isinstance(x, (nn.ReLU, nn.GELU))]
    assert acts == [nn.ReLU, nn.GELU]
    m = models.cnn("relu", channels=(4,), init="he", batchnorm=True, seed=0)
    conv = models.weight_layers(m)[0][1]
    assert float(conv.weight.detach().var()) * 9 == pytest.approx(2.0, rel=0.5)  # 36 weights: loose check


@pytest.mark.parametrize("call, message", [
    (lambda: models.mlp([10], "relu"), "widths must be"),
    (lambda: models.mlp([10, 0, 2], "relu"), "widths must be"),
    (lambda: models.mlp([10, 5, 2], "relu", init="glorot"), "unknown init 'glorot'; allowed: xavier"),
    (lambda: models.mlp([10, 5, 5, 2], ["relu"]), "got 1 activations for 2 hidden layers"),
    (lambda: models.init_layer(nn.Linear(2, 2), "he", "cauchy"), "unknown distribution 'cauchy'"),
    (lambda: models.deep_mlp("relu", 1, 8), "depth must be >= 2"),
])
def test_bad_arguments_name_the_value(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_unknown_activation_lists_valid_names():
    with pytest.raises(activations.UnknownActivationError, match="valid names"):
        models.mlp([2, 3, 1], "relux")


def test_expected_variance_formulas():
    assert models.expected_weight_variance("xavier", 100, 300) == pytest.approx(2 / 400)
    assert models.expected_weight_variance("torch_default", 100, 1) == pytest.approx(1 / 300)
    assert math.isclose(models.expected_weight_variance("he", 8, 1), 0.25)
