"""The built site in a real browser: headless Chromium (Debian's `chromium`; .ci/run
installs it) against a local HTTP server, as a reader would load it.

Checks per key page: no console errors or failed loads, every image decoded, all maths
typeset by the vendored MathJax. Then one decision-tree path is clicked through to its
recommendation, and the ledger filter is used. At 1400 px and at phone width, tables
and equations fit the column or scroll in their own frame, and the ledger's claim
column stays readable. The palette toggles light/dark, verdict badges keep a 4.5:1
contrast in both, and code blocks get copy buttons. Full-page screenshots go to
test-output/ (gitignored; CI keeps them as an artifact).
"""

from __future__ import annotations

import functools
import http.server
import threading
import urllib.request

import pytest

from actbench.report.ledger_table import section_key
from actbench.verdicts import VERDICT_ORDER
from chromium import Chromium, find_chromium
from docsite import ROOT, build_site, matching_rules

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (.ci/run installs it)")
OUTPUT = ROOT / "test-output"

# Key pages: (source, must show maths). The two tutorial chapters carry most of the
# site's maths and generated figures.
PAGES = [("index.md", False), ("tutorial/01-why.md", True), ("tutorial/03-activations.md", True),
         ("activations.md", False), ("methodology.md", True), ("ledger.md", False), ("decision-tree.md", False),
         ("generated/experiments.ipynb", True), ("reproduce.md", False)]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture(scope="module")
def server():
    """`python -m http.server -d site`, in-process on a free port."""
    site = build_site()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site.site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield site, f"http://127.0.0.1:{httpd.server_port}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    OUTPUT.mkdir(exist_ok=True)
    chromium = Chromium(CHROMIUM, OUTPUT / "chromium.log")
    yield chromium
    chromium.close()


def url_of(base: str, src: str) -> str:
    stem = src.rsplit(".", 1)[0]
    return base if stem == "index" else f"{base}{stem}/"


def wait_for_maths(browser) -> None:
    browser.evaluate("window.MathJax && MathJax.startup ? MathJax.startup.promise : null", timeout=30)


@pytest.mark.parametrize("src, has_maths", PAGES, ids=[p for p, _ in PAGES])
def test_page_loads_cleanly(server, browser, src, has_maths):
    _, base = server
    since = browser.open(url_of(base, src))
    wait_for_maths(browser)
    # Images: wait until each has finished loading, then require a decoded size.
    images = browser.evaluate("""Promise.all(Array.from(document.images).map(img => img.complete ? null :
        new Promise(done => { img.onload = img.onerror = done; }))).then(() =>
        Array.from(document.images).map(img => [img.currentSrc.slice(0, 80), img.naturalWidth]))""")
    assert all(width > 0 for _, width in images), f"images not loaded on {src}: {images}"
    maths = browser.evaluate("""(() => {
        const all = Array.from(document.querySelectorAll('.arithmatex'));
        return {total: all.length,
                typeset: all.filter(e => e.querySelector('mjx-container')).length,
                errors: document.querySelectorAll('mjx-merror').length};
    })()""")
    assert maths["typeset"] == maths["total"] and maths["errors"] == 0, f"maths on {src}: {maths}"
    if has_maths:
        assert maths["total"] > 0, f"{src} should show maths"
    assert browser.console_errors(since) == [], src
    (OUTPUT / "pages").mkdir(exist_ok=True)
    browser.screenshot(OUTPUT / "pages" / (src.rsplit(".", 1)[0].replace("/", "-") + ".png"))


def test_decision_tree_path_reaches_a_recommendation(server, browser):
    site, base = server
    since = browser.open(url_of(base, "decision-tree.md"))
    browser.evaluate("""new Promise((done, fail) => { const t0 = Date.now(); (function wait() {
        if (document.getElementById('decision-tree').dataset.ready) return done(true);
        if (Date.now() - t0 > 10000) return fail(new Error('decision data never loaded'));
        setTimeout(wait, 50); })(); })""")
    chosen = {"architecture": ["cnn"], "depth": ["deep"], "constraints": [], "symptoms": ["dead"]}
    for name, values in chosen.items():
        for value in values:
            browser.evaluate(f"document.querySelector('input[name={name}][value={value}]').click()")
    browser.evaluate("document.getElementById('dt-recommend').click()")
    result = browser.evaluate("""(() => {
        const box = document.getElementById('dt-result');
        return {rules: box.dataset.rules || '',
                recommendation: (box.querySelector('.dt-recommendation') || {}).textContent || '',
                claims: Array.from(box.querySelectorAll('li[data-claim]')).map(li =>
                    [li.dataset.claim, li.dataset.verdict, li.classList.contains('dt-disagrees')]),
                links: Array.from(box.querySelectorAll('a[data-page]')).map(a => a.href)};
    })()""")
    # The page applies the same rules as the data file says, in the same order.
    assert result["rules"].split() == matching_rules(chosen)
    assert result["recommendation"].startswith("Recommended: LeakyReLU")
    verdicts: dict[str, list[str]] = {}
    for row in site.claims()["claims"]:
        verdicts.setdefault(row["id"], []).append(row["verdict"])
    order = list(VERDICT_ORDER)
    assert result["claims"], "no claims listed under the recommendation"
    for claim_id, shown, flagged in result["claims"]:
        worst = min(verdicts[claim_id], key=order.index)
        assert shown == worst and flagged == (worst == "refuted"), claim_id
    for link in result["links"]:  # evidence links point at pages of this build
        assert urllib.request.urlopen(link).status == 200, link
    assert browser.console_errors(since) == []
    browser.screenshot(OUTPUT / "decision-tree.png")
    assert (OUTPUT / "decision-tree.png").stat().st_size > 20_000


