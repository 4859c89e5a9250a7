"""The explorer's data file (actbench.report.explorer) and its vendored chart library.

The page draws only what the file holds, so the file must be the registry: every
elementwise entry, its own f and f' at the grid points, f'' consistent with f', a slider
grid that contains the default, and properties equal to the registry's at the default.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path

import pytest
import torch

from actbench import activations
from actbench.report import explorer
from actbench.report.numbers import NumberBook

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "docs/assets/vendor/plotly"
RTOL = 10 ** (1 - explorer.SIGNIFICANT_DIGITS)  # rounding to 6 digits: relative error below 5e-6


@pytest.fixture(scope="module")
def data():
    return explorer.explorer_data()


def by_name(data) -> dict:
    return {e["name"]: e for e in data["activations"]}


def test_every_registry_entry_is_present(data):
    assert [e["name"] for e in data["activations"]] == activations.elementwise_names()
    assert {e["name"] for e in data["not_elementwise"]} == set(activations.names()) - set(activations.elementwise_names())
    for entry in data["activations"]:
        spec = activations.get(entry["name"])
        assert (entry["label"], entry["colour"]) == (spec.label, spec.colour)  # the site's one colour per entry


def test_grid_and_sizes(data):
    x = data["x"]
    assert len(x) == explorer.GRID_POINTS and x[0] == -explorer.X_LIMIT and x[-1] == explorer.X_LIMIT
    assert 0 in x and 3 in x and -3 in x and 6 in x  # the kinks lie on the grid
    for entry in data["activations"]:
        for c in entry["curves"]:
            assert len(c["f"]) == len(c["df"]) == len(c["d2f"]) == len(x)


def test_parameter_grids_include_the_default_and_cover_every_setting(data):
    parametric = [e for e in data["activations"] if e["params"]]
    assert {e["name"] for e in parametric} == {n for n in activations.elementwise_names() if activations.get(n).params}
    for entry in parametric:
        spec = activations.get(entry["name"])
        for p in entry["params"]:
            assert p["default"] == spec.params[p["name"]]
            assert p["default"] in p["values"], (entry["name"], p)
            assert p["values"] == sorted(set(p["values"])) and len(p["values"]) >= explorer.PARAM_VALUES
        settings = [tuple(c["params"][p["name"]] for p in entry["params"]) for c in entry["curves"]]
        assert len(settings) == len(set(settings)) == math.prod(len(p["values"]) for p in entry["params"])
    assert "negative_slope" in by_name(data)["leaky_relu"]["curves"][0]["params"]
    assert {p["name"] for e in parametric for p in e["params"]} == {"negative_slope", "alpha", "beta"}


@pytest.mark.parametrize("name", activations.elementwise_names())
def test_values_equal_the_registry_at_sampled_points(data, name):
    entry, spec = by_name(data)[name], activations.get(name)
    idx = list(range(0, explorer.GRID_POINTS, 23)) + [explorer.GRID_POINTS // 2]
    x = torch.tensor([data["x"][i] for i in idx], dtype=torch.float64)
    for c in entry["curves"][:: max(1, len(entry["curves"]) // 5)] + entry["curves"][-1:]:
        for key, fn in (("f", spec.forward), ("df", spec.derivative)):
            expected = fn(x, **c["params"])
            got = torch.tensor([c[key][i] for i in idx], dtype=torch.float64)
            assert torch.allclose(got, expected, rtol=RTOL, atol=1e-12), (name, key, c["params"])


@pytest.mark.parametrize("name", ["gelu", "silu", "mish", "elu", "swish_beta", "tanh", "softplus"])
def test_second_derivative_agrees_with_differences_of_the_registry_derivative(data, name):
    entry, spec = by_name(data)[name], activations.get(name)
    c = entry["curves"][len(entry["curves"]) // 2]
    h = 1e-5
    for i in range(7, explorer.GRID_POINTS, 41):
        x = data["x"][i]
        if x == 0:  # ELU's f' has a corner there
            continue
        t = torch.tensor([x - h, x + h], dtype=torch.float64)
        d = spec.derivative(t, **c["params"])
        numeric = (d[1] - d[0]).item() / (2 * h)
        assert c["d2f"][i] == pytest.approx(numeric, rel=1e-4, abs=1e-6), (name, x)


def test_second_derivative_of_piecewise_linear_units_is_zero(data):
    for name in ("relu", "relu6", "leaky_relu", "prelu"):
        assert all(v == 0 for c in by_name(data)[name]["curves"] for v in c["d2f"]), name


def test_properties_at_the_default_are_the_registry_properties(data):
    for entry in data["activations"]:
        spec = activations.get(entry["name"])
        default = next(c for c in entry["curves"] if c["params"] == spec.params)
        props = {p["key"]: p for p in default["properties"]}
        for key in ("gauss_mean", "gauss_var", "derivative_at_0", "monotonic"):
            assert props[key]["value"] == spec.properties[key], (entry["name"], key)
        assert {"range_low", "range_high", "zero_centered"} <= set(props)


def test_defaults_carry_the_shapes_study_numbers_when_the_report_has_them():
    """With the shapes study's numbers in the book, the default setting shows those (the
    activations page's table), not a recomputation; other settings are computed."""
    book = NumberBook()
    book.add("shapes.elu.gauss_mean", 0.123, exact=True)
    book.add("shapes.elu.range_high", float("inf"), exact=True)
    book.add("shapes.elu.monotonic", True, exact=True)
    curves = explorer.entry_data("elu", explorer.x_grid(), book)["curves"]
    props = {c["params"]["alpha"]: {p["key"]: p["value"] for p in c["properties"]} for c in curves}
    assert props[1.0] == {"gauss_mean": 0.123, "range_high": math.inf, "monotonic": True}
    assert props[1.5]["gauss_mean"] != 0.123 and "gauss_var" in props[1.5]


