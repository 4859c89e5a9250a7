"""The documentation site, built from the committed results exactly as CI builds it.

Strict build; no template leftovers; every number the prose uses is produced by the
report, shown on its page, and (for the shapes study) equal to its value recomputed
from the parquet; the ledger, decision-tree and notebook agree with the data; the
tutorial's outline maps to pages and headings; nothing is loaded from outside the site.
"""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from actbench.claims import load_claims
from actbench.report import ledger_table, machines
from actbench.report.numbers import NumberBook
from actbench.tutorial import load_outline
import docsite
from docsite import ROOT, build_site, decision_tree, matching_rules

NUM_CALL = re.compile(r"""\bnum\(\s*["']([^"']+)["']\s*\)""")
DOC_PAGES = sorted(p for p in (ROOT / "docs").rglob("*.md")
                   if "generated" not in p.parts and "overrides" not in p.parts and "assets" not in p.parts)


@pytest.fixture(scope="module")
def site():
    return build_site()


def numbers_used_in_prose() -> dict[str, list[str]]:
    """num("key") calls in the docs sources: key -> pages (relative to docs/) that use it."""
    used: dict[str, list[str]] = {}
    for page in DOC_PAGES:
        for key in NUM_CALL.findall(page.read_text()):
            used.setdefault(key, []).append(page.relative_to(ROOT / "docs").as_posix())
    return used


# ── the build ────────────────────────────────────────────────────────────────────

def test_strict_build_has_no_warnings(site):
    assert "WARNING" not in site.log, site.log
    assert (site.site / "index.html").exists()


def test_built_html_has_no_template_leftovers(site):
    pages = sorted(site.site.rglob("*.html"))
    assert len(pages) >= 6
    for page in pages:
        text = page.read_text()
        for bad in ("{{", "{%", "Macro Rendering Error", "Traceback"):
            assert bad not in text, f"{bad!r} in {page.relative_to(site.site)}"


def test_site_loads_nothing_from_outside():
    """Scripts, styles and fonts come from the site itself (MathJax is vendored)."""
    site = build_site()
    external = re.compile(r"""<(?:script|link|img)\b[^>]*\b(?:src|href)=["'](?:https?:)?//""", re.I)
    for page in site.site.rglob("*.html"):
        for tag in external.findall(page.read_text()):
            if "<link" in tag.lower() and "stylesheet" not in tag.lower():
                continue  # canonical / repository links are not loads
            pytest.fail(f"{page.relative_to(site.site)} loads an external resource: {tag}")


def test_build_settings_are_strict_and_offline():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    assert config["strict"] is True
    assert config["theme"]["font"] is False
    assert config["validation"]["anchors"] == "warn" and config["validation"]["unrecognized_links"] == "warn"
    plugins = {next(iter(p)) if isinstance(p, dict) else p: (p[next(iter(p))] if isinstance(p, dict) else {})
               for p in config["plugins"]}
    assert plugins["macros"]["on_undefined"] == "strict" and plugins["macros"]["on_error_fail"] is True
    assert plugins["mkdocs-jupyter"]["execute"] is False and plugins["mkdocs-jupyter"]["allow_errors"] is False
    assert not {"social", "privacy", "offline"} & set(plugins), "plugins that fetch from the network"
    assert 'mkdocs>=1.6,<2' in (ROOT / "pyproject.toml").read_text()


def test_vendored_mathjax_is_small_and_documented():
    folder = ROOT / "docs/assets/mathjax"
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert size < 3 * 2**20, f"vendored MathJax is {size / 2**20:.1f} MiB"
    version = re.search(r'VERSION="(\d+\.\d+\.\d+)"|version:"(\d+\.\d+\.\d+)"',
                        (folder / "tex-chtml.js").read_text())
    assert version, "no version string in tex-chtml.js"
    readme = (folder / "README.md").read_text()
    assert f"**{version.group(1) or version.group(2)}**" in readme and "Apache-2.0" in readme
    assert (folder / "LICENSE").read_text().lstrip().startswith("Apache License")


# ── live numbers ─────────────────────────────────────────────────────────────────

