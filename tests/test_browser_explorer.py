"""The activation explorer in headless Chromium (fixtures of test_browser.py): it plots
what the reader ticks, a slider changes the curve to the file's curve for that value,
the cursor's readout shows the file's values, and the page loads nothing from outside.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from chromium import find_chromium
from test_browser import FIT_CHECK, OUTPUT, browser, server, set_width, url_of  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="chromium not installed (.ci/run installs it)")

WAIT_READY = """new Promise((done, fail) => { const t0 = Date.now(); (function wait() {
    const root = document.getElementById('explorer');
    if (root.dataset.ready) return done(true);
    if (root.dataset.error) return fail(new Error(root.dataset.error));
    if (Date.now() - t0 > 15000) return fail(new Error('explorer never got ready'));
    setTimeout(wait, 50); })(); })"""

# Each trace of the f chart: which entry (meta), its legend name and its y values.
TRACES = """Array.from(document.getElementById('explorer-plot-f').data).map(t =>
    ({meta: t.meta, name: t.name, x: Array.from(t.x), y: Array.from(t.y)}))"""


@pytest.fixture(scope="module")
def data(server):
    site, _ = server
    return json.loads((site.site / "generated" / "explorer.json").read_text())


def entry(data, name):
    return next(e for e in data["activations"] if e["name"] == name)


def default_curve(e):
    return next(c for c in e["curves"] if all(c["params"][p["name"]] == p["default"] for p in e["params"]))


def open_explorer(server, browser) -> int:
    _, base = server
    since = browser.open(url_of(base, "explorer.md"))
    browser.evaluate(WAIT_READY, timeout=30)
    return since


def tick(browser, name: str) -> None:
    browser.evaluate(f"document.querySelector('#explorer input[name=activation][value={name}]').click()")


def test_explorer_plots_a_chosen_activation(server, browser, data):
    since = open_explorer(server, browser)
    tick(browser, "elu")
    traces = {t["meta"]: t for t in browser.evaluate(TRACES)}
    assert "elu" in traces, traces.keys()
    elu = entry(data, "elu")
    assert traces["elu"]["name"] == f"{elu['label']} (α = 1)"
    # The plotted points are the file's points, for the visible range.
    xs = traces["elu"]["x"]
    i0 = data["x"].index(xs[0])
    assert traces["elu"]["y"] == default_curve(elu)["f"][i0:i0 + len(xs)]
    # Unticking removes it again.
    tick(browser, "elu")
    assert "elu" not in {t["meta"] for t in browser.evaluate(TRACES)}
    assert browser.console_errors(since) == []
    browser.screenshot(OUTPUT / "explorer.png")


def test_slider_changes_the_curve_and_the_properties(server, browser, data):
    open_explorer(server, browser)  # LeakyReLU is ticked on arrival
    before = {t["meta"]: t for t in browser.evaluate(TRACES)}["leaky_relu"]
    leaky = entry(data, "leaky_relu")
    values = leaky["params"][0]["values"]
    target = len(values) - 1
    props_before = browser.evaluate("document.getElementById('explorer-properties').textContent")
    browser.evaluate(f"""(() => {{ const s = document.querySelector('input[data-activation=leaky_relu][data-param=negative_slope]');
        s.value = {target}; s.dispatchEvent(new Event('input')); }})()""")
    after = {t["meta"]: t for t in browser.evaluate(TRACES)}["leaky_relu"]
    assert after["y"] != before["y"]
    expected = next(c for c in leaky["curves"] if c["params"]["negative_slope"] == values[target])
    i0 = data["x"].index(after["x"][0])
    assert after["y"] == expected["f"][i0:i0 + len(after["x"])]
    assert after["name"] == f"LeakyReLU (slope = {values[target]:g})"
    assert browser.evaluate("document.getElementById('explorer-properties').textContent") != props_before


def test_hover_reads_out_the_values_under_the_cursor(server, browser, data):
    open_explorer(server, browser)
    box = browser.evaluate("""(() => { const d = document.querySelector('#explorer-plot-f .nsewdrag');
        d.scrollIntoView({block: 'center'}); const r = d.getBoundingClientRect();
        return {x: r.left + 0.75 * r.width, y: r.top + r.height / 2}; })()""")
    browser.call("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": box["x"], "y": box["y"]})
    browser.evaluate("""new Promise((done, fail) => { const t0 = Date.now(); (function wait() {
        if (document.getElementById('explorer-readout').dataset.index) return done(true);
        if (Date.now() - t0 > 5000) return fail(new Error('no readout after hovering'));
        setTimeout(wait, 50); })(); })""")
    readout = browser.evaluate("""(() => { const box = document.getElementById('explorer-readout');
        return {index: Number(box.dataset.index), text: box.querySelector('strong').textContent,
                rows: Array.from(box.querySelectorAll('tr[data-activation]')).map(tr =>
                    [tr.dataset.activation, Array.from(tr.querySelectorAll('td[data-quantity]')).map(td => td.textContent)])};
    })()""")
    i = readout["index"]
    assert 0 < data["x"][i] < 4  # three quarters across the first view's [-4, 4]
    assert readout["text"].startswith("x = ")
    rows = dict(readout["rows"])
    assert set(rows) == {"relu", "leaky_relu", "gelu"}  # the first selection
    gelu = default_curve(entry(data, "gelu"))
    shown_f = float(rows["gelu"][0].replace("−", "-"))
    assert shown_f == pytest.approx(gelu["f"][i], rel=1e-3)
    assert float(rows["relu"][1].replace("−", "-")) == 1  # ReLU's f' on the positive side


def test_explorer_loads_nothing_from_outside_and_plotly_only_here(server, browser):
    site, _ = server
    open_explorer(server, browser)
    urls = browser.evaluate("""(() => [
        ...Array.from(document.scripts).map(s => s.src).filter(Boolean),
        ...Array.from(document.querySelectorAll('link[rel=stylesheet]')).map(l => l.href),
        ...performance.getEntriesByType('resource').map(e => e.name)])()""")
    origin = browser.evaluate("location.origin")
    outside = [u for u in urls if not u.startswith("data:") and f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" != origin]
    assert outside == [], outside
    assert any(u.endswith("assets/vendor/plotly/plotly.min.js") for u in urls)
    assert any(u.endswith("generated/explorer.json") for u in urls)
    # The 4.8 MB library is loaded by this page only.
    assert "plotly.min.js" not in site.page("activations.md") and "plotly.min.js" not in site.page("index.md")


@pytest.mark.parametrize("width", [1400, 390])
def test_explorer_fits_the_column(server, browser, width):
    set_width(browser, width)
    try:
        open_explorer(server, browser)
        problems = browser.evaluate(f"{FIT_CHECK}({width})")
    finally:
        browser.call("Emulation.clearDeviceMetricsOverride")
    assert problems == [], f"explorer at {width} px: {problems}"


def test_charts_follow_the_dark_scheme(server, browser):
    """The charts take the theme's text colour, and redraw when the reader switches scheme."""
    open_explorer(server, browser)
    font = "document.getElementById('explorer-plot-f').layout.font.color"
    body = "getComputedStyle(document.body).getPropertyValue('--md-default-fg-color').trim()"
    light = browser.evaluate(font)
    try:
        browser.evaluate("document.body.setAttribute('data-md-color-scheme', 'slate')")
        browser.evaluate("new Promise(done => setTimeout(done, 100))")  # the observer runs after the change
        dark = browser.evaluate(font)
        assert dark != light and dark == browser.evaluate(body)
        browser.screenshot(OUTPUT / "explorer-dark.png")
    finally:
        browser.evaluate("document.body.setAttribute('data-md-color-scheme', 'default')")