def test_properties_follow_the_parameter(data):
    """A slider must change the properties too: LeakyReLU's f'(0) convention and
    E f(z) move with the slope; Swish-beta's E f(z) grows with beta."""
    curves = by_name(data)["swish_beta"]["curves"]
    means = [next(p["value"] for p in c["properties"] if p["key"] == "gauss_mean") for c in curves]
    assert means == sorted(means) and means[0] < means[-1]
    leaky = by_name(data)["leaky_relu"]["curves"]
    low = [next(p["value"] for p in c["properties"] if p["key"] == "range_low") for c in leaky]
    assert low[0] == 0 and all(v == -math.inf for v in low[1:])  # slope 0 is ReLU, bounded below


def test_build_writes_compact_json_and_its_numbers(tmp_path):
    book = NumberBook()
    explorer.build(tmp_path / "results", tmp_path, book)
    path = tmp_path / explorer.FILE_NAME
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text  # browsers' JSON.parse rejects them
    loaded = json.loads(text)
    assert len(loaded["activations"]) == len(activations.elementwise_names())
    numbers = book.as_dict()["numbers"]
    assert numbers["explorer.grid_points"]["value"] == explorer.GRID_POINTS
    assert numbers["explorer.size_kib"]["value"] == pytest.approx(len(text.encode()) / 1024)
    assert len(text.encode()) < 2 * 2**20, "explorer.json should stay small"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # atomic write left nothing


def test_rounding_keeps_digits_and_refuses_non_finite():
    assert explorer.rounded(torch.tensor([-0.0, 2.0, 1 / 3, -1e-9])) == [0, 2, 0.333333, -1e-09]
    with pytest.raises(ValueError, match="non-finite"):
        explorer.rounded(torch.tensor([math.inf]))


def test_too_many_parameter_settings_are_refused(monkeypatch):
    monkeypatch.setattr(explorer, "MAX_SETTINGS", 5)
    with pytest.raises(ValueError, match="parameter settings"):
        explorer.entry_data("elu", explorer.x_grid())


def test_unlisted_parameter_gets_a_range_around_its_default():
    values = explorer.param_values("an_extension", "gamma", 0.3)
    assert 0.3 in values and values[0] == 0 and values[-1] == pytest.approx(0.6)
    assert explorer.param_values("an_extension", "gamma", 0.0)[0] == -1


def test_vendored_plotly_is_documented_and_unchanged():
    bundle = VENDOR / "plotly.min.js"
    readme = (VENDOR / "README.md").read_text()
    version = re.search(r"plotly\.js v(\d+\.\d+\.\d+)", bundle.read_text()[:300])
    assert version and f"**{version.group(1)}**" in readme
    assert hashlib.sha256(bundle.read_bytes()).hexdigest() in readme
    assert "MIT" in readme and (VENDOR / "LICENSE").read_text().startswith("MIT License")
    assert bundle.stat().st_size < 6 * 2**20, "the wheel's bundle is about 4.8 MB"
