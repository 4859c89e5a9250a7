"""Statistics across seeds (actbench.stats), checked against scipy and hand-computed cases."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from actbench import stats


def test_mean_ci_uses_the_t_distribution():
    values = [1.0, 2.0, 3.0, 4.0, 5.0]
    s = stats.mean_ci(values)
    half = 2.7764451051977987 * np.std(values, ddof=1) / math.sqrt(5)  # t(0.975, 4)
    assert s["mean"] == 3.0 and s["n"] == 5
    assert s["half_width"] == pytest.approx(half)
    assert (s["ci_low"], s["ci_high"]) == pytest.approx((3 - half, 3 + half))


def test_mean_ci_small_and_non_finite_inputs():
    assert math.isnan(stats.mean_ci([]).get("mean"))
    one = stats.mean_ci([2.0, float("nan")])
    assert one["n"] == 1 and one["mean"] == 2.0 and math.isnan(one["half_width"])


def test_ci_coverage_is_about_95_percent():
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(2000):
        s = stats.mean_ci(rng.normal(10.0, 3.0, size=5))
        hits += s["ci_low"] <= 10.0 <= s["ci_high"]
    assert 0.93 < hits / 2000 < 0.97


def test_welch_matches_scipy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(0, 1, 6), rng.normal(1, 3, 9)
    w = stats.welch(a, b)
    ref = st.ttest_ind(a, b, equal_var=False)
    assert w["p"] == pytest.approx(ref.pvalue)
    assert w["t"] == pytest.approx(ref.statistic)
    assert w["diff"] == pytest.approx(a.mean() - b.mean())
    assert w["ci_low"] < w["diff"] < w["ci_high"]


def test_welch_degenerate_cases():
    same = stats.welch([1.0, 1.0, 1.0], [1.0, 1.0])
    assert same["p"] == 1.0 and same["diff"] == 0.0
    apart = stats.welch([2.0, 2.0], [1.0, 1.0])
    assert apart["p"] == 0.0 and apart["ci_low"] == apart["ci_high"] == 1.0
    assert math.isnan(stats.welch([1.0], [1.0, 2.0])["p"])


def test_paired_matches_scipy_and_drops_incomplete_pairs():
    a = np.array([1.0, 2.0, 4.0, 3.0, float("nan")])
    b = np.array([0.5, 1.0, 3.5, 3.5, 1.0])
    r = stats.paired(a, b)
    ref = st.ttest_rel(a[:4], b[:4])
    assert r["n"] == 4 and r["p"] == pytest.approx(ref.pvalue)
    assert stats.paired([1, 2], [1, 2])["p"] == 1.0
    with pytest.raises(ValueError, match="equal-length"):
        stats.paired([1, 2, 3], [1, 2])


def test_holm_adjustment():
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert stats.holm([0.5, 0.001]) == pytest.approx([0.5, 0.002])
    out = stats.holm([0.02, float("nan"), 0.9])
    assert out[0] == pytest.approx(0.04) and math.isnan(out[1]) and out[2] == pytest.approx(0.9)
    assert max(stats.holm([0.6, 0.7, 0.8])) <= 1.0


def test_compare_to_baseline_finds_the_real_difference():
    rng = np.random.default_rng(2)
    rows = [{"act": a, "v": v} for a, mu in (("relu", 98.0), ("same", 98.0), ("worse", 95.0))
            for v in rng.normal(mu, 0.2, 5)]
    out = stats.compare_to_baseline(pd.DataFrame(rows), "act", "v", "relu").set_index("act")
    assert set(out.index) == {"same", "worse"}
    assert out.loc["worse", "significant"] and out.loc["worse", "diff"] < 0
    assert not out.loc["same", "significant"]
    assert (out["p_holm"] >= out["p"]).all()
    with pytest.raises(ValueError, match="baseline 'gelu' is not among"):
        stats.compare_to_baseline(pd.DataFrame(rows), "act", "v", "gelu")


def test_log10_summary_is_a_geometric_mean():
    s = stats.log10_summary([1e-2, 1e-4, 1e-6])
    assert s["geo_mean"] == pytest.approx(1e-4)
    assert s["geo_ci_low"] < 1e-4 < s["geo_ci_high"]


def test_summarize_groups():
    df = pd.DataFrame({"g": ["a", "a", "b", "b"], "x": [1.0, 3.0, 10.0, 10.0]})
    out = stats.summarize(df, "g", "x").set_index("g")
    assert out.loc["a", "mean"] == 2.0 and out.loc["b", "half_width"] == 0.0
