"""Claims ledger report: verdict per claim and machine -> claims.json (and the home-page counts).

Runs last, after every other report module has filled the NumberBook. Per claim and
machine it finds the measurement, applies the claim's hardware context, adequacy flags,
definitions and regimes (see actbench.claims), then its decision rule
(actbench.verdicts), and records the verdict with the reason in words.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from actbench import measurement as ms
from actbench.claims import context_fit, load_claims
from actbench.measurement import Measurement
from actbench.report.numbers import json_safe
from actbench.results import atomic_write_text
from actbench.verdicts import VERDICT_ORDER, VERDICTS, Verdict, fmt_interval, judge, rule_text


def arithmetic(expression: str) -> float:
    """Evaluate the tutorial's back-of-envelope arithmetic (numbers, + - * / ^ only)."""
    import ast
    import operator

    ops = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.Pow: operator.pow, ast.USub: operator.neg}

    def ev(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in ops:
            return ops[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in ops:
            return ops[type(node.op)](ev(node.operand))
        raise ValueError(f"unsupported arithmetic in claim metric: {expression!r}")

    return float(ev(ast.parse(expression.replace("^", "**"), mode="eval").body))


def as_measurement(entry: dict | None) -> Measurement | None | str:
    """A book entry as a Measurement; a string says why it cannot be judged."""
    if entry is None:
        return None
    if "measurement" in entry:
        return Measurement.from_dict(entry["measurement"])
    if entry.get("exact"):
        value = entry["value"]
        if isinstance(value, bool):
            value = float(value)
        return ms.exact(float(value))
    return (f"the study recorded {entry['text']} without an interval; a random quantity is "
            "never decided on a point estimate")


def lookup(book, study: str, metric: str, hw: str | None) -> dict | None:
    if metric.startswith("arith."):  # e.g. arith.pow:0.25^20 -> 0.25**20
        return {"value": arithmetic(metric.split(":", 1)[1]), "text": "", "exact": True, "hw_id": None}
    shared = book.get(f"{study}.{metric}")
    if shared is not None:
        return shared
    return book.get(f"{study}.{hw}.{metric}") if hw else None


def machines_for(claim: dict, book) -> list[str | None]:
    """The machines a claim gets a row for (None: one machine-independent row)."""
    if claim["metric"].startswith("arith.") or book.get(f"{claim['study']}.{claim['metric']}") is not None:
        return [None]
    found = [hw for hw in book.machines if book.get(f"{claim['study']}.{hw}.{claim['metric']}") is not None]
    if claim.get("context") is not None:  # a row for every machine: each says whether it can test it
        others = [hw for hw in book.machines if hw not in found]
        return found + others or [None]
    return found or [None]


def _judge_metric(claim: dict, metric: str, hw: str | None, book) -> tuple[Verdict, Measurement | None]:
    m = as_measurement(lookup(book, claim["study"], metric, hw))
    if isinstance(m, str):
        return Verdict("inconclusive", m), None
    return judge(claim, m), m


def _adequacy(claim: dict, hw: str | None, book) -> str | None:
    """None if every adequacy flag holds, else why the setup is not adequate."""
    for flag in claim.get("requires", []):
        entry = lookup(book, claim["study"], flag, hw)
        if entry is None:
            return f"the study did not record its adequacy check {flag!r}"
        if entry["value"] is not True:
            why = lookup(book, claim["study"], f"{flag}.why", hw)
            return "not testable at this scale: " + (why["value"] if why else f"{flag} is false")
    return None


def decide(claim: dict, hw: str | None, book) -> dict:
    """One ledger row: the claim on one machine."""
    row = {k: claim[k] for k in ("id", "section", "claim", "study", "metric")}
    row.update(claimed=claim["claimed"], rule=claim["rule"], rule_text=rule_text(claim),
               reason=claim.get("reason", ""), hw_id=hw, measured=None, measured_text=None,
               interval=None, n=None, method=None, a_fortiori=False, also=[], n_needed=None)
    if claim["rule"]["kind"] == "not_testable":
        return {**row, "verdict": "not testable", "why": claim["reason"]}
    fit = context_fit(claim, hw)
    context = claim.get("context", {})
    if hw is None and context and not claim["metric"].startswith("arith."):
        if lookup(book, claim["study"], claim["metric"], None) is None:
            return {**row, "verdict": "not testable",
                    "why": f"the claim is about {context['hardware']} hardware and no such machine has results"}
    if fit == "other":
        return {**row, "verdict": "not testable",
                "why": f"the claim is about {context['hardware']} hardware; {hw} cannot test it"}
    inadequate = _adequacy(claim, hw, book)
    if inadequate:
        return {**row, "verdict": "not testable", "why": inadequate}
    verdict, m = _judge_metric(claim, claim["metric"], hw, book)
    if m is not None:
        row.update(measured=m.estimate, measured_text=fmt_interval(m), n=m.n, method=m.method,
                   interval=None if m.exact else [m.ci_low, m.ci_high])
    if fit == "stronger":
        side = context["a_fortiori"]
        if not (verdict.verdict == "refuted" and verdict.side == side):
            return {**row, "verdict": "not testable",
                    "why": f"the claim is about {context['hardware']}; {hw} is stronger hardware, which can only "
                           f"refute it a fortiori (a measurement {side} the claim), and this one does not"}
        row["a_fortiori"] = True
        verdict = Verdict("refuted", f"a fortiori from stronger hardware ({hw}): {verdict.why}")
    for label, metric in claim.get("definitions", {}).items():
        if metric == claim["metric"]:  # the primary definition is the verdict itself
            continue
        v, other = _judge_metric(claim, metric, hw, book)
        row["also"].append({"label": f"definition: {label}", "metric": metric, "verdict": v.verdict,
                            "measured_text": fmt_interval(other) if other else None, "why": v.why})
    for label, metric in claim.get("regimes", {}).items():
        v, other = _judge_metric(claim, metric, hw, book)
        row["also"].append({"label": f"regime: {label} (shown, not decided)", "metric": metric,
                            "verdict": v.verdict, "measured_text": fmt_interval(other) if other else None,
                            "why": v.why})
    definitional = {a["verdict"] for a in row["also"] if a["label"].startswith("definition")}
    if definitional and definitional | {verdict.verdict} != {verdict.verdict}:
        parts = "; ".join(f"{a['label'].split(': ', 1)[1]} → {a['verdict']}" for a in row["also"]
                          if a["label"].startswith("definition"))
        verdict = Verdict("inconclusive", f"depends on the definition: {claim.get('definition', 'primary')} → "
                                          f"{verdict.verdict}; {parts}")
    why = verdict.why if "regime" not in claim else f"decided in the {claim['regime']} regime: {verdict.why}"
    return {**row, "verdict": verdict.verdict, "why": why, "n_needed": verdict.n_needed}


def build(results_dir: Path, out_dir: Path, book) -> None:
    rows = [decide(claim, hw, book) for claim in load_claims() for hw in machines_for(claim, book)]
    counts = Counter(r["verdict"] for r in rows)
    # verdict_order: the worst-first order pages use to show one verdict for several machines
    payload = {"counts": {v: counts.get(v, 0) for v in VERDICTS}, "verdict_order": list(VERDICT_ORDER), "claims": rows}
    atomic_write_text(out_dir / "claims.json", json.dumps(json_safe(payload), indent=1, default=str, allow_nan=False))
    for v in VERDICTS:
        book.add(f"ledger.count.{v.replace(' ', '_')}", counts.get(v, 0), fmt="d")
    book.add("ledger.count.total", len({r["id"] for r in rows}), fmt="d")
