"""The data dictionary: every column of every committed results file has a meaning in
src/actbench/columns.yaml, and the report turns them into the docs' tables."""

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from actbench.report import data_dictionary as dd
from actbench.report.numbers import NumberBook
from actbench.studies import study_names

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"  # the committed results


def test_committed_results_exist():
    """Otherwise the next test would pass without looking at anything."""
    assert list(RESULTS.glob("*/*.parquet"))


def test_every_committed_column_has_a_meaning():
    missing = dd.missing_meanings(RESULTS)
    assert not missing, ("columns without a meaning in src/actbench/columns.yaml: "
                         + ", ".join(f"{study}.{column}" for study, column in missing))


def test_study_sections_name_real_studies():
    """A misspelt study name in columns.yaml would never be used."""
    assert set(dd.meanings()["studies"]) <= set(study_names())


def test_a_studys_own_meaning_wins_over_the_shared_one():
    shared = dd.meanings()["shared"]["activation"]
    assert dd.meaning("exp1_mnist", "activation") == shared
    assert dd.meaning("kernels", "activation") != shared and "copy" in dd.meaning("kernels", "activation")


def test_numbered_columns_share_one_entry():
    assert dd.meaning("exp1_mnist", "dead_pct_gradient_l3") == dd.meaning("exp1_mnist", "dead_pct_gradient_l1")
    assert dd.meaning("exp1_mnist", "dead_pct_gradient_lx") is None
    assert dd.meaning("shapes", "dead_pct_gradient_l1") is None  # exp1_mnist's entry, not a shared one


def test_provenance_columns_are_defined_once():
    studies = dd.meanings()["studies"]
    for column in ("hw_id", "timestamp_utc", "project_commit", "torch_version"):
        assert dd.meaning("shapes", column) == dd.meanings()["shared"][column]
        assert not any(column in table for table in studies.values()), f"{column} redefined in a study"


def test_a_meaning_must_be_text(tmp_path, monkeypatch):
    bad = tmp_path / "columns.yaml"
    bad.write_text("shared:\n  hw_id:\nstudies: {}\n")
    monkeypatch.setattr(dd, "COLUMNS_FILE", bad)
    dd.meanings.cache_clear()
    try:
        with pytest.raises(ValueError, match="shared.hw_id needs a one-line meaning"):
            dd.meanings()
    finally:
        dd.meanings.cache_clear()


def _write(path: Path, df: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(path, index=False)


def test_report_writes_one_table_per_study_and_flags_unknown_columns(tmp_path, capsys):
    results, out = tmp_path / "results", tmp_path / "gen"
    _write(results / "machine-a" / "shapes.parquet",
           pd.DataFrame({"activation": ["relu"], "x": [1.0], "brand_new": [2], "hw_id": ["machine-a"]}))
    # The same study from a second machine, storing x as an integer and with one more column.
    _write(results / "machine-b" / "shapes.parquet",
           pd.DataFrame({"activation": ["relu"], "x": [1], "probe": [True], "hw_id": ["machine-b"]}))
    dd.build(results, out, NumberBook())

    table = (out / "tables" / "data-dictionary-shapes.md").read_text()
    rows = {line.split(" | ")[0].strip("| `"): line for line in table.splitlines()[2:]}
    assert list(rows) == ["activation", "x", "brand_new", "probe"]  # file order, provenance left out
    assert dd.meaning("shapes", "x") in rows["x"] and "float64 or int64" in rows["x"]
    assert dd.NO_MEANING in rows["brand_new"]

    provenance = (out / "tables" / "data-dictionary-provenance.md").read_text()
    assert "`hw_id`" in provenance and dd.meanings()["shared"]["hw_id"].split("(")[0].strip() in provenance
    page = (out / "tables" / "data-dictionary.md").read_text()
    assert "## `shapes` { #shapes }" in page and "{ #provenance }" in page
    assert "shapes.brand_new" in capsys.readouterr().err
    assert dd.missing_meanings(results) == [("shapes", "brand_new")]


def test_pipes_in_a_meaning_do_not_split_the_table(tmp_path):
    results, out = tmp_path / "results", tmp_path / "gen"
    _write(results / "m" / "gradient_flow.parquet", pd.DataFrame({"mean_abs_grad": [0.1]}))
    dd.build(results, out, NumberBook())
    line = (out / "tables" / "data-dictionary-gradient_flow.md").read_text().splitlines()[2]
    assert "\\|dL/dW\\|" in line
    assert len(line.replace("\\|", "").split("|")) == 5  # three cells: column, type, meaning


def test_report_limited_to_one_machine_lists_only_its_columns(tmp_path):
    results, out = tmp_path / "results", tmp_path / "gen"
    _write(results / "machine-a" / "shapes.parquet", pd.DataFrame({"x": [1.0]}))
    _write(results / "machine-b" / "shapes.parquet", pd.DataFrame({"probe": [True]}))
    dd.build(results, out, NumberBook(hw_filter="machine-b"))
    table = (out / "tables" / "data-dictionary-shapes.md").read_text()
    assert "`probe`" in table and "`x`" not in table


def test_types_come_from_the_schema():
    path = next(RESULTS.glob("*/shapes.parquet"))
    columns = dd.study_columns(RESULTS)["shapes"]
    assert columns["probe"] == ["bool"] and list(columns)[: 3] == pq.read_schema(path).names[: 3]
