"""Generated figures (issue 15): every figure the report draws has a CSV of exactly its
plotted points and a caption record naming the machine and run; it is drawn for the
site's content column with readable text; and every activation keeps its registry colour.

The report runs once on the committed results (the docs build's generated/ folder, shared
with test_docs.py and test_browser.py).
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from actbench import activations
from actbench.report.common import COLUMN_PX, FONT_PT, save_figure
from actbench.report.figure_block import figure_block
from actbench.results import read_parquet
from docsite import ROOT, build_site

RESULTS = ROOT / "results"
# Figures whose activations are rows of a heatmap or panel titles, not coloured marks.
NOT_COLOURED_BY_ACTIVATION = re.compile(r"init_pairing_accuracy|precision_overflow_.*|kernels-time-.*")


@pytest.fixture(scope="module")
def figures() -> Path:
    return build_site().generated / "figures"


def svgs(folder: Path) -> list[Path]:
    found = sorted(folder.glob("*.svg"))
    assert found, f"no figures in {folder}"
    return found


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_figure_has_its_csv_and_run(figures):
    machines = {p.name for p in RESULTS.iterdir() if p.is_dir()}
    for svg in svgs(figures):
        meta = json.loads(svg.with_suffix(".json").read_text())
        assert meta["figure"] == svg.name and meta["csv"] == svg.with_suffix(".csv").name, svg.name
        rows = read_csv(svg.with_suffix(".csv"))
        assert rows, f"{svg.name}: empty CSV"
        assert list(rows[0]) == meta["columns"] and len(rows) == meta["rows"], svg.name
        assert meta["runs"], svg.name
        for run in meta["runs"]:
            assert run["hw"] in machines and run["run"] != "–" and run["commit"] not in ("", "–"), (svg.name, run)


def svg_width_px(text: str) -> float:
    width = re.search(r'<svg[^>]*\swidth="([\d.]+)pt"', text)
    assert width, "SVG without a width in pt"
    return float(width.group(1)) * 4 / 3  # 1 pt = 4/3 CSS px


def font_sizes(text: str) -> list[float]:
    """Font sizes (SVG user units = pt) of every text element matplotlib wrote."""
    return [float(v) for v in re.findall(r"font(?:-size)?:\s*(?:[a-z-]+\s+)*([\d.]+)px", text)]


def test_figures_fit_the_column_with_readable_text(figures):
    problems = []
    for svg in svgs(figures):
        text = svg.read_text()
        width = svg_width_px(text)
        scale = min(1.0, COLUMN_PX / width)  # a wider figure is shrunk to the column
        sizes = font_sizes(text)
        assert sizes, f"{svg.name}: no text found"
        if width > COLUMN_PX * 1.05:
            problems.append(f"{svg.name}: {width:.0f} px wide (column {COLUMN_PX} px)")
        if min(sizes) * scale < FONT_PT - 0.01:
            problems.append(f"{svg.name}: smallest font {min(sizes) * scale:.1f} pt at display size")
    assert not problems, problems


def test_every_activation_keeps_its_registry_colour(figures):
    """ReLU (and every other registry entry) is drawn in its own colour in every figure
    that plots it, so a reader can follow one activation from figure to figure."""
    checked = 0
    for svg in svgs(figures):
        if NOT_COLOURED_BY_ACTIVATION.fullmatch(svg.stem):
            continue
        rows = read_csv(svg.with_suffix(".csv"))
        if "activation" not in rows[0]:
            continue
        text = svg.read_text().lower()
        for name in {r["activation"] for r in rows if r["activation"] in activations.REGISTRY}:
            assert activations.colour(name) in text, f"{svg.name}: {name} not drawn in {activations.colour(name)}"
            checked += 1
    assert checked > 50  # the check ran on the figures that plot activations


def test_shape_figures_plot_every_grid_point(figures):
    hw = sorted(p.name for p in RESULTS.iterdir() if (p / "shapes.parquet").exists())[0]
    df = read_parquet(RESULTS / hw / "shapes.parquet")
    grid = df[~df["probe"] & df["x"].notna() & (df["quantity"] == "f")]
    plotted = pd.read_csv(figures / "shapes_f.csv")
    expected = [a for a in dict.fromkeys(grid["activation"]) if a != "identity"]
    assert list(dict.fromkeys(plotted["activation"])) == expected
    assert plotted.groupby("activation").size().to_dict() == grid[grid["activation"] != "identity"] \
        .groupby("activation").size().to_dict()
    relu = pd.read_csv(figures / "shape_relu.csv")
    assert list(relu.columns) == ["activation", "x", "f", "df"]
    assert (relu["f"] == relu["x"].clip(lower=0)).all()


def test_final_accuracy_figure_plots_each_seed_and_mean(figures):
    hw = json.loads((figures / "exp1_final_accuracy.json").read_text())["runs"][0]["hw"]
    df = read_parquet(RESULTS / hw / "exp1_mnist.parquet")
    final = df.sort_values("epoch").groupby(["activation", "seed"]).tail(1)
    plotted = pd.read_csv(figures / "exp1_final_accuracy.csv")
    seeds = plotted[plotted["kind"] == "seed"]
    assert len(seeds) == final["test_accuracy"].notna().sum()
    means = plotted[plotted["kind"] == "mean"].set_index("activation")["accuracy_pct"]
    expected = seeds.groupby("activation")["accuracy_pct"].mean()
    assert means.sort_index().round(9).equals(expected.sort_index().round(9))


def test_init_heatmap_has_one_cell_per_pairing(figures):
    plotted = pd.read_csv(figures / "init_pairing_accuracy.csv")
    assert list(plotted.columns) == ["activation", "init", "test_accuracy_pct"]
    assert len(plotted) == plotted["activation"].nunique() * plotted["init"].nunique()


def test_split_figures_replace_the_composites(figures):
    """Figures that were several figures in one file are drawn one by one."""
    for gone in ("architectures", "exp1_curves", "mistakes_mistake2_5", "dead_units_depth", "trainability",
                 "precision_overflow"):
        assert not (figures / f"{gone}.svg").exists(), gone
    for part in ("cnn", "lm", "rnn", "gan"):
        assert (figures / f"architectures_{part}.svg").exists(), part
    assert list(figures.glob("kernels-roofline-*-eager.svg")), "one roofline figure per provider"


def test_save_figure_refuses_a_figure_without_its_data_or_run(tmp_path):
    import matplotlib.pyplot as plt

    rows = pd.DataFrame({"x": [0, 1], "study": "s", "hw_id": "m", "timestamp_utc": "2026-01-01T00:00:00Z",
                         "project_commit": "abc"})
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="empty"):
        save_figure(fig, tmp_path / "a.svg", data=rows.iloc[:0], source=rows)
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="provenance"):
        save_figure(fig, tmp_path / "b.svg", data=rows[["x"]], source=rows[["x"]])
    fig, ax = plt.subplots()
    save_figure(fig, tmp_path / "c.svg", data=rows[["x"]], source=rows)
    meta = json.loads((tmp_path / "c.json").read_text())
    assert meta["runs"] == [{"study": "s", "hw": "m", "run": "2026-01-01 00:00", "commit": "abc"}]
    block = figure_block(meta, "../generated/figures", "alt text", "A caption.")
    assert "![alt text](../generated/figures/c.svg)" in block
    assert "[Plotted points (CSV, 2 rows)](../generated/figures/c.csv)" in block
    assert "`s` on `m`, run 2026-01-01 00:00 UTC, commit `abc`" in block