def test_ledger_filters_by_verdict_and_sorts(server, browser):
    site, base = server
    since = browser.open(url_of(base, "ledger.md"))
    refuted = {r["id"] for r in site.claims()["claims"] if r["verdict"] == "refuted"}
    shown = browser.evaluate("""(() => {
        const select = document.getElementById('ledger-verdict');
        select.value = 'refuted';
        select.dispatchEvent(new Event('change'));
        return Array.from(document.querySelectorAll('#ledger-table tbody tr'))
            .filter(tr => !tr.hidden).map(tr => tr.id.replace('claim-', ''));
    })()""")
    assert set(shown) == refuted
    first_sections = browser.evaluate("""(() => {
        document.getElementById('ledger-verdict').value = '';
        document.getElementById('ledger-verdict').dispatchEvent(new Event('change'));
        const header = document.querySelectorAll('#ledger-table thead .ledger-sort')[1];
        header.click(); header.click();   // section, descending
        return Array.from(document.querySelectorAll('#ledger-table tbody tr')).slice(0, 3)
            .map(tr => tr.dataset.section);
    })()""")
    last_section = max({r["section"] for r in site.claims()["claims"]}, key=section_key)
    assert first_sections[0] == last_section
    assert browser.console_errors(since) == []
    browser.screenshot(OUTPUT / "ledger.png")


# ── pages that fit, at desktop and phone width ───────────────────────────────────

WIDE_PAGES = ["tutorial/01-why.md", "tutorial/02-properties.md", "tutorial/03-activations.md", "tutorial/07-advanced.md",
              "tutorial/08-summary.md", "ablations.md", "kernels.md", "ledger.md", "methodology.md"]

# For every table and equation in the main column: either it lies inside the column, or
# the nearest box that scrolls sideways (itself or an ancestor) does; nothing on the way
# hides what overflows it; and the page as a whole never scrolls sideways.
FIT_CHECK = """((viewport) => {
  const column = document.querySelector('.md-content').getBoundingClientRect();
  const inside = r => r.left >= column.left - 1 && r.right <= column.right + 1;
  const problems = [];
  if (document.documentElement.scrollWidth > viewport + 1)
    problems.push('page scrolls sideways: ' + document.documentElement.scrollWidth + ' px > ' + viewport + ' px');
  const items = document.querySelectorAll('.md-content table, .md-content div.arithmatex, ' +
                                          '.md-content span.arithmatex > mjx-container, .md-content pre');
  items.forEach(el => {
    if (!el.getClientRects().length || !el.getBoundingClientRect().width) return;  // in a closed tab or box
    const name = el.tagName.toLowerCase() + ' "' + el.textContent.trim().replace(/\\s+/g, ' ').slice(0, 50) + '"';
    // Up from the element: the first box that can scroll sideways and lies inside the
    // column is its frame. A box that hides overflow on the way clips it.
    for (let box = el; box; box = box.parentElement) {
      const style = getComputedStyle(box);
      const block = !['table', 'inline-table', 'inline'].includes(style.display);  // overflow is ignored there
      const r = box.getBoundingClientRect();
      if (block && ['auto', 'scroll'].includes(style.overflowX) && inside(r)) return;
      if (block && ['hidden', 'clip'].includes(style.overflowX) && box.scrollWidth > box.clientWidth + 1) {
        problems.push(name + ': clipped by ' + box.tagName.toLowerCase() + '.' + box.className);
        return;
      }
      if (box.classList.contains('md-content')) break;
    }
    const r = el.getBoundingClientRect();
    if (!inside(r)) problems.push(name + ': runs past the column (' + Math.round(r.left) + '–' + Math.round(r.right) +
                                  ' px; column ' + Math.round(column.left) + '–' + Math.round(column.right) + ' px)');
  });
  return problems;
})"""


