"""The built site in a real browser: headless Chromium (Debian's `chromium`; .ci/run
installs it) against a local HTTP server, as a reader would load it.

Checks per key page: no console errors or failed loads, every image decoded, all maths
typeset by the vendored MathJax. Then one decision-tree path is clicked through to its
recommendation, and the ledger filter is used. Full-page screenshots go to
test-output/ (gitignored; CI keeps them as an artifact).
"""

from __future__ import annotations

import functools
import http.server
import threading
import urllib.request

import pytest

from actbench.report.ledger_table import section_key
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
    order = ["refuted", "inconclusive", "confirmed", "not testable", "pending"]
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
