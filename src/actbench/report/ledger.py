"""Claims ledger report: verdict per claim and machine -> claims.json and a Markdown table.

Runs last, after every other report module has filled the NumberBook.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd

from actbench.claims import VERDICTS, load_claims, verdict
from actbench.results import atomic_write_text


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


def measured_values(claim: dict, book) -> list[tuple[str | None, object]]:
    """(hw_id, value) pairs for a claim: one per machine, or one machine-independent value."""
    study, metric = claim["study"], claim["metric"]
    if metric.startswith("arith."):  # e.g. arith.pow:0.25^20 -> 0.25**20
        return [(None, arithmetic(metric.split(":", 1)[1]))]
    shared = book.get(f"{study}.{metric}")
    if shared is not None:
        return [(shared.get("hw_id"), shared["value"])]
    per_machine = [(hw, book.get(f"{study}.{hw}.{metric}")) for hw in book.machines]
    found = [(hw, n["value"]) for hw, n in per_machine if n is not None]
    return found or [(None, None)]


def build(results_dir: Path, out_dir: Path, book) -> None:
    rows = []
    for claim in load_claims():
        for hw, value in measured_values(claim, book):
            rows.append({
                **{k: claim[k] for k in ("id", "section", "claim", "study", "metric")},
                "claimed": claim["claimed"],
                "rule": claim["rule"],
                "reason": claim.get("reason", ""),
                "hw_id": hw,
                "measured": value,
                "verdict": verdict(claim, value),
            })
    counts = Counter(r["verdict"] for r in rows)
    payload = {"counts": {v: counts.get(v, 0) for v in VERDICTS}, "claims": rows}
    atomic_write_text(out_dir / "claims.json", json.dumps(payload, indent=1, default=str))
    for v in VERDICTS:
        book.add(f"ledger.count.{v.replace(' ', '_')}", counts.get(v, 0), fmt="d")
    book.add("ledger.count.total", len({r["id"] for r in rows}), fmt="d")
