import json
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


# ── every row records its settings; a run refuses to replace or mix rows of other settings ──

def _run(replace=False, **settings) -> results.RunSettings:
    """A run of study 'demo' whose 'activations' only choose rows; the hash: of the rest."""
    kept = {k: v for k, v in settings.items() if k != "activations"}
    return results.RunSettings(study="demo", settings=settings, hash=str(sorted(kept.items())),
                               selection=("activations",), replace=replace)


KEY = ["activation"]


def _write(run, activations, key=KEY, tmp=None):
    with results.recording(run):
        return results.write_study(pd.DataFrame({"activation": activations, "v": range(len(activations))}),
                                   "demo", tmp, key=key)


def test_rows_record_the_settings_of_the_run_that_made_them(tmp_path):
    run = _run(epochs=2, activations=["relu"])
    out = pd.read_parquet(_write(run, ["relu", "gelu"], tmp=tmp_path))
    assert set(out["settings_hash"]) == {run.hash}
    assert [json.loads(s) for s in set(out["settings"])] == [{"activations": ["relu"], "epochs": 2}]
    assert results.is_provenance_column("settings") and results.is_provenance_column("settings_hash")


def test_rows_of_other_settings_are_neither_mixed_nor_replaced_and_the_file_is_kept(tmp_path):
    path = _write(_run(epochs=2, activations=["relu"]), ["relu"], tmp=tmp_path)
    before = path.read_bytes()
    for key, action in ((KEY, "add its rows beside them"), (None, "replace them")):
        with pytest.raises(results.ResultsError) as err:
            _write(_run(epochs=3, activations=["relu"]), ["relu"], key=key, tmp=tmp_path)
        assert str(err.value) == (
            f"{path} holds rows made with other settings (epochs: 2 there, 3 now); this run would {action}. "
            "Write elsewhere with --results DIR, or pass --replace to replace that file on purpose")
    assert path.read_bytes() == before


def test_a_run_that_only_chooses_other_rows_adds_them_but_may_not_replace_the_file(tmp_path):
    _write(_run(epochs=2, activations=["relu"]), ["relu"], tmp=tmp_path)
    path = _write(_run(epochs=2, activations=["gelu"]), ["gelu"], tmp=tmp_path)
    assert sorted(pd.read_parquet(path)["activation"]) == ["gelu", "relu"]
    # replacing the file with relu's rows would drop gelu's: every setting must be equal
    with pytest.raises(results.ResultsError, match=r'activations: \["gelu"\] there, \["relu"\] now\); this run '
                                                   r"would replace them"):
        _write(_run(epochs=2, activations=["relu"]), ["relu"], key=None, tmp=tmp_path)


def test_replace_replaces_the_file_once_then_adds_to_it(tmp_path):
    _write(_run(epochs=2, activations=["relu", "gelu"]), ["relu", "gelu"], tmp=tmp_path)
    run = _run(replace=True, epochs=3, activations=["silu", "tanh"])
    _write(run, ["silu"], tmp=tmp_path)  # a study that writes as it goes (one size, one model at a time)
    out = pd.read_parquet(_write(run, ["tanh"], tmp=tmp_path))
    assert sorted(out["activation"]) == ["silu", "tanh"] and set(out["settings_hash"]) == {run.hash}


def test_rows_without_recorded_settings_are_not_replaced_by_a_run(tmp_path):
    path = results.write_study(pd.DataFrame({"activation": ["relu"], "v": [1]}), "demo", tmp_path, key=KEY)
    with pytest.raises(results.ResultsError, match="holds rows whose settings were not recorded"):
        _write(_run(epochs=2, activations=["gelu"]), ["gelu"], tmp=tmp_path)
    # the API used without a run (gpu-check's stages, tests) upserts as before
    results.write_study(pd.DataFrame({"activation": ["gelu"], "v": [2]}), "demo", tmp_path, key=KEY)
    assert sorted(pd.read_parquet(path)["activation"]) == ["gelu", "relu"]


def test_a_checkpoint_is_refused_by_every_reader_even_under_another_name(tmp_path):
    checkpoint = results.write_checkpoint(pd.DataFrame({"median_s": [1e-6]}), "kernels", tmp_path)
    assert checkpoint == results.study_path("kernels", tmp_path).with_name("kernels.parquet.incomplete")
    copy = tmp_path / "kernels.parquet"
    copy.write_bytes(checkpoint.read_bytes())
    for path in (checkpoint, copy):
        for read in (results.read_parquet, results.read_arrow, lambda p: results.read_arrow(p, columns=["median_s"])):
            with pytest.raises(results.ResultsError) as err:
                read(path)
            assert str(err.value).startswith(f"{path} is the checkpoint of a kernels run that did not finish")
    results.drop_checkpoint("kernels", tmp_path)
    assert not checkpoint.exists()


def test_by_hand_runs_default_to_results_local_and_replace_works(tmp_path, monkeypatch):
    from actbench import cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ACTBENCH_HW_ID", "machine-a")
    assert cli.main(["shapes", "--activations", "relu", "--points", "21"]) == 0
    local = tmp_path / "results-local" / "machine-a" / "shapes.parquet"
    assert local.exists() and not (tmp_path / "results").exists()  # never the pipeline's results/

    def grid(path):
        df = results.read_parquet(path)
        return df[(df["quantity"] == "f") & ~df["probe"].astype(bool)]

    assert cli.main(["shapes", "--activations", "gelu", "--points", "21"]) == 0  # same settings: rows added
    assert grid(local).groupby("activation").size().to_dict() == {"gelu": 21, "relu": 21}
    before = local.read_bytes()
    assert cli.main(["shapes", "--activations", "relu", "--points", "11"]) == 2  # other settings: refused
    assert local.read_bytes() == before
    assert cli.main(["shapes", "--activations", "relu", "--points", "11", "--replace"]) == 0
    assert grid(local).groupby("activation").size().to_dict() == {"relu": 11}
    assert {json.loads(s)["points"] for s in results.read_parquet(local)["settings"]} == {11}


def test_a_pipeline_job_on_a_cluster_replaces_its_file(tmp_path, monkeypatch):
    """Snakemake removes a job's outputs before it runs it; on a cluster only the link it
    tracks, so the job (ACTBENCH_LINK_DIR set) replaces the file behind it."""
    from actbench import cli

    monkeypatch.setenv("ACTBENCH_HW_ID", "machine-a")
    out = tmp_path / "results"
    assert cli.main(["shapes", "--results", str(out), "--activations", "relu", "--points", "21"]) == 0
    monkeypatch.setenv("ACTBENCH_LINK_DIR", str(out / ".cluster" / "declared"))
    assert cli.main(["shapes", "--results", str(out), "--activations", "relu", "--points", "11"]) == 0
    assert {json.loads(s)["points"] for s in results.read_parquet(out / "machine-a" / "shapes.parquet")["settings"]} == {11}