def set_width(browser, width: int) -> None:
    browser.call("Emulation.setDeviceMetricsOverride",
                 {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600})


@pytest.mark.parametrize("width", [1400, 390])
@pytest.mark.parametrize("src", WIDE_PAGES)
def test_tables_and_equations_fit_or_scroll(server, browser, src, width):
    _, base = server
    set_width(browser, width)
    try:
        browser.open(url_of(base, src))
        wait_for_maths(browser)
        problems = browser.evaluate(f"{FIT_CHECK}({width})")
    finally:
        browser.call("Emulation.clearDeviceMetricsOverride")
    assert problems == [], f"{src} at {width} px: {problems}"


@pytest.mark.parametrize("width", [1400, 390])
def test_ledger_claims_readable_and_every_column_reachable(server, browser, width):
    """The claim column keeps a readable width; at phone width the table scrolls in its
    frame, and scrolling it to the end brings the verdict column into view."""
    _, base = server
    set_width(browser, width)
    try:
        browser.open(url_of(base, "ledger.md"))
        result = browser.evaluate("""(() => {
            const table = document.getElementById('ledger-table');
            const column = document.querySelector('.md-content').getBoundingClientRect();
            const isFrame = box => { const s = getComputedStyle(box);  // scrolls sideways and fits the column
                return ['auto', 'scroll'].includes(s.overflowX) && !['table', 'inline-table'].includes(s.display) &&
                       box.getBoundingClientRect().right <= column.right + 1; };
            let frame = table;
            while (frame && !isFrame(frame)) frame = frame.parentElement;
            const claim = table.tBodies[0].rows[0].cells[2].getBoundingClientRect().width;
            const scrolls = frame ? frame.scrollWidth > frame.clientWidth + 1 : false;
            if (frame) frame.scrollLeft = frame.scrollWidth;
            const verdict = table.tBodies[0].rows[0].cells[6].getBoundingClientRect();
            return {claim, scrolls, hasFrame: !!frame, verdictRight: verdict.right, verdictLeft: verdict.left,
                    page: document.documentElement.scrollWidth};
        })()""")
    finally:
        browser.call("Emulation.clearDeviceMetricsOverride")
    assert result["claim"] >= (220 if width >= 1000 else 150), result
    assert result["page"] <= width + 1, result  # the page itself never scrolls sideways
    assert result["hasFrame"], result
    assert 0 <= result["verdictLeft"] and result["verdictRight"] <= width + 1, result
    if width < 600:
        assert result["scrolls"], result
    else:  # at desktop width every column fits without scrolling
        assert not result["scrolls"], result


# ── dark mode ────────────────────────────────────────────────────────────────────

CONTRAST = """(() => {
  const rgba = c => { const m = c.match(/[\\d.]+/g).map(Number); return [m[0], m[1], m[2], m.length > 3 ? m[3] : 1]; };
  const over = (top, below) => top.slice(0, 3).map((v, i) => v * top[3] + below[i] * (1 - top[3]));
  const lum = c => { const l = c.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
                     return 0.2126 * l[0] + 0.7152 * l[1] + 0.0722 * l[2]; };
  const page = rgba(getComputedStyle(document.body).backgroundColor);
  const out = {};
  document.querySelectorAll('.ledger-verdict').forEach(el => {
    const style = getComputedStyle(el);
    const bg = over(rgba(style.backgroundColor), page.slice(0, 3));
    const fg = over(rgba(style.color), bg);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    const key = el.dataset.verdict;
    out[key] = Math.min(out[key] === undefined ? Infinity : out[key], ratio);
  });
  return out;
})()"""


def test_palette_toggle_and_readable_badges_in_both_schemes(server, browser):
    """The header toggle switches light and dark; verdict badges (plain on the ledger,
    links in claim tables) keep a contrast of at least 4.5:1 in both schemes."""
    site, base = server
    verdicts = {r["verdict"] for r in site.claims()["claims"]}
    since = browser.open(url_of(base, "ledger.md"))
    scheme = "document.body.getAttribute('data-md-color-scheme')"
    toggle = "document.querySelector('form[data-md-component=palette] label:not([hidden])').click()"
    schemes = [browser.evaluate(scheme)]
    for _ in range(2):  # to the other scheme and back (the choice is remembered across pages)
        browser.evaluate(toggle)
        schemes.append(browser.evaluate(scheme))
    assert schemes == ["default", "slate", "default"], schemes
    errors = browser.console_errors(since)
    for src in ("ledger.md", "tutorial/06-mistakes.md"):
        since = browser.open(url_of(base, src))
        for name in ("default", "slate"):
            # Links fade their colour over a short transition: measure once it has ended.
            browser.evaluate(f"document.body.setAttribute('data-md-color-scheme', '{name}'); "
                             "new Promise(done => setTimeout(done, 500))")
            ratios = browser.evaluate(CONTRAST)
            assert ratios and set(ratios) <= verdicts, (src, name, ratios)
            if src == "ledger.md":  # the ledger shows every verdict there is
                assert set(ratios) == verdicts, (name, ratios)
            assert all(r >= 4.5 for r in ratios.values()), f"badge contrast on {src} in {name}: {ratios}"
        errors += browser.console_errors(since)
    assert errors == []


