"""Decision rules: a claim and a :class:`~actbench.measurement.Measurement` -> a verdict that says why.

Every verdict follows from the measurement's 95 % interval (or its samples, or a test on
its two groups) by one of these rules, stated in words on the Methodology page:

region rules (``abs_tol``: claimed ± tol, ``rel_tol``: claimed·(1 ± tol), ``factor``:
    claimed ÷ f … claimed × f, ``in_range``: [lo, hi]; ``beats_by``: a difference of
    about d, with the same tolerances): *confirmed* if the interval lies inside the
    accepted region, *refuted* if it lies wholly outside, otherwise *inconclusive*.
    A region must not contain the null (ratio 1, difference 0) unless the claim is
    that value: a window that a network without the effect would pass decides nothing.
bounds (``at_most``, ``at_least``): judged on every sample; one seed that breaks the
    bound refutes it. Without samples the interval's far end decides.
``direction`` ("X beats Y", metric a − b, sign + or −, smallest meaningful difference
    ``margin``): refuted if the interval lies wholly on the other side of 0, or if an
    equivalence test (TOST, ``statsmodels``) shows the difference is inside ±margin;
    confirmed if the test against 0 is significant at α = 0.05 after Holm's adjustment
    over the family of comparisons the passage makes; otherwise inconclusive.
``equivalent`` ("about the same", margin m): confirmed if TOST shows the difference
    inside ±m (for a ratio: the interval inside [1/(1+m), 1+m]); refuted if the
    interval lies wholly outside; otherwise inconclusive.

An inconclusive verdict states the smallest effect the study resolves (the interval's
half-width) and about how many replicates would decide it if the spread stays as
measured (region rules: n·(half-width / distance to the boundary)²; tests:
``statsmodels`` power analysis at 80 % power for the claim's effect or margin).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from actbench.measurement import Measurement

ALPHA = 0.05
POWER = 0.8
# The verdicts, and the order in which a row shows the worst of several machines'.
VERDICTS = ("confirmed", "refuted", "inconclusive", "not testable", "pending")
VERDICT_ORDER = ("refuted", "inconclusive", "confirmed", "not testable", "pending")
REGION_KINDS = ("abs_tol", "rel_tol", "factor", "in_range", "beats_by")
BOUND_KINDS = ("at_most", "at_least")
RULE_KINDS = REGION_KINDS + BOUND_KINDS + ("direction", "equivalent", "not_testable")
P_FLOOR = 1e-16  # below this a p-value is float round-off, not a probability to print


@dataclass(frozen=True)
class Verdict:
    verdict: str
    why: str
    n_needed: int | None = None
    side: str | None = None  # a refuting interval wholly "above" or "below" the accepted region


class RuleError(ValueError):
    pass


# ─────────────────────────── formatting (shared with the report) ───────────────────────────
def fmt(value, digits: int = 4) -> str:
    """A number as the ledger prints it: never 0 for a non-zero value, a typographic minus."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    v = float(value)
    if math.isnan(v):
        return "n/a"
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    if v == 0:
        return "0"
    text = f"{v:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text.replace("-", "−")


def fmt_p(p) -> str:
    if p is None or not math.isfinite(p):
        return "n/a"
    return f"p < {P_FLOOR:g}" if p < P_FLOOR else f"p = {fmt(p, 2)}"


def fmt_interval(m: Measurement) -> str:
    """'estimate [low, high], n = k' (or the exact value)."""
    if m.exact:
        return f"{fmt(m.estimate)} (exact)"
    if not m.has_interval:
        return f"{fmt(m.estimate)} (n = {m.n}, no interval)"
    return f"{fmt(m.estimate)} [{fmt(m.ci_low)}, {fmt(m.ci_high)}], n = {m.n}"


