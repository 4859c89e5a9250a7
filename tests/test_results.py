import os

import pandas as pd
import pytest

from actbench import results


def test_write_adds_provenance_and_is_atomic(tmp_path):
    df = pd.DataFrame({"activation": ["relu", "gelu"], "value": [1.0, 2.0]})
    path = results.write_study(df, "demo", tmp_path)
    out = pd.read_parquet(path)
    for col in ("hw_id", "hw_cpu_model", "torch_version", "project_commit", "timestamp_utc", "study"):
        assert col in out.columns
    assert not [p for p in os.listdir(path.parent) if p.endswith(".tmp")]


def test_upsert_replaces_matching_keys_only(tmp_path):
    key = ["activation", "seed"]
    results.write_study(pd.DataFrame({"activation": ["relu", "gelu"], "seed": [0, 0], "v": [1, 2]}), "demo", tmp_path, key=key)
    path = results.write_study(pd.DataFrame({"activation": ["gelu", "silu"], "seed": [0, 0], "v": [20, 3]}), "demo", tmp_path, key=key)
    out = pd.read_parquet(path).sort_values("activation")
    assert out["activation"].tolist() == ["gelu", "relu", "silu"]
    assert out.set_index("activation")["v"].to_dict() == {"gelu": 20, "relu": 1, "silu": 3}


def test_failed_write_leaves_previous_file(tmp_path, monkeypatch):
    path = results.write_study(pd.DataFrame({"a": [1]}), "demo", tmp_path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(results.pq, "write_table", boom)
    with pytest.raises(OSError):
        results.write_study(pd.DataFrame({"a": [2]}), "demo", tmp_path)
    assert path.read_bytes() == before
    assert not [p for p in os.listdir(path.parent) if p.endswith(".tmp")]


def test_corrupt_parquet_says_what_to_do(tmp_path):
    path = results.write_study(pd.DataFrame({"a": [1]}), "demo", tmp_path)
    path.write_bytes(b"not a parquet file")
    with pytest.raises(results.ResultsError, match="delete it and rerun"):
        results.read_study("demo", tmp_path)


def test_unknown_hardware_id_lists_known(tmp_path):
    results.write_study(pd.DataFrame({"a": [1]}), "demo", tmp_path)
    with pytest.raises(results.ResultsError, match="unknown hardware id 'gpu-nope'; results exist for: cpu-"):
        results.read_study("demo", tmp_path, hw="gpu-nope")
