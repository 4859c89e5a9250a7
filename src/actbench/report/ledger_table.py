"""The claims ledger as one HTML table (docs/generated/tables/ledger.md) for the ledger page.

Runs after the ledger module and reads the claims.json it wrote, so the page and the
JSON can never disagree. The table is plain HTML (it needs data attributes for the
filters), readable without JavaScript; docs/assets/js/ledger.js adds sorting and
filtering on top. One row per claim; the measured values and verdicts are listed per
machine inside the row.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

from actbench.report.common import fmt_value
from actbench.results import atomic_write_text
from actbench.tutorial import section_titles
from actbench.verdicts import VERDICT_ORDER

# Sort rank of a row's worst verdict: the ones a reader is looking for come first.
VERDICT_RANK = {v: i for i, v in enumerate(VERDICT_ORDER)}


def fmt_claimed(value) -> str:
    """The tutorial's value as the ledger shows it (ranges, comparisons, numbers)."""
    if isinstance(value, list):
        return " – ".join(fmt_claimed(v) for v in value)
    if isinstance(value, dict):  # a statistical comparison
        return f"effect {fmt_claimed(value.get('effect'))}, p = {fmt_claimed(value.get('p'))}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return fmt_value(float(value))
    return str(value)


def rule_text(rule: dict) -> str:
    """The rule in a few words for the table cell (the full wording is its tooltip)."""
    kind = rule["kind"]
    if kind == "abs_tol":
        return f"±{fmt_value(float(rule['tol']))}"
    if kind == "rel_tol":
        return f"±{float(rule['tol']) * 100:g} %" + (" of the excess" if rule.get("of") == "excess" else "")
    if kind == "factor":
        return f"within ×/÷ {fmt_value(float(rule.get('factor', rule.get('tol'))))}"
    if kind == "beats_by":
        return "difference of the claimed size"
    if kind == "direction":
        margin = float(rule.get("margin", 0))
        return "significant, claimed direction" + (f"; margin ±{fmt_value(margin)}" if margin else "")
    if kind == "equivalent":
        return f"equivalent within ±{fmt_value(float(rule['margin']))}"
    return {"in_range": "inside range", "at_least": "every sample ≥ claimed", "at_most": "every sample ≤ claimed",
            "not_testable": "not testable"}.get(kind, kind)


def section_key(section: str) -> str:
    """Sortable form of a section code: "2.10" after "2.9", "5-exp1" after "4.4"."""
    parts = section.replace("-", ".").split(".")
    return ".".join(p.zfill(3) if p.isdigit() else p for p in parts)


def _measured_cell(r: dict) -> str:
    if r["measured_text"] is None:
        return "–" if r["verdict"] == "not testable" else "not measured"
    where = r["hw_id"] or "computed"
    return f'<span class="ledger-hw">{escape(where)}</span> {escape(r["measured_text"])}'


def _verdict_cell(r: dict) -> str:
    fortiori = " (a fortiori)" if r.get("a_fortiori") else ""
    also = "".join(f'<br><small>{escape(a["label"])}: {escape(a["measured_text"] or "–")} → {escape(a["verdict"])}</small>'
                   for a in r.get("also", []))
    return (f'<span class="ledger-verdict" data-verdict="{escape(r["verdict"])}">{escape(r["verdict"])}{fortiori}</span>'
            f'<br><small class="ledger-why">{escape(r["why"])}</small>{also}')


def _row(claim_id: str, rows: list[dict], titles: dict[str, str]) -> str:
    first = rows[0]
    verdicts = [r["verdict"] for r in rows]
    worst = min(verdicts, key=VERDICT_RANK.__getitem__)
    section = first["section"]
    estimates = [r["measured"] for r in rows if isinstance(r["measured"], (int, float))]
    title = titles.get(section, "")
    return (
        f'<tr id="claim-{escape(claim_id)}" data-section="{escape(section)}" '
        f'data-verdicts="{escape(",".join(sorted(set(verdicts))))}">'
        f'<td data-sort="{escape(claim_id)}"><code>{escape(claim_id)}</code></td>'
        f'<td data-sort="{escape(section_key(section))}" title="{escape(title)}">{escape(section)}</td>'
        f"<td>{escape(first['claim'])}</td>"
        f"<td>{escape(fmt_claimed(first['claimed']))}</td>"
        f'<td title="{escape(first["rule_text"])}">{escape(rule_text(first["rule"]))}</td>'
        f'<td data-sort="{estimates[0] if estimates else ""}">{"<br>".join(_measured_cell(r) for r in rows)}</td>'
        f'<td data-sort="{VERDICT_RANK[worst]}">{"<br>".join(_verdict_cell(r) for r in rows)}</td>'
        "</tr>"
    )


def ledger_html(claims: dict, titles: dict[str, str] | None = None) -> str:
    titles = titles or {}
    by_id: dict[str, list[dict]] = {}
    for row in claims["claims"]:
        by_id.setdefault(row["id"], []).append(row)
    header = "".join(f"<th>{h}</th>" for h in ("id", "§", "claim", "tutorial", "rule", "measured", "verdict"))
    body = "\n".join(_row(cid, rows, titles) for cid, rows in by_id.items())
    # No blank lines inside: Markdown would end the raw HTML block there.
    return (f'<table id="ledger-table">\n<thead><tr>{header}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>\n')


def build(results_dir: Path, out_dir: Path, book) -> None:
    path = Path(out_dir) / "claims.json"
    if not path.exists():  # the ledger module writes it; nothing to show without it
        return
    claims = json.loads(path.read_text())
    atomic_write_text(Path(out_dir) / "tables" / "ledger.md", ledger_html(claims, section_titles()))
