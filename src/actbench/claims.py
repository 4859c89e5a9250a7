"""The claims ledger: the tutorial's checkable claims (claims.yaml), loaded and validated.

A claim's measured value is a number from the report's NumberBook:
``<study>.<metric>`` for machine-independent studies (maths), or
``<study>.<hw_id>.<metric>`` for measurements that depend on the machine. Its decision
rule (actbench.verdicts) turns the claimed value and the measurement's interval into a
verdict. Optional keys of a claim:

``context: {hardware: H, a_fortiori: above|below}``
    the claim is about hardware H (``cpu``, ``intel_cpu``, ``gpu``, ``a100``, ``tpu``);
    on any other machine it is *not testable*, except that a measurement on stronger
    hardware of the same kind (``STRONGER``) lying wholly above (or below) the accepted
    region refutes it *a fortiori*.
``regime: compute-bound|memory-bound`` and ``regimes: {name: metric}``
    a cost claim: ``metric`` is measured in the regime its wording concerns; the other
    regimes are shown beside it, not decided.
``definitions: {name: metric}``
    a quantity with several definitions (dead unit: never positive, or gradient below a
    threshold): each is judged; if they disagree the verdict is *inconclusive* and says
    that it depends on the definition.
``requires: [metric, ...]``
    adequacy flags (booleans the study records, e.g. "the parameter moved from its
    initial value"); a claim whose setup is not adequate is *not testable at this scale*.
"""

from __future__ import annotations

import copy
from importlib import resources

import yaml

from actbench.verdicts import RULE_KINDS, VERDICTS, RuleError, validate  # noqa: F401 (re-exported)

REQUIRED = ("id", "section", "claim", "claimed", "study", "metric", "rule")
HARDWARE = ("cpu", "intel_cpu", "gpu", "a100", "tpu")
# Hardware that is at least as strong for memory-bound work (datasheet bandwidth).
STRONGER = {"a100": ("h100", "h200")}
REGIMES = ("compute-bound", "memory-bound")


class ClaimsError(ValueError):
    pass


def _check(claim: dict, i: int) -> None:
    cid = claim.get("id", "?")
    missing = [k for k in REQUIRED if k not in claim]
    if missing:
        raise ClaimsError(f"claim #{i} ({cid}) lacks {missing}")
    try:
        validate(claim)
    except RuleError as exc:
        raise ClaimsError(f"claim {cid}: {exc}") from None
    if claim["rule"]["kind"] == "not_testable" and not claim.get("reason"):
        raise ClaimsError(f"claim {cid}: a not_testable claim needs a reason")
    context = claim.get("context")
    if context is not None:
        if context.get("hardware") not in HARDWARE:
            raise ClaimsError(f"claim {cid}: context hardware {context.get('hardware')!r} not in {HARDWARE}")
        if context.get("a_fortiori") not in (None, "above", "below"):
            raise ClaimsError(f"claim {cid}: a_fortiori must be 'above' or 'below', got {context['a_fortiori']!r}")
    if "regime" in claim and claim["regime"] not in REGIMES:
        raise ClaimsError(f"claim {cid}: regime {claim['regime']!r} not in {REGIMES}")
    if "regimes" in claim and set(claim["regimes"]) - set(REGIMES):
        raise ClaimsError(f"claim {cid}: regimes {sorted(set(claim['regimes']) - set(REGIMES))} not in {REGIMES}")
    requires = claim.get("requires", [])
    if not isinstance(requires, list):
        raise ClaimsError(f"claim {cid}: requires must be a list of metrics, got {requires!r}")
    for key in ("definitions", "regimes"):
        if key in claim and not isinstance(claim[key], dict):
            raise ClaimsError(f"claim {cid}: {key} must map names to metrics, got {claim[key]!r}")


_PARSED: dict[str, list] = {}
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: the file is large


def _parse(text: str) -> list[dict]:
    """The claims in a YAML text, parsed once per distinct text (the report asks dozens of
    times), as a fresh copy each time so that no caller sees another's changes."""
    if text not in _PARSED:
        _PARSED[text] = yaml.load(text, Loader=_LOADER) or []
    return copy.deepcopy(_PARSED[text])


def load_claims(text: str | None = None) -> list[dict]:
    """The ledger: actbench/claims.yaml plus the claims each study declares (``text``:
    only the claims in that YAML text)."""
    if text is None:
        from actbench.studies import units

        claims = _parse(resources.files("actbench").joinpath("claims.yaml").read_text())
        claims += [{"study": u.name, **c} for u in units().values() for c in u.claims]
    else:
        claims = _parse(text)
    seen = set()
    for i, claim in enumerate(claims):
        _check(claim, i)
        if claim["id"] in seen:
            raise ClaimsError(f"duplicate claim id {claim['id']!r}")
        seen.add(claim["id"])
    return claims


def machine_kind(hw_id: str) -> dict:
    """What a hardware id says about its machine: device (cpu/gpu), vendor and model."""
    parts = hw_id.split("-")
    device = parts[0] if parts[0] in ("cpu", "gpu") else "unknown"
    vendor = parts[1] if len(parts) > 1 else ""
    return {"device": device, "vendor": vendor, "model": "-".join(parts[2:])}


def context_fit(claim: dict, hw_id: str | None) -> str:
    """'same' if a machine can test the claim, 'stronger' if it can only refute it a
    fortiori, 'other' if it cannot test it at all (machine-independent values: 'same')."""
    context = claim.get("context")
    if context is None or hw_id is None:
        return "same"
    want, kind = context["hardware"], machine_kind(hw_id)
    if want == "cpu":
        return "same" if kind["device"] == "cpu" else "other"
    if want == "intel_cpu":
        return "same" if kind["device"] == "cpu" and kind["vendor"] == "intel" else "other"
    if want == "gpu":
        return "same" if kind["device"] == "gpu" else "other"
    if want == "tpu":
        return "other"
    # a specific GPU model
    if kind["device"] != "gpu":
        return "other"
    if want in kind["model"]:
        return "same"
    if context.get("a_fortiori") and any(s in kind["model"] for s in STRONGER.get(want, ())):
        return "stronger"
    return "other"
