"""The claims ledger: the tutorial's checkable claims (claims.yaml) and their verdicts.

A claim's measured value is a number from the report's NumberBook:
``<study>.<metric>`` for machine-independent studies (maths), or
``<study>.<hw_id>.<metric>`` for measurements that depend on the machine.
The decision rule in the claim turns (claimed, measured) into a verdict.
"""

from __future__ import annotations

from importlib import resources

import yaml

VERDICTS = ("confirmed", "refuted", "inconclusive", "not testable", "pending")
RULE_KINDS = ("abs_tol", "rel_tol", "in_range", "at_least", "at_most", "direction", "not_testable")
REQUIRED = ("id", "section", "claim", "claimed", "study", "metric", "rule")


class ClaimsError(ValueError):
    pass


def load_claims(text: str | None = None) -> list[dict]:
    if text is None:
        text = resources.files("actbench").joinpath("claims.yaml").read_text()
    claims = yaml.safe_load(text) or []
    seen = set()
    for i, claim in enumerate(claims):
        missing = [k for k in REQUIRED if k not in claim]
        if missing:
            raise ClaimsError(f"claim #{i} ({claim.get('id', '?')}) lacks {missing}")
        if claim["id"] in seen:
            raise ClaimsError(f"duplicate claim id {claim['id']!r}")
        seen.add(claim["id"])
        kind = claim["rule"].get("kind")
        if kind not in RULE_KINDS:
            raise ClaimsError(f"claim {claim['id']}: rule kind {kind!r} not in {RULE_KINDS}")
    return claims


def verdict(claim: dict, measured) -> str:
    """Apply the claim's decision rule to a measured value (None: not measured yet)."""
    rule, claimed = claim["rule"], claim["claimed"]
    kind = rule["kind"]
    if kind == "not_testable":
        return "not testable"
    if measured is None:
        return "pending"
    if isinstance(measured, dict):  # statistical comparison: {"effect": .., "p": .., "alpha": ..}
        if measured.get("p") is None:
            return "inconclusive"
        significant = measured["p"] < measured.get("alpha", 0.05)
        if not significant:
            return "inconclusive"
        want_positive = rule.get("sign", "+") == "+"
        return "confirmed" if (measured["effect"] > 0) == want_positive else "refuted"
    if isinstance(measured, str):
        return "inconclusive"
    m = float(measured)
    if kind == "abs_tol":
        return "confirmed" if abs(m - float(claimed)) <= float(rule["tol"]) else "refuted"
    if kind == "rel_tol":
        return "confirmed" if abs(m - float(claimed)) <= float(rule["tol"]) * abs(float(claimed)) else "refuted"
    if kind == "in_range":
        lo, hi = claimed
        return "confirmed" if float(lo) <= m <= float(hi) else "refuted"
    if kind == "at_least":
        return "confirmed" if m >= float(claimed) else "refuted"
    if kind == "at_most":
        return "confirmed" if m <= float(claimed) else "refuted"
    return "inconclusive"  # "direction" claims need a statistical measurement (dict)
