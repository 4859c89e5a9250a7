"""The decision rules (actbench.verdicts): every rule kind with intervals inside, straddling
and outside its region, bounds judged on every sample, sizes and equivalence tested, and
rules that would accept 'no effect' refused when the ledger is loaded."""

import math

import numpy as np
import pytest

from actbench import measurement as ms
from actbench.claims import ClaimsError, load_claims
from actbench.verdicts import fmt, fmt_p, judge, region, rule_text, validate


def interval(estimate, low, high, n=5, samples=()):
    return ms.Measurement(estimate, low, high, n, "t", tuple(samples))


def claim(kind, claimed, metric="x.metric", **rule):
    return {"id": "t", "claimed": claimed, "metric": metric, "rule": {"kind": kind, **rule}}


REGION_CASES = [
    # (rule, claimed, interval, verdict): inside, straddling, outside, for every region kind
    (("abs_tol", {"tol": 0.1}), 1.0, (1.0, 0.95, 1.05), "confirmed"),
    (("abs_tol", {"tol": 0.1}), 1.0, (1.05, 0.98, 1.12), "inconclusive"),
    (("abs_tol", {"tol": 0.1}), 1.0, (1.3, 1.2, 1.4), "refuted"),
    (("rel_tol", {"tol": 0.1}), 10.0, (10.0, 9.5, 10.5), "confirmed"),
    (("rel_tol", {"tol": 0.1}), 10.0, (10.5, 10.0, 11.5), "inconclusive"),
    (("rel_tol", {"tol": 0.1}), 10.0, (7.0, 6.0, 8.0), "refuted"),
    (("factor", {"factor": 2.0}), 8.0, (6.0, 5.0, 7.0), "confirmed"),
    (("factor", {"factor": 2.0}), 8.0, (4.5, 3.0, 6.0), "inconclusive"),
    (("factor", {"factor": 2.0}), 8.0, (2.0, 1.5, 2.5), "refuted"),
    (("in_range", {}), [5.0, 10.0], (7.0, 6.0, 8.0), "confirmed"),
    (("in_range", {}), [5.0, 10.0], (5.5, 4.0, 7.0), "inconclusive"),
    (("in_range", {}), [5.0, 10.0], (12.0, 11.0, 13.0), "refuted"),
    (("beats_by", {"tol": 0.2}), 0.4, (0.4, 0.3, 0.5), "confirmed"),
    (("beats_by", {"tol": 0.2}), 0.4, (0.25, 0.1, 0.4), "inconclusive"),
    (("beats_by", {"tol": 0.2}), 0.4, (0.05, 0.01, 0.1), "refuted"),  # right sign, wrong size
]


@pytest.mark.parametrize("rule, claimed, ci, expected", REGION_CASES)
def test_region_rules_decide_on_the_interval(rule, claimed, ci, expected):
    kind, params = rule
    c = claim(kind, claimed, **params)
    v = judge(c, interval(*ci))
    assert v.verdict == expected, v.why
    if expected == "inconclusive":
        assert "resolves ±" in v.why and v.n_needed and v.n_needed > 5


def test_a_point_estimate_inside_the_region_is_not_enough():
    # The interval straddles the edge although the estimate lies inside: not confirmed.
    c = claim("abs_tol", 0.1, tol=0.3)
    assert judge(c, interval(0.3, -0.1, 0.7)).verdict == "inconclusive"
    # and a refutation needs the whole interval outside (mistake5-hybrid-accuracy's case)
    assert judge(claim("abs_tol", 0.1, tol=0.3), interval(0.94, -0.12, 2.0)).verdict == "inconclusive"


def test_exact_values_are_decided_directly():
    c = claim("abs_tol", 0.93, tol=0.005)
    assert judge(c, ms.exact(1.083)).verdict == "refuted"
    assert judge(c, ms.exact(0.931)).verdict == "confirmed"


def test_one_replicate_gives_no_interval_and_no_verdict():
    v = judge(claim("abs_tol", 1.0, tol=0.5), ms.mean_of([1.0]))
    assert v.verdict == "inconclusive" and "at least 2 seeds" in v.why


@pytest.mark.parametrize("breaking, expected", [(0, "confirmed"), (1, "refuted")])
def test_bounds_are_judged_on_every_sample(breaking, expected):
    # 20 nets; with one breaking the bound, the geometric mean and its interval stay below it
    samples = [1e-13] * (20 - breaking) + [2e-12] * breaking
    c = claim("at_most", 9.1e-13)
    m = ms.geo_mean_of(samples)
    assert m.ci_high < 9.1e-13  # the mean alone would not show it
    v = judge(c, m)
    assert v.verdict == expected, v.why


def test_bound_without_samples_uses_the_far_end():
    c = claim("at_least", 2.0)
    assert judge(c, interval(3.0, 2.5, 3.5)).verdict == "confirmed"
    assert judge(c, interval(2.2, 1.8, 2.6)).verdict == "inconclusive"
    assert judge(c, interval(1.0, 0.5, 1.5)).verdict == "refuted"


def test_one_sided_physical_bound_refutes_a_claim_below_it():
    floor = ms.Measurement(1.96, 1.96, math.inf, None, "physical lower bound")
    v = judge(claim("factor", 0.5, factor=1.5), floor)
    assert v.verdict == "refuted" and v.side == "above"