# ─────────────────────────── the accepted region of a claim ───────────────────────────
def _number(value, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise RuleError(f"{what} must be a number, got {value!r}") from None


def region(claim: dict) -> tuple[float, float]:
    """The accepted region [lo, hi] of a region rule."""
    rule, claimed, kind = claim["rule"], claim["claimed"], claim["rule"]["kind"]
    if kind == "in_range":
        if not (isinstance(claimed, list) and len(claimed) == 2):
            raise RuleError(f"in_range needs claimed: [lo, hi], got {claimed!r}")
        lo, hi = (_number(v, "in_range bound") for v in claimed)
    else:
        c = _number(claimed, f"{kind}'s claimed value")
        if kind == "factor" or (kind == "beats_by" and "factor" in rule):
            f = _number(rule.get("factor", rule.get("tol")), "factor")
            if f <= 1 or c <= 0:
                raise RuleError(f"factor needs claimed > 0 and factor > 1, got {c} and {f}")
            lo, hi = c / f, c * f
        elif kind == "rel_tol" or (kind == "beats_by" and "rel_tol" in rule):
            t = _number(rule.get("tol", rule.get("rel_tol")), "tol")
            if rule.get("of") == "excess":  # "10 % slower": the tolerance is on the excess over the null
                null = null_value(claim)
                if null is None:
                    raise RuleError("rel_tol of: excess needs a null value (a ratio to a baseline, or rule.null)")
                lo, hi = sorted((null + (c - null) * (1 - t), null + (c - null) * (1 + t)))
            else:
                lo, hi = sorted((c * (1 - t), c * (1 + t)))
        else:
            t = _number(rule.get("tol"), "tol")
            lo, hi = c - t, c + t
    if lo > hi:
        raise RuleError(f"empty region [{lo}, {hi}]")
    return lo, hi


def null_value(claim: dict) -> float | None:
    """The value 'no effect' would measure: explicit ``rule.null``, 1 for ratios to a
    baseline, 0 for differences (direction, beats_by, equivalent on a difference)."""
    rule, metric = claim["rule"], str(claim.get("metric", ""))
    if "null" in rule:
        return float(rule["null"])
    if "_ratio_vs_" in metric:
        return 1.0
    if rule["kind"] in ("direction", "beats_by", "equivalent"):
        return 0.0
    return None


def bound_of(claim: dict) -> float:
    """A bound rule's bound: ``rule.bound`` where the claimed value is not the bound itself
    ("separates perfectly" judged as "every seed >= 0.99"), else the claimed value."""
    return float(claim["rule"].get("bound", claim["claimed"]))


def validate(claim: dict) -> None:
    """Raise RuleError if the rule is malformed or its region accepts 'no effect'."""
    kind = claim["rule"].get("kind")
    if kind not in RULE_KINDS:
        raise RuleError(f"rule kind {kind!r} not in {RULE_KINDS}")
    if kind in REGION_KINDS:
        lo, hi = region(claim)
        null = null_value(claim)
        claimed_is_null = not isinstance(claim["claimed"], list) and null is not None and \
            _number(claim["claimed"], "claimed") == null
        if null is not None and not claimed_is_null and lo <= null <= hi:
            raise RuleError(f"the accepted region [{fmt(lo)}, {fmt(hi)}] contains the null value {fmt(null)} "
                            "(no effect): narrow the tolerance so that 'no effect' is not accepted")
    elif kind in BOUND_KINDS:
        _number(bound_of(claim), f"{kind} bound")
    elif kind == "direction":
        if claim["rule"].get("sign", "+") not in ("+", "-"):
            raise RuleError(f"direction sign must be '+' or '-', got {claim['rule'].get('sign')!r}")
        if _number(claim["rule"].get("margin", 0.0), "margin") < 0:
            raise RuleError("direction margin must be >= 0")
    elif kind == "equivalent":
        if _number(claim["rule"].get("margin"), "equivalence margin") <= 0:
            raise RuleError("equivalent needs margin > 0")


def rule_text(claim: dict) -> str:
    """What the rule accepts, in words."""
    rule, kind = claim["rule"], claim["rule"]["kind"]
    if kind in REGION_KINDS:
        lo, hi = region(claim)
        rel = (f"the claimed excess over {fmt(null_value(claim))} ± {fmt(100 * float(rule.get('tol', 0)))} %"
               if rule.get("of") == "excess" else f"claimed ± {fmt(100 * float(rule.get('tol', 0)))} %")
        what = {"abs_tol": f"claimed ± {fmt(rule.get('tol'))}", "rel_tol": rel,
                "factor": f"claimed ÷/× {fmt(rule.get('factor', rule.get('tol')))}", "in_range": "the claimed range",
                "beats_by": "a difference of about the claimed size"}[kind]
        return (f"confirmed if the 95 % interval lies inside [{fmt(lo)}, {fmt(hi)}] ({what}), "
                "refuted if it lies wholly outside")
    if kind == "at_most":
        return f"every sample must be ≤ {fmt(bound_of(claim))}; one that is not refutes"
    if kind == "at_least":
        return f"every sample must be ≥ {fmt(bound_of(claim))}; one that is not refutes"
    if kind == "direction":
        side = ">" if rule.get("sign", "+") == "+" else "<"
        margin = float(rule.get("margin", 0.0))
        text = (f"confirmed if the difference is {side} 0 at α = {ALPHA} (Holm-adjusted within its family); "
                "refuted if its interval lies wholly on the other side")
        if margin > 0:
            text += f" or an equivalence test shows it inside ±{fmt(margin)}"
        return text
    if kind == "equivalent":
        return (f"confirmed if an equivalence test (TOST, α = {ALPHA}) puts the difference inside "
                f"±{fmt(rule['margin'])}; refuted if its interval lies wholly outside")
    return "not testable here"


# ─────────────────────────── judging ───────────────────────────
def _replicates_to_decide(m: Measurement, gap: float) -> int | None:
    """Replicates for the half-width to shrink below ``gap`` (spread as measured)."""
    if not m.n or not math.isfinite(m.half_width) or m.half_width <= 0:
        return None
    if gap <= 0:
        return None
    return max(m.n + 1, math.ceil(m.n * (m.half_width / gap) ** 2))


def _undecided(m: Measurement, boundary: float, what: str) -> Verdict:
    gap = abs(m.estimate - boundary)
    n_needed = _replicates_to_decide(m, gap)
    why = (f"95 % interval [{fmt(m.ci_low)}, {fmt(m.ci_high)}] (n = {m.n}) straddles {what} {fmt(boundary)}; "
           f"the study resolves ±{fmt(m.half_width, 2)}")
    if n_needed is None:
        why += "; the estimate sits on the boundary, so more replicates alone would not decide it"
    else:
        why += f"; about {n_needed} replicates would decide it if the spread stays as measured"
    return Verdict("inconclusive", why, n_needed)


def _no_interval(m: Measurement) -> Verdict:
    return Verdict("inconclusive", f"only {m.n} replicate(s) of a random quantity, so no interval: "
                                   "at least 2 seeds are needed to decide it", 2)


def judge_region(claim: dict, m: Measurement) -> Verdict:
    lo, hi = region(claim)
    if not m.has_interval:
        return _no_interval(m)
    low, high = (m.estimate, m.estimate) if m.exact else (m.ci_low, m.ci_high)
    where = f"[{fmt(lo)}, {fmt(hi)}]"
    shown = fmt(m.estimate) if m.exact else f"95 % interval [{fmt(low)}, {fmt(high)}]"
    if lo <= low and high <= hi:
        return Verdict("confirmed", f"{shown} lies inside the accepted region {where}")
    if high < lo or low > hi:
        side = "below" if high < lo else "above"
        return Verdict("refuted", f"{shown} lies wholly {side} the accepted region {where}", side=side)
    crossed = [b for b in (lo, hi) if low < b < high] or [lo if low <= lo else hi]
    boundary = min(crossed, key=lambda b: abs(m.estimate - b))
    return _undecided(m, boundary, "the region's edge")


def judge_bound(claim: dict, m: Measurement) -> Verdict:
    bound = bound_of(claim)
    upper = claim["rule"]["kind"] == "at_most"
    breaks = (lambda v: v > bound) if upper else (lambda v: v < bound)
    sign = "≤" if upper else "≥"
    if m.exact:
        ok = not breaks(m.estimate)
        return Verdict("confirmed" if ok else "refuted",
                       f"{fmt(m.estimate)} is {'' if ok else 'not '}{sign} {fmt(bound)}")
    if m.samples:
        bad = [v for v in m.samples if breaks(v)]
        worst = max(m.samples) if upper else min(m.samples)
        if bad:
            return Verdict("refuted", f"{len(bad)} of {len(m.samples)} samples break the bound {sign} {fmt(bound)} "
                                      f"(worst {fmt(worst)})")
        return Verdict("confirmed", f"all {len(m.samples)} samples are {sign} {fmt(bound)} (worst {fmt(worst)})")
    if not m.has_interval:
        return _no_interval(m)
    far, near = (m.ci_high, m.ci_low) if upper else (m.ci_low, m.ci_high)
    if not breaks(far):
        return Verdict("confirmed", f"the interval's far end {fmt(far)} is {sign} {fmt(bound)}")
    if breaks(near):
        return Verdict("refuted", f"the whole interval [{fmt(m.ci_low)}, {fmt(m.ci_high)}] breaks {sign} {fmt(bound)}")
    return _undecided(m, bound, "the bound")


def tost_p(m: Measurement, margin: float) -> float | None:
    """The equivalence test's p for |difference| < margin (None without the two groups)."""
    if not m.is_difference or len(m.a) < 2 or len(m.b) < 2:
        return None
    import numpy as np
    from statsmodels.stats.weightstats import ttost_ind, ttost_paired

    a, b = np.asarray(m.a), np.asarray(m.b)
    if m.paired:
        d = a - b
        if np.all(d == d[0]):
            return 0.0 if abs(d[0]) < margin else 1.0
        return float(ttost_paired(a, b, -margin, margin)[0])
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        return 0.0 if abs(a[0] - b[0]) < margin else 1.0
    return float(ttost_ind(a, b, -margin, margin, usevar="unequal")[0])


def _seeds_for_effect(m: Measurement, effect: float) -> int | None:
    """Seeds per group for 80 % power to detect ``effect`` (statsmodels power analysis)."""
    import numpy as np
    from statsmodels.stats.power import TTestIndPower, TTestPower

    if not m.is_difference or effect <= 0:
        return None
    a, b = np.asarray(m.a), np.asarray(m.b)
    if m.paired:
        sd = float(np.std(a - b, ddof=1)) if len(a) > 1 else math.nan
        solver = TTestPower()
    else:
        sd = math.sqrt((np.var(a, ddof=1) + np.var(b, ddof=1)) / 2) if min(len(a), len(b)) > 1 else math.nan
        solver = TTestIndPower()
    if not math.isfinite(sd) or sd == 0:
        return None
    alpha = ALPHA / (m.family_size or 1)  # Bonferroni: the strictest step of Holm
    try:
        n = solver.solve_power(effect_size=effect / sd, alpha=alpha, power=POWER, alternative="larger")
    except Exception:  # the solver fails for effects far below the noise
        return None
    n = float(np.atleast_1d(n)[0])
    return math.ceil(n) if math.isfinite(n) else None


def judge_direction(claim: dict, m: Measurement) -> Verdict:
    rule = claim["rule"]
    s = 1.0 if rule.get("sign", "+") == "+" else -1.0
    margin = float(rule.get("margin", 0.0))
    null = null_value(claim) or 0.0
    if not m.has_interval:
        return _no_interval(m)
    e_low, e_high = sorted((s * (m.ci_low - null), s * (m.ci_high - null)))
    if e_high < 0:
        return Verdict("refuted", f"the opposite holds: the 95 % interval [{fmt(m.ci_low)}, {fmt(m.ci_high)}] "
                                  f"lies wholly on the other side of {fmt(null)}")
    if margin > 0:
        p_eq = tost_p(m, margin)
        if p_eq is None and -margin < e_low and e_high < margin:
            p_eq = 0.0  # no groups to test: the 95 % interval inside ±margin is stricter than TOST's 90 %
        if p_eq is not None and p_eq < ALPHA:
            return Verdict("refuted", f"no difference as large as the margin ±{fmt(margin)}: equivalence test "
                                      f"{fmt_p(p_eq)} (difference {fmt(m.estimate)} [{fmt(m.ci_low)}, {fmt(m.ci_high)}])")
    p = m.p_for_decision
    family = (f" (Holm over {m.family_size} comparisons in '{m.family}')" if m.family_size and m.family_size > 1
              else "")
    significant = (p < ALPHA) if p is not None and math.isfinite(p) else (e_low > 0)
    if significant and s * (m.estimate - null) > 0:
        return Verdict("confirmed", f"difference {fmt(m.estimate)} [{fmt(m.ci_low)}, {fmt(m.ci_high)}], "
                                    f"{fmt_p(p) if p is not None else 'interval excludes 0'}{family}")
    target = float(rule.get("effect", margin or abs(m.estimate)))
    n_needed = _seeds_for_effect(m, target)
    why = (f"difference {fmt(m.estimate)} [{fmt(m.ci_low)}, {fmt(m.ci_high)}] (n = {m.n}), {fmt_p(p)}{family}: "
           f"not significant; the study resolves ±{fmt(m.half_width, 2)}")
    if n_needed is not None:
        why += f"; about {n_needed} seeds per group would detect a difference of {fmt(target, 2)} with 80 % power"
    return Verdict("inconclusive", why, n_needed)


def judge_equivalent(claim: dict, m: Measurement) -> Verdict:
    margin = float(claim["rule"]["margin"])
    null = null_value(claim) or 0.0
    if not m.has_interval:
        return _no_interval(m)
    if null == 1.0:  # a ratio: the margin is relative
        lo, hi = 1 / (1 + margin), 1 + margin
        sub = {**claim, "claimed": [lo, hi], "rule": {"kind": "in_range"}}
        return judge_region(sub, m)
    p_eq = tost_p(m, margin)
    if p_eq is not None and p_eq < ALPHA:
        return Verdict("confirmed", f"equivalence test {fmt_p(p_eq)}: the difference {fmt(m.estimate)} "
                                    f"[{fmt(m.ci_low)}, {fmt(m.ci_high)}] is inside ±{fmt(margin)}")
    if m.ci_low > margin or m.ci_high < -margin:
        return Verdict("refuted", f"the difference's interval [{fmt(m.ci_low)}, {fmt(m.ci_high)}] lies wholly "
                                  f"outside ±{fmt(margin)}")
    if p_eq is None and -margin <= m.ci_low and m.ci_high <= margin:
        return Verdict("confirmed", f"the 95 % interval [{fmt(m.ci_low)}, {fmt(m.ci_high)}] lies inside ±{fmt(margin)}")
    boundary = margin if m.estimate >= 0 else -margin
    out = _undecided(m, boundary, "the margin")
    extra = f" (equivalence test {fmt_p(p_eq)})" if p_eq is not None else ""
    return Verdict(out.verdict, out.why + extra, out.n_needed)


def judge(claim: dict, m: Measurement | None) -> Verdict:
    """The verdict of one claim on one measurement (None: not measured yet)."""
    kind = claim["rule"]["kind"]
    if kind == "not_testable":
        return Verdict("not testable", claim.get("reason", ""))
    if m is None:
        return Verdict("pending", "not measured yet")
    if math.isnan(m.estimate) or (not m.exact and math.isinf(m.estimate)):
        return Verdict("inconclusive", "the measurement is not a finite number (every run failed or diverged)")
    if kind in REGION_KINDS:
        return judge_region(claim, m)
    if kind in BOUND_KINDS:
        return judge_bound(claim, m)
    if kind == "direction":
        return judge_direction(claim, m)
    if kind == "equivalent":
        return judge_equivalent(claim, m)
    raise RuleError(f"rule kind {kind!r} not in {RULE_KINDS}")
