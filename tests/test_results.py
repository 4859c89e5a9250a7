import os
import re

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


def _truncated(good: bytes) -> bytes:
    return good[: len(good) // 2]  # a full disk or a killed copy


def _random(good: bytes) -> bytes:
    return os.urandom(len(good))


def _footer_garbled(good: bytes) -> bytes:
    # Magic bytes intact at both ends, the metadata before the final ones overwritten.
    return good[:-40] + b"\xff" * 36 + good[-4:]


CORRUPTIONS = [
    pytest.param(_truncated, id="truncated"),
    pytest.param(_random, id="random-bytes"),
    pytest.param(lambda good: b"", id="empty"),
    pytest.param(lambda good: b"PAR1", id="magic-only"),
    pytest.param(_footer_garbled, id="footer-garbled"),
]
CORRUPT_MESSAGE = re.compile(
    r"(?P<path>\S+) is not a readable parquet file \((?P<reason>[^\n]+)\); delete it and rerun the study "
    r"that writes it \(`make` reruns every study whose file is missing\)")


@pytest.mark.parametrize("corrupt", CORRUPTIONS)
@pytest.mark.parametrize("where", ["study", "part"])
@pytest.mark.parametrize("reader", ["read_parquet", "read_arrow-columns"])
def test_a_corrupt_file_names_itself_in_one_line_and_is_kept(tmp_path, corrupt, where, reader):
    rows = pd.DataFrame({"activation": ["relu", "gelu"] * 50, "value": range(100)})
    path = results.write_study(rows, "demo", tmp_path)
    if where == "part":
        path = results.write_study(rows, "demo", tmp_path, path=path.parent / "parts" / "demo" / "relu-s0.parquet")
    damaged = corrupt(path.read_bytes())
    path.write_bytes(damaged)
    with pytest.raises(results.ResultsError) as info:
        if reader == "read_parquet":
            results.read_parquet(path)
        else:  # as the report's machines table reads provenance
            results.read_arrow(path, columns=["hw_id", "timestamp_utc"])
    message = str(info.value)
    match = CORRUPT_MESSAGE.fullmatch(message)
    assert match, message
    assert match["path"] == str(path)
    assert path.read_bytes() == damaged  # the evidence is left as it was


def test_a_missing_file_says_so(tmp_path):
    with pytest.raises(results.ResultsError, match=r"demo.parquet does not exist; run the study that writes it"):
        results.read_parquet(tmp_path / "demo.parquet")


def test_unknown_hardware_id_lists_known(tmp_path):
    results.write_study(pd.DataFrame({"a": [1]}), "demo", tmp_path)
    with pytest.raises(results.ResultsError, match="unknown hardware id 'gpu-nope'; results exist for: cpu-"):
        results.read_study("demo", tmp_path, hw="gpu-nope")
