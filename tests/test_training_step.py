"""The training_step study: the tutorial's models, identity replacement, ratios."""

import pandas as pd
import pytest
import torch

from actbench.cli import main
from actbench.hardware import hw_id
from actbench.models import count_parameters
from actbench.studies import training_step as ts


def test_models_have_the_tutorial_shapes():
    args = type("A", (), {"mlp_batch": 4, "tokens": 3, "image_batch": 2})()
    mlp = ts.MODELS["mlp"].build("relu", args)
    assert count_parameters(mlp) == 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10
    ffn = ts.MODELS["transformer_ffn"].build("gelu", args)
    assert [tuple(m.weight.shape) for m in ffn if isinstance(m, torch.nn.Linear)] == [(2048, 512), (512, 2048)]
    assert any(isinstance(m, torch.nn.GELU) for m in ffn)
    assert not any(isinstance(m, torch.nn.GELU) for m in ts.MODELS["transformer_ffn"].build(None, args))
    resnet = ts.MODELS["resnet18_32px"].build("elu", args)
    assert resnet(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert sum(isinstance(m, torch.nn.ELU) for m in resnet.modules()) == 17  # stem + 2 per block


def test_efficientnet_b0_matches_the_published_layout():
    args = type("A", (), {"image_batch": 2})()
    net = ts.MODELS["efficientnet_b0"].build("silu", args)
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    # torchvision's efficientnet_b0 has 5,288,548 parameters with a 1000-class head;
    # swapping it for a 10-class head removes 1280 * 990 + 990 of them.
    assert count_parameters(net) == 5_288_548 - 1280 * 990 - 990
    # stem + head, expand/depthwise/SE per block (the first block has no expansion): 49;
    # the 16 excitation gates stay sigmoids whatever the activation under test.
    assert sum(isinstance(m, torch.nn.SiLU) for m in net.modules()) == 49
    assert sum(isinstance(m, torch.nn.Sigmoid) for m in net.modules()) == 16
    plain = ts.MODELS["efficientnet_b0"].build(None, args)
    assert not any(isinstance(m, torch.nn.SiLU) for m in plain.modules())


def test_tiny_run_writes_ratios_and_shares(tmp_path):
    rc = main(["training_step", "--results", str(tmp_path), "--device", "cpu", "--models", "mlp",
               "--activations", "silu", "--threads", "1", "--mlp-batch", "8",
               "--rounds", "3", "--min-run-time", "0.005", "--max-run-time", "0.02"])
    assert rc == 0
    all_rounds = pd.read_parquet(tmp_path / hw_id() / "training_step.parquet")
    assert sorted(all_rounds["round"].unique()) == [0, 1, 2]
    assert set(all_rounds["activation"]) == {"identity", "relu", "gelu", "silu"}  # baselines always added
    for _, df in all_rounds.groupby("round"):  # ratios are taken within a round
        df = df.set_index("activation")
        assert df.loc["relu", "step_time_ratio_vs_relu"] == 1.0
        assert df.loc["silu", "step_time_ratio_vs_gelu"] == pytest.approx(df.loc["silu", "median_s"] / df.loc["gelu", "median_s"])
        assert df.loc["silu", "activation_share"] == pytest.approx(1 - df.loc["identity", "median_s"] / df.loc["silu", "median_s"])
    assert (all_rounds["n_samples"] >= 3).all() and (all_rounds["threads"] == 1).all()
    assert (all_rounds["share_method"] == "identity replacement").all()


def test_bad_model_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["training_step", "--results", str(tmp_path), "--models", "vgg"])
    assert "argument --models: 'vgg' is not allowed; expected one of mlp, transformer_ffn" in capsys.readouterr().err