def test_every_number_in_the_prose_is_generated_and_shown(site):
    """Each num() a page rendered (literal or computed key) is in numbers.json, comes
    from a committed results file, and its text is on that page."""
    numbers = site.numbers()
    rendered = [r for r in site.rendered_numbers() if r["macro"] == "num"]
    assert rendered, "no page rendered a number"
    for call in rendered:
        key, page = call["key"], call["page"]
        assert key in numbers, f"{key} (on {page}) is not in numbers.json"
        entry = numbers[key]
        if re.fullmatch(r"results/[^/]+/\w+\.parquet", entry["source"]):  # provenance: a results file
            source = docsite.RESULTS / Path(entry["source"]).relative_to("results")
            assert source.exists(), f"{key}: source {entry['source']} missing"
        assert html.escape(entry["text"], quote=False) in site.page(page), f"{key} not shown on {page}"


def test_literal_number_keys_in_the_sources_exist(site):
    """Also the num("...") keys written out in the sources, rendered or not (e.g. in a
    branch this build did not take)."""
    numbers = site.numbers()
    for key, pages in numbers_used_in_prose().items():
        assert key in numbers, f"{key} (used in {pages}) is not in numbers.json"


def _shapes_value(shapes: pd.DataFrame, key: str) -> float:
    """Recompute a shapes.* number from the parquet: shapes.<act>.<quantity>[@<x>]."""
    _, activation, rest = key.split(".", 2)
    quantity, _, x = rest.partition("@")
    rows = shapes[(shapes["activation"] == activation) & (shapes["quantity"] == quantity)]
    rows = rows[rows["probe"] & (rows["x"] == float(x))] if x else rows[rows["x"].isna()]
    assert len(rows) == 1, f"{key}: {len(rows)} rows in the parquet"
    return float(rows["value"].iloc[0])


def test_shapes_numbers_equal_their_parquet_values(site):
    numbers = site.numbers()
    keys = [k for k in numbers if k.startswith("shapes.")]
    assert keys, "no shapes numbers"
    hw = numbers[keys[0]]["hw_id"]
    shapes = pd.read_parquet(docsite.RESULTS / hw / "shapes.parquet")
    used = {r["key"] for r in site.rendered_numbers()}
    # Every shapes number the pages show, plus a fixed sample of the others.
    checked = sorted(k for k in keys if k in used) + sorted(k for k in keys if k not in used)[::5]
    for key in checked:
        entry = numbers[key]
        if isinstance(entry["value"], bool):
            continue
        truth = _shapes_value(shapes, key)
        value = float(entry["value"])  # ±inf is stored as the string "inf" / "-inf"
        assert value == truth or value == pytest.approx(truth, rel=1e-12, abs=1e-300), key
        if not key.startswith("shapes.identity."):  # identity constants use a shorter format
            formatter = NumberBook()
            formatter.add(key, truth, fmt=".4g")  # the shapes report's format for these keys
            assert entry["text"] == formatter.get(key)["text"], key


# ── ledger, home page counts ─────────────────────────────────────────────────────

def test_ledger_page_lists_every_claim_with_its_verdicts(site):
    page = site.page("ledger.md")
    claims = site.claims()
    rows = dict(re.findall(r'<tr id="claim-([^"]+)" data-section="[^"]*" data-verdicts="([^"]*)"', page))
    assert set(rows) == {c["id"] for c in load_claims()}
    for claim_id, verdicts in rows.items():
        expected = {r["verdict"] for r in claims["claims"] if r["id"] == claim_id}
        assert set(verdicts.split(",")) == expected, claim_id


def test_claim_tables_link_to_ledger_rows_with_their_verdicts(site):
    """claims_table(): each badge's link resolves to the claim's row on the built ledger page,
    and the badge shows a verdict that row has."""
    ledger = site.site / "ledger" / "index.html"
    anchors = set(re.findall(r'<tr id="claim-([^"]+)"', ledger.read_text()))
    verdicts = {}
    for r in site.claims()["claims"]:
        verdicts.setdefault(r["id"], set()).add(r["verdict"])
    badges = 0
    for page in site.site.rglob("*.html"):
        for verdict, href, shown in re.findall(
                r'<a class="ledger-verdict" data-verdict="([^"]+)" href="([^"]+)"[^>]*>([^<]+)</a>', page.read_text()):
            target, claim_id = href.split("#claim-")
            assert (page.parent / target / "index.html").resolve() == ledger.resolve(), (page, href)
            assert claim_id in anchors, (page, claim_id)
            assert verdict in verdicts[claim_id] and shown.startswith(verdict), (page, claim_id, verdict)
            badges += 1
    assert badges >= 20