def groups(mean_a, mean_b, n=8, sd=0.1, seed=0):
    rng = np.random.default_rng(seed)
    a = mean_a + sd * rng.standard_normal(n)
    b = mean_b + sd * rng.standard_normal(n)
    return a, b


def test_direction_confirmed_refuted_and_inconclusive():
    c = claim("direction", "a > b", sign="+")
    assert judge(c, ms.difference(*groups(1.0, 0.0))).verdict == "confirmed"
    assert judge(c, ms.difference(*groups(0.0, 1.0))).verdict == "refuted"
    v = judge(c, ms.difference(*groups(0.02, 0.0, n=3, sd=0.5)))
    assert v.verdict == "inconclusive" and "seeds per group" in v.why


def test_direction_with_margin_refutes_a_negligible_difference():
    # A tiny but real difference, inside the margin that would matter: equivalence refutes "beats".
    a, b = groups(0.01, 0.0, n=30, sd=0.02, seed=1)
    c = claim("direction", "a > b", sign="+", margin=0.1)
    v = judge(c, ms.difference(a, b))
    assert v.verdict == "refuted" and "equivalence test" in v.why
    assert judge(claim("direction", "a > b", sign="+"), ms.difference(a, b)).verdict != "refuted"


def test_direction_uses_the_family_adjusted_p():
    c = claim("direction", "a > b", sign="+")
    a, b = groups(1.0, 0.0)
    m = ms.Measurement(0.3, 0.05, 0.55, 8, "welch", a=tuple(a), b=tuple(b), p=0.01)
    assert judge(c, m).verdict == "confirmed"
    others = {f"y{i}": ms.Measurement(0.0, -1, 1, 8, "welch", a=tuple(a), b=tuple(b), p=0.9) for i in range(9)}
    adjusted = ms.with_family({"x": m, **others}, "ten comparisons")["x"]
    assert adjusted.p_adjusted == pytest.approx(0.1) and adjusted.family_size == 10
    v = judge(c, adjusted)
    assert v.verdict == "inconclusive" and "Holm over 10 comparisons" in v.why


def test_direction_on_a_ratio_has_null_one():
    c = claim("direction", "a slower", metric="x.fwd_time_ratio_vs_relu", sign="+")
    slower = ms.ratio_of_paired([2.0, 2.1, 1.9, 2.05], [1.0, 1.02, 0.99, 1.01])
    assert judge(c, slower).verdict == "confirmed"
    faster = ms.ratio_of_paired([0.5, 0.51, 0.49, 0.5], [1.0, 1.02, 0.99, 1.01])
    assert judge(c, faster).verdict == "refuted"


def test_equivalence_can_confirm_and_refute():
    c = claim("equivalent", "same", margin=0.1)
    assert judge(c, ms.difference(*groups(0.0, 0.0, n=30, sd=0.05))).verdict == "confirmed"
    assert judge(c, ms.difference(*groups(0.5, 0.0, n=30, sd=0.05))).verdict == "refuted"
    assert judge(c, ms.difference(*groups(0.05, 0.0, n=3, sd=0.3))).verdict == "inconclusive"


def test_a_window_that_accepts_no_effect_is_refused():
    with pytest.raises(ValueError, match="contains the null value 1"):
        validate(claim("rel_tol", 1.5, metric="leaky_relu.fwd_bwd_time_ratio_vs_relu", tol=0.5))
    validate(claim("factor", 1.5, metric="leaky_relu.fwd_bwd_time_ratio_vs_relu", factor=1.4))
    # "10 % slower": the tolerance on the excess keeps 1 out
    c = claim("rel_tol", 1.1, metric="mlp.leaky_relu.step_time_ratio_vs_relu", tol=0.5, of="excess")
    validate(c)
    assert region(c) == pytest.approx((1.05, 1.15))
    with pytest.raises(ValueError, match="null value 0"):
        validate(claim("beats_by", 0.2, tol=0.3))
    text = "- {id: a, section: '1', claim: x, claimed: 1.5, study: kernel_cost, metric: a.fwd_ratio_vs_relu, rule: {kind: rel_tol, tol: 0.5}}\n"
    with pytest.raises(ClaimsError, match="claim a: the accepted region"):
        load_claims(text)


def test_rules_say_in_words_what_they_accept():
    assert "[0.9, 1.1]" in rule_text(claim("abs_tol", 1.0, tol=0.1))
    assert "every sample" in rule_text(claim("at_most", 9.1e-13))
    assert "equivalence" in rule_text(claim("equivalent", "same", margin=0.1))


@pytest.mark.parametrize("value, text", [(1e-20, "1e−20"), (9.095e-13, "9.095e−13"), (1e-40, "1e−40"),
                                         (0.0, "0"), (-0.0335, "−0.0335"), (2.3e-17, "2.3e−17")])
def test_no_non_zero_value_prints_as_zero(value, text):
    assert fmt(value) == text


def test_p_values_below_the_floor():
    assert fmt_p(1e-20) == "p < 1e-16" and fmt_p(0.032) == "p = 0.032" and fmt_p(float("nan")) == "p = n/a" \
        or fmt_p(float("nan")) == "n/a"