def test_code_blocks_have_copy_buttons(server, browser):
    _, base = server
    browser.open(url_of(base, "custom-activation.md"))
    counts = browser.evaluate("""({blocks: document.querySelectorAll('.md-content pre > code').length,
        buttons: document.querySelectorAll('.md-content pre button[data-md-type=copy], .md-content .md-code__button[data-md-type=copy]').length})""")
    assert counts["blocks"] > 0 and counts["buttons"] == counts["blocks"], counts


# Every page that shows generated figures (issue 15: evidence beside the text).
FIGURE_PAGES = [f"tutorial/{c}" for c in ("01-why.md", "02-properties.md", "03-activations.md", "04-decision.md",
                                          "05-experiments.md", "06-mistakes.md", "07-advanced.md", "08-summary.md")] + [
    "activations.md", "kernels.md", "experiments.md", "dead-units.md", "necessity.md", "ablations.md"]

FIGURES = """Promise.all(Array.from(document.images).map(img => img.complete ? null :
    new Promise(done => { img.onload = img.onerror = done; }))).then(() =>
    Array.from(document.querySelectorAll('.md-content figure.actbench-figure')).map(fig => {
        const img = fig.querySelector('img'), data = fig.querySelector('figcaption a.figure-data');
        return {src: img ? img.currentSrc : null, natural: img ? img.naturalWidth : 0,
                shown: img && img.getClientRects().length ? img.getBoundingClientRect().width : null,
                zoom: !!(img && img.closest('a.glightbox')), data: data ? data.href : null,
                caption: fig.querySelector('figcaption').textContent};
    }))"""


@pytest.mark.parametrize("src", FIGURE_PAGES)
def test_every_figure_loads_with_its_data(server, browser, src):
    """Each figure decodes, is shown at (nearly) its drawn size at 1400 px, zooms on click,
    names the machine and run in its caption, and links a CSV that the server returns
    with a header row and data."""
    site, base = server
    set_width(browser, 1400)
    try:
        browser.open(url_of(base, src))
        figures = browser.evaluate(FIGURES)
    finally:
        browser.call("Emulation.clearDeviceMetricsOverride")
    assert figures, f"{src} shows no generated figure"
    machines = {p.name for p in (ROOT / "results").iterdir() if p.is_dir()}
    for fig in figures:
        assert fig["natural"] > 0, f"{src}: figure not loaded: {fig['src']}"
        # a figure in a closed content tab has no box; an open one is drawn for the column
        if fig["shown"] is not None:
            assert fig["shown"] >= 0.9 * fig["natural"], f"{src}: {fig['src']} shrunk to {fig['shown']} px"
        assert fig["zoom"], f"{src}: {fig['src']} has no click-to-zoom link"
        assert any(m in fig["caption"] for m in machines) and "commit" in fig["caption"], fig["caption"]
        assert fig["data"] and fig["data"].endswith(".csv"), f"{src}: {fig['src']} has no CSV link"
        with urllib.request.urlopen(fig["data"]) as reply:
            assert reply.status == 200
            lines = reply.read().decode().splitlines()
        assert len(lines) >= 2, f"{fig['data']} is empty"
        header = lines[0].split(",")
        assert all(h and not h.replace(".", "").replace("-", "").isdigit() for h in header), \
            f"{fig['data']} has no header row: {lines[0]}"


def test_a_figure_opens_in_the_lightbox(server, browser):
    _, base = server
    since = browser.open(url_of(base, "tutorial/05-experiments.md"))
    opened = browser.evaluate("""new Promise(done => {
        document.querySelector('figure.actbench-figure a.glightbox').click();
        const t0 = Date.now();
        (function wait() { const box = document.querySelector('.glightbox-container .gslide-image img');
            if (box && box.complete && box.naturalWidth > 0) return done(true);
            if (Date.now() - t0 > 5000) return done(false);
            setTimeout(wait, 50); })(); })""")
    assert opened, "clicking a figure did not show it in the lightbox"
    assert browser.console_errors(since) == []