# ── claim tables instead of runs of boxes (issue 15) ─────────────────────────────

MAX_CLAIM_BOXES = 3  # a page checks its claims in tables and inline badges; a box is the exception
CLAIM_BOX = re.compile(r'class="admonition-title">Claim check:')
# The claims each page showed in a box before runs of boxes became tables: none may be dropped.
BOXED_BEFORE = json.loads((ROOT / "tests/data/claim_boxes_before.json").read_text())


def _load_macros(tmp_path, monkeypatch, rows, page_url="tutorial/02-properties/"):
    """docs/macros.py's macros over a hand-made ledger, without a site build."""
    import importlib.util
    from types import SimpleNamespace

    spec = importlib.util.spec_from_file_location("macros_under_test", ROOT / "docs/macros.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (tmp_path / "numbers.json").write_text(json.dumps({"numbers": {}, "machines": []}))
    (tmp_path / "claims.json").write_text(json.dumps({"counts": {}, "claims": rows}))
    monkeypatch.setattr(module, "GENERATED", tmp_path)
    env = SimpleNamespace(macros={}, conf={"use_directory_urls": True}, page=SimpleNamespace(url=page_url))
    env.macro = lambda f: env.macros.setdefault(f.__name__, f)
    module.define_env(env)
    return env.macros


def _claim_row(claim_id, verdict="confirmed", hw="m1", **extra):
    return {"id": claim_id, "section": "2.3", "claim": f"claim {claim_id}", "claimed": 0.25, "study": "s",
            "metric": "m", "rule": {"kind": "in_range"}, "rule_text": "r", "reason": "", "hw_id": hw,
            "measured_text": "0.25 [0.24, 0.26], n = 5", "verdict": verdict, "why": f"why {claim_id} <&>",
            "a_fortiori": False, "also": [], **extra}


def test_claims_table_caption_and_the_rows_shown_beside_the_decided_one(tmp_path, monkeypatch):
    regime = {"label": "regime: memory-bound (shown, not decided)", "metric": "m2", "verdict": "refuted",
              "measured_text": "1.02 [1, 1.04], n = 5", "why": "w"}
    macros = _load_macros(tmp_path, monkeypatch, [_claim_row("a", also=[regime]), _claim_row("b", "inconclusive")])
    out = macros["claims_table"]("a", "b", caption="Two claims")
    lines = out.splitlines()
    assert lines[0] == "**Two claims**" and lines[1] == "" and lines[2].startswith("| claim |")
    assert "regime: memory-bound (shown, not decided): 1.02 [1, 1.04], n = 5 → refuted" in out
    assert 'href="../../ledger/#claim-a"' in out and 'title="why a &lt;&amp;&gt;"' in out
    assert "<small>why b &lt;&amp;&gt;</small>" in out and "<small>why a" not in out  # reason under inconclusive
    assert macros["claims_table"]("a").startswith("| claim |")  # no caption: no empty paragraph
    with pytest.raises(KeyError, match="nope"):
        macros["claims_table"]("a", "nope")


def test_badge_checks_one_claim_inline_per_machine(tmp_path, monkeypatch):
    macros = _load_macros(tmp_path, monkeypatch, [_claim_row("a", "confirmed", "m1"), _claim_row("a", "refuted", "m2")],
                          page_url="")
    out = macros["badge"]("a")
    assert "\n" not in out and out.startswith('<span class="claim-inline">') and "claim a" in out
    assert "Tutorial: <strong>0.25</strong>" in out
    assert re.search(r'm1: 0\.25 \[0\.24, 0\.26\], n = 5 <a class="ledger-verdict" data-verdict="confirmed" '
                     r'href="ledger/#claim-a"', out)
    assert 'm2: 0.25 [0.24, 0.26], n = 5 <a class="ledger-verdict" data-verdict="refuted"' in out
    with pytest.raises(KeyError, match="nope"):
        macros["badge"]("nope")


def test_claim_box_counter_sees_a_rendered_box(tmp_path, monkeypatch):
    """The box count below is only a check if its pattern matches what claim() renders."""
    import markdown

    macros = _load_macros(tmp_path, monkeypatch, [_claim_row("a")])
    rendered = markdown.markdown(macros["claim"]("a") + "\n" + macros["claims_table"]("a", "a"),
                                 extensions=["admonition", "tables"])
    assert len(CLAIM_BOX.findall(rendered)) == 1


def test_pages_check_claims_in_tables_not_runs_of_boxes(site):
    counts = {}
    for page in sorted(site.site.rglob("*.html")):
        boxes = len(CLAIM_BOX.findall(page.read_text()))
        if boxes:
            counts[page.relative_to(site.site).as_posix()] = boxes
    assert all(n <= MAX_CLAIM_BOXES for n in counts.values()), f"claim boxes per page (limit {MAX_CLAIM_BOXES}): {counts}"


@pytest.mark.parametrize("src", sorted(BOXED_BEFORE))
def test_no_claim_dropped_when_boxes_became_tables(site, src):
    text = site.page(src)
    missing = [cid for cid in BOXED_BEFORE[src] if f'#claim-{cid}"' not in text and f"<code>{cid}</code>" not in text]
    assert missing == [], f"{src} no longer shows {missing}"


def test_home_page_counts_match_the_ledger(site):
    text = site.page("index.md")
    for verdict, label in [("confirmed", "confirmed"), ("refuted", "refuted"), ("pending", "not measured yet")]:
        count = site.claims()["counts"][verdict]
        assert re.search(rf"<td>{label}</td>\s*<td>{count}</td>", text), f"{verdict} count {count} not shown"


EXACT_STUDIES = {"shapes"}  # maths on a float64 grid; every other study measures something random


def test_no_decided_claim_of_a_random_quantity_lacks_an_interval(site):
    for row in site.claims()["claims"]:
        if row["verdict"] not in ("confirmed", "refuted") or row["claimed"] is None:
            continue
        assert row["measured_text"], row["id"]
        if row["n"] is None:  # exact: only computations, counts over every input and physical bounds
            assert row["method"] in ("exact", "physical lower bound"), row["id"]
        else:
            assert row["n"] >= 2 and row["interval"] is not None, f"{row['id']}: decided without an interval"
            assert row["interval"][0] <= row["measured"] <= row["interval"][1], row["id"]
        if row["study"] not in EXACT_STUDIES and row["method"] == "exact":
            assert row["study"] in ("mistakes", "precision", "gelu_approx", "init_pairing", "kernels"), row["id"]


def test_every_verdict_says_why(site):
    for row in site.claims()["claims"]:
        assert row["why"], row["id"]
        if row["verdict"] == "inconclusive" and "depends on the definition" not in row["why"]:
            assert "resolves" in row["why"] or "interval" in row["why"] or "replicate" in row["why"], row


def _row(verdict, hw, measured):
    return {"id": "x-1", "section": "2.10", "claim": "a <b> & c", "claimed": [1.0, 2.0], "rule": {"kind": "in_range"},
            "rule_text": "confirmed if the 95 % interval lies inside [1, 2]", "reason": "", "hw_id": hw,
            "measured": measured, "measured_text": f"{measured} [1, 2], n = 5", "verdict": verdict, "why": "because",
            "also": []}


def test_ledger_table_escapes_text_and_sorts_sections():
    claims = {"claims": [_row("confirmed", "m1", 1.5), _row("refuted", "m2", 3.0)]}
    out = ledger_table.ledger_html(claims)
    assert "a &lt;b&gt; &amp; c" in out and "<b>" not in out
    assert 'data-verdicts="confirmed,refuted"' in out and "m1" in out and "m2" in out
    assert "\n\n" not in out  # a blank line would end the raw HTML block in Markdown
    assert sorted(["2.10", "2.9", "10", "5-exp1"], key=ledger_table.section_key) == ["2.9", "2.10", "5-exp1", "10"]
    assert 'data-sort="1.5"' in out  # the measured column sorts by the number, not its text


def test_machines_table_has_one_row_per_machine(tmp_path):
    source = next(docsite.RESULTS.glob("*/shapes.parquet"))
    for hw in ("machine-a", "machine-b"):
        (tmp_path / "results" / hw).mkdir(parents=True)
        df = pd.read_parquet(source).head(3).assign(hw_id=hw)
        df.to_parquet(tmp_path / "results" / hw / "shapes.parquet")
    machines.build(tmp_path / "results", tmp_path / "gen", NumberBook())
    table = (tmp_path / "gen/tables/machines.md").read_text().splitlines()
    assert [line.split(" | ")[0] for line in table[2:]] == ["| machine-a", "| machine-b"]


# ── decision tree ────────────────────────────────────────────────────────────────

def form_choices() -> dict[str, set[str]]:
    text = (ROOT / "docs/decision-tree.md").read_text()
    choices: dict[str, set[str]] = {}
    for name, value in re.findall(r'<input type="(?:radio|checkbox)" name="(\w+)" value="(\w+)"', text):
        choices.setdefault(name, set()).add(value)
    return choices


def test_decision_tree_rules_refer_to_real_claims_and_answers():
    claim_ids = {c["id"] for c in load_claims()}
    choices = form_choices()
    assert set(choices) == {"architecture", "depth", "constraints", "symptoms"}
    for rule in decision_tree()["rules"]:
        assert set(rule["claims"]) <= claim_ids, f"{rule['id']}: unknown claims {set(rule['claims']) - claim_ids}"
        for question, values in rule["when"].items():
            assert set(values) <= choices[question], f"{rule['id']}: {question}={values}"
        assert rule.get("recommend") if rule.get("primary") else rule.get("note"), rule["id"]
        for entry in rule["evidence"]:
            assert re.fullmatch(r"[\w-]+\.md(#[\w-]+)?", entry), f"{rule['id']}: evidence {entry!r}"


@pytest.mark.parametrize("architecture", ["mlp", "cnn", "transformer", "rnn", "gan"])
def test_every_architecture_gets_a_recommendation(architecture):
    rules = {r["id"]: r for r in decision_tree()["rules"]}
    for depth in ("shallow", "medium", "deep"):
        for constraints in ([], ["speed"], ["mobile"], ["accuracy"]):
            ids = matching_rules({"architecture": [architecture], "depth": [depth], "constraints": constraints})
            assert any(rules[i].get("primary") for i in ids), (architecture, depth, constraints)


def test_decision_tree_page_lists_only_built_pages(site):
    page = site.page("decision-tree.md")
    pages = json.loads(re.search(r'<script type="application/json" id="dt-pages">(.*?)</script>', page, re.S).group(1))
    assert "ledger.md" in pages and "activations.md" in pages
    for src, page in pages.items():
        assert page["title"], src
        assert (site.site / page["url"] / "index.html").exists() or (site.site / page["url"]).is_file(), src
    # Evidence links: their pages are all in this build, and each anchor is a heading there.
    for rule in decision_tree()["rules"]:
        for entry in rule["evidence"]:
            src, _, anchor = entry.partition("#")
            assert src in pages, f"{rule['id']}: evidence page {src} is not in the site"
            if anchor:
                assert f'id="{anchor}"' in site.page(src), f"{rule['id']}: no #{anchor} on {src}"


# ── notebook ─────────────────────────────────────────────────────────────────────

def test_executed_notebook_has_outputs_and_no_errors(site):
    nb = nbformat.read(site.generated / "experiments.ipynb", as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "no figure in the executed notebook"
    assert all(c.get("execution_count") for c in nb.cells if c.cell_type == "code")
    page = site.page("generated/experiments.ipynb")
    assert 'src="data:image/png;base64,' in page and 'class="arithmatex"' in page


# ── the tutorial's outline ───────────────────────────────────────────────────────

def _headings(page_html: str) -> list[str]:
    """Heading texts of a built page, maths and trailing punctuation dropped
    ("Sigmoid, σ(x) = …" -> "Sigmoid")."""
    texts = []
    for h in re.findall(r"<h[1-4][^>]*>(.*?)</h[1-4]>", page_html, re.S):
        h = re.sub(r'<span class="arithmatex">.*?</span>', "", h, flags=re.S)
        h = html.unescape(re.sub(r"<[^>]+>", "", h)).replace("¶", "")
        texts.append(" ".join(h.split()).strip(" ,:;"))
    return texts


OUTLINE = load_outline()


@pytest.mark.parametrize("chapter", OUTLINE, ids=[c["id"] for c in OUTLINE])
def test_every_tutorial_section_has_a_page_and_heading(site, chapter):
    """The checked list (src/actbench/tutorial_outline.yaml): each chapter of the
    tutorial maps to a page, each of its sections to a heading on that page."""
    assert chapter["page"] and (site.docs / chapter["page"]).exists(), f"chapter {chapter['id']} has no page"
    headings = _headings(site.page(chapter["page"]))
    assert headings, f"{chapter['page']} has no headings"
    missing = [s["id"] for s in chapter["sections"] if s.get("heading") not in headings]
    assert not missing, f"sections without a heading on {chapter['page']}: {missing}; headings: {headings}"


# ── no raw LaTeX outside the maths ───────────────────────────────────────────────

# What MathJax would have typeset, had arithmatex recognised it: $…$ and \(…\) / \[…\].
RAW_LATEX = re.compile(r"\$|\\[()\[\]]|\\(?:frac|sigma|max|operatorname|tanh|Phi|alpha|lambda)\b")


class _PageText(HTMLParser):
    """Text of a built page, sorted into prose, headings and table-of-contents entries.
    Maths (arithmatex), code, scripts and styles are not prose; a heading's permalink
    sign is dropped. Headings keep their arithmatex spans, so maths in a heading shows."""

    SKIP = {"script", "style", "code", "pre", "kbd", "samp", "svg", "textarea"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool, bool, bool, bool]] = []  # tag, skip, maths, heading, toc
        self.prose: list[str] = []
        self.headings: list[str] = []
        self.toc: list[str] = []
        self._heading: list[str] | None = None
        self._toc_link: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        skip, maths, heading, toc = self.stack[-1][1:] if self.stack else (False, False, False, False)
        skip = skip or tag in self.SKIP or "headerlink" in classes
        maths = maths or "arithmatex" in classes
        if re.fullmatch(r"h[1-6]", tag):
            heading, self._heading = True, []
        if tag == "nav" and "md-nav--secondary" in classes:  # the page's table of contents
            toc = True
        if toc and tag == "a":
            self._toc_link = []
        if tag not in self.VOID:
            self.stack.append((tag, skip, maths, heading, toc))

    def handle_endtag(self, tag):
        if tag not in (entry[0] for entry in self.stack):
            return  # a stray end tag closes nothing
        while self.stack:
            top = self.stack.pop()[0]
            if re.fullmatch(r"h[1-6]", top) and self._heading is not None:
                self.headings.append(" ".join("".join(self._heading).split()))
                self._heading = None
            if top == "a" and self._toc_link is not None:
                self.toc.append(" ".join("".join(self._toc_link).split()))
                self._toc_link = None
            if top == tag:
                break

    def handle_data(self, data):
        skip, maths, heading, toc = self.stack[-1][1:] if self.stack else (False, False, False, False)
        if self._heading is not None and not skip:
            self._heading.append(data)  # maths included: a heading must not hold any
        if self._toc_link is not None:
            self._toc_link.append(data)
        if not (skip or maths or heading or toc):
            self.prose.append(data)


def page_text(page_html: str) -> _PageText:
    parser = _PageText()
    parser.feed(page_html)
    parser.close()
    return parser


def raw_latex_problems(page_html: str) -> list[str]:
    text = page_text(page_html)
    problems = [f"maths in a heading: {h!r}" for h in text.headings if RAW_LATEX.search(h)]
    problems += [f"maths in the table of contents: {t!r}" for t in text.toc if RAW_LATEX.search(t)]
    prose = "".join(text.prose)
    problems += [f"raw LaTeX in the prose: …{prose[max(0, m.start() - 40):m.end() + 40]!r}…"
                 for m in RAW_LATEX.finditer(prose)]
    if re.search(r"<h[1-6][^>]*>(?:(?!</h[1-6]>).)*class=\"arithmatex\"", page_html, re.S):
        problems.append("a heading holds an arithmatex span")
    return problems


def test_raw_latex_checker_finds_what_it_should():
    """The checker itself: a number after `$x = $` (arithmatex skips it, the dollars stay),
    maths in a heading and in the table of contents are found; typeset maths and code are not."""
    good = ('<h2 id="a">ReLU<a class="headerlink" href="#a">¶</a></h2><p>At <span class="arithmatex">\\(x =\\)</span>'
            ' 0.5, and <code>echo $HOME</code>.</p><pre><code>$ make</code></pre>')
    assert raw_latex_problems(good) == []
    assert raw_latex_problems("<p>at $x = $ 0.5 the slope</p>")
    assert raw_latex_problems('<h3 id="b">Sigmoid, <span class="arithmatex">\\(\\sigma(x)\\)</span></h3>')
    assert raw_latex_problems('<nav class="md-nav md-nav--secondary"><ul><li><a href="#b">'
                              'Sigmoid, \\(\\sigma(x)\\)</a></li></ul></nav>')


def test_no_raw_latex_in_headings_toc_or_prose(site):
    problems = {}
    for page in sorted(site.site.rglob("*.html")):
        found = raw_latex_problems(page.read_text())
        if found:
            problems[page.relative_to(site.site).as_posix()] = found
    assert not problems, problems


def test_search_index_titles_have_no_maths(site):
    """Search results list page and section titles: plain text, never LaTeX source."""
    index = json.loads((site.site / "search" / "search_index.json").read_text())
    assert len(index["docs"]) > 50
    bad = [(d["location"], d["title"]) for d in index["docs"] if RAW_LATEX.search(html.unescape(d["title"]))]
    assert not bad, bad


# ── reading aids ─────────────────────────────────────────────────────────────────

def test_theme_has_dark_mode_footer_and_copy_buttons():
    theme = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["theme"]
    assert {"navigation.footer", "content.code.copy"} <= set(theme["features"])
    schemes = [p["scheme"] for p in theme["palette"]]
    assert schemes == ["default", "slate"]
    assert all(p.get("toggle") and p.get("media") for p in theme["palette"])


def test_pages_link_to_their_neighbours(site):
    """The prev/next footer follows the nav order."""
    page = site.page("tutorial/02-properties.md")
    prev = re.search(r'<a href="([^"]+)" class="md-footer__link md-footer__link--prev"', page)
    following = re.search(r'<a href="([^"]+)" class="md-footer__link md-footer__link--next"', page)
    assert prev and following, "no prev/next footer on chapter 2"
    assert prev.group(1).rstrip("/").endswith("01-why") and following.group(1).rstrip("/").endswith("03-activations")


RESULT_PAGES = ["kernels.md", "experiments.md", "dead-units.md", "necessity.md", "ablations.md", "activations.md"]


def _provenance_rows(page_html: str) -> dict[tuple[str, str], list[str]]:
    """(study, machine) -> [run, commit, rows] of the "Where these results come from" table."""
    box = page_html.split("Where these results come from", 1)
    assert len(box) == 2, "no provenance note"
    table = box[1].split("</table>", 1)[0]
    rows = {}
    for tr in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]:
        cells = [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
        rows[(cells[0], cells[1].split(" (")[0])] = cells[2:]
    return rows


@pytest.mark.parametrize("src", RESULT_PAGES)
def test_result_pages_say_which_runs_they_show(site, src):
    """Each result page names the machine, run dates and commits of every study whose
    numbers it renders, and those agree with the parquet files."""
    rows = _provenance_rows(site.page(src))
    studies = {study for study, _ in rows}
    rendered = {r["key"].split(".", 1)[0] for r in site.rendered_numbers() if r["page"] == src}
    assert rendered <= studies, f"{src} renders numbers of {sorted(rendered - studies)} without saying which run"
    for study in studies:
        files = sorted(docsite.RESULTS.glob(f"*/{study}.parquet"))
        assert {hw for s, hw in rows if s == study} == ({p.parent.name for p in files} or {"–"}), (src, study)
        for path in files:
            run, commit, count = rows[(study, path.parent.name)]
            df = pd.read_parquet(path, columns=["timestamp_utc", "project_commit"])
            stamps = pd.to_datetime(df["timestamp_utc"], utc=True)
            assert run.startswith(stamps.min().strftime("%Y-%m-%d %H:%M")), (study, run)
            assert stamps.max().strftime("%H:%M") in run, (study, run)
            assert set(commit.split(", ")) == set(df["project_commit"]), (study, commit)
            assert int(count) == len(df), study


def test_provenance_tables_mark_the_quoted_machine(tmp_path):
    from actbench.report import provenance

    source = next(docsite.RESULTS.glob("*/shapes.parquet"))
    base = pd.read_parquet(source).head(4)
    for hw, stamps, commits in [("machine-a", ["2030-01-02T10:00:00+00:00", "2030-01-02T11:30:00+00:00"], ["abc", "def"]),
                                ("machine-b", ["2030-01-02T23:59:00+00:00", "2030-01-03T00:10:00+00:00"], ["abc", "abc"])]:
        (tmp_path / "results" / hw).mkdir(parents=True)
        df = base.head(2).assign(hw_id=hw, timestamp_utc=stamps, project_commit=commits)
        df.to_parquet(tmp_path / "results" / hw / "shapes.parquet")
    book = NumberBook()
    book.add("shapes.shown_hw", "machine-b")
    provenance.build(tmp_path / "results", tmp_path / "gen", book)
    lines = (tmp_path / "gen/tables/provenance-shapes.md").read_text().splitlines()
    assert lines[0] == "| study | machine | run (UTC) | commit | rows |"
    assert lines[2] == "| `shapes` | `machine-a` | 2030-01-02 10:00 – 11:30 | abc, def | 2 |"
    assert lines[3] == "| `shapes` | `machine-b` (numbers in the text) | 2030-01-02 23:59 – 2030-01-03 00:10 | abc | 2 |"
    # A study no machine has run yet still gets a table, which says so.
    assert "no results yet" in (tmp_path / "gen/tables/provenance-kernels.md").read_text()


def test_references_link_to_arxiv_or_doi():
    text = (ROOT / "docs/tutorial/09-references.md").read_text()
    assert not re.search(r"(?<!\[)arXiv:\d{4}\.\d{4,5}(?!\])", text), "an arXiv identifier without its link"
    links = re.findall(r"\[(arXiv:|doi:)([^\]]+)\]\((https://[^\s]+)\)\.?(?=\s|$)", text)
    assert len(links) >= 30
    for kind, ident, url in links:
        expected = f"https://arxiv.org/abs/{ident}" if kind == "arXiv:" else f"https://doi.org/{ident}"
        assert url == expected, (ident, url)


def _settings_of_rerun(name: str) -> tuple[dict, pd.DataFrame]:
    """The one set of settings a committed rerun file records, and the file."""
    df = pd.read_parquet(ROOT / "results" / "cpu-amd-epyc-2c" / "rerun" / name)
    recorded = [json.loads(s) for s in df["settings"].unique()]
    assert len(recorded) == 1, f"{name}: rows made with {len(recorded)} settings"
    return recorded[0], df


def _settings_of_command(argv: list[str]) -> dict:
    from actbench.cli import build_parser
    from actbench.studies import get as study_unit

    return study_unit(argv[0]).settings(build_parser().parse_args(argv))


def test_the_kernels_page_gives_the_command_its_replicated_runs_record():
    """The Kernels page prints the command of the two replicated sweep runs committed in
    rerun/; both files record exactly the settings that command gives (threads 'all' is
    the recording machine's core count)."""
    import shlex

    page = (ROOT / "docs" / "kernels.md").read_text()
    block = re.search(r"```bash\n(python -m actbench kernels [^`]*--blocks [^`]*)```", page)
    assert block, "no replicated-sweep command on the Kernels page"
    argv = shlex.split(block.group(1).replace("\\\n", " "))[3:]
    assert argv[0] == "kernels"
    expected = _settings_of_command(argv)
    for name in ("first", "second"):
        recorded, df = _settings_of_rerun(f"kernels.blocks.{name}.parquet")
        want = {**expected, "threads": [1, int(df["hw_logical_cores"].iloc[0])]}
        assert recorded == want, f"{name} run: {recorded} != the page's command {want}"


def test_the_kernels_page_gives_the_settings_of_the_ten_block_kernel_cost_runs():
    page = (ROOT / "docs" / "kernels.md").read_text()
    command = re.search(r"`python -m actbench (kernel_cost\s+--blocks 10)`", page)
    assert command, "the page no longer gives the ten-block command"
    expected = _settings_of_command(command.group(1).split())
    for name in ("first", "second"):
        recorded, _ = _settings_of_rerun(f"kernel_cost.blocks10.{name}.parquet")
        assert recorded == expected, f"{name} run: {recorded} != the page's command {expected}"
