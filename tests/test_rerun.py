"""actbench.rerun: comparing two runs of a timing study."""

import pandas as pd
import pytest

from actbench import rerun
from actbench.cli import main


def frame(medians, hw="cpu-test-1c", numel=2 ** 22):
    rows = [{"activation": act, "provider": "eager", "mode": "forward", "dtype": "float32", "numel": numel,
             "threads": 1, "hw_id": hw, "median_s": m} for act, m in medians.items()]
    return pd.DataFrame(rows)


def test_changes_within_and_beyond_tolerance_are_told_apart():
    old = frame({"relu": 1.0, "gelu": 2.0, "tanh": 3.0})
    new = frame({"relu": 1.05, "gelu": 2.5, "tanh": 2.97})
    pair = rerun.compare(old, new, min_log2=20, tolerance=0.10)
    assert list(pair["activation"]) == ["gelu", "relu", "tanh"]  # largest change first
    assert pair.set_index("activation")["within"].to_dict() == {"gelu": False, "relu": True, "tanh": True}
    assert pair.set_index("activation").loc["gelu", "change"] == pytest.approx(0.25)
    assert rerun.summary(pair, 0.10).startswith("2 of 3 large-size medians within 10%")


def test_small_sizes_are_left_out():
    old = pd.concat([frame({"relu": 1.0}, numel=2 ** 12), frame({"relu": 1.0})])
    new = pd.concat([frame({"relu": 9.0}, numel=2 ** 12), frame({"relu": 1.0})])
    pair = rerun.compare(old, new, min_log2=20)
    assert len(pair) == 1 and pair["within"].all()


def test_runs_of_different_machines_are_refused():
    with pytest.raises(ValueError, match="different machines"):
        rerun.compare(frame({"relu": 1.0}), frame({"relu": 1.0}, hw="gpu-other"))


def test_bad_tolerance_is_refused():
    with pytest.raises(ValueError, match="tolerance must be between 0 and 1"):
        rerun.compare(frame({"relu": 1.0}), frame({"relu": 1.0}), tolerance=10)


def test_command_prints_the_summary(tmp_path, capsys):
    old, new = tmp_path / "old.parquet", tmp_path / "new.parquet"
    frame({"relu": 1.0}).to_parquet(old)
    frame({"relu": 1.2}).to_parquet(new)
    assert main(["rerun-check", str(old), str(new)]) == 0
    assert "0 of 1 large-size medians within 10%" in capsys.readouterr().out
    assert main(["rerun-check", str(old), str(tmp_path / "missing.parquet")]) == 2
    assert "does not exist" in capsys.readouterr().err
