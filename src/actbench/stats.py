"""Statistics across seeds: means with t-based confidence intervals, Welch tests against a
baseline with Holm's correction, and paired tests for matched configurations.

Conventions (stated on the docs pages that use them):

* A 95% CI of a mean over n seeds is mean ± t(0.975, n-1) · sd / sqrt(n).
* "A differs from the baseline" uses Welch's two-sample t-test (unequal variances,
  two-sided) on per-seed values; the p-values of one family of comparisons (every
  activation against ReLU for one metric) are adjusted with Holm's step-down method,
  which controls the family-wise error rate at alpha without assuming independence.
* Matched designs (the same configuration and seed run with two activations) use a
  paired t-test on the per-cell differences.
* Ratios spanning orders of magnitude are summarised on log10 scale (geometric mean and
  its CI).

Degenerate inputs are handled explicitly rather than returning NaN silently: two groups
with zero spread are "different" (p = 0) when their means differ and identical (p = 1)
when they do not; fewer than two values give NaN intervals and p-values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats as _st


def _clean(values) -> np.ndarray:
    a = np.asarray(values, dtype=float)
    return a[np.isfinite(a)]


def mean_ci(values, confidence: float = 0.95) -> dict:
    """mean, sd, n and the t-based CI of the mean (NaN interval for n < 2), plus the finite
    ``values`` themselves (a report can then record them as a Measurement)."""
    a = _clean(values)
    n = len(a)
    if n == 0:
        return {"mean": math.nan, "sd": math.nan, "n": 0, "ci_low": math.nan, "ci_high": math.nan,
                "half_width": math.nan, "values": []}
    mean = float(a.mean())
    if n < 2:
        return {"mean": mean, "sd": math.nan, "n": 1, "ci_low": math.nan, "ci_high": math.nan,
                "half_width": math.nan, "values": a.tolist()}
    sd = float(a.std(ddof=1))
    half = float(_st.t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n))
    return {"mean": mean, "sd": sd, "n": n, "ci_low": mean - half, "ci_high": mean + half, "half_width": half,
            "values": a.tolist()}


def summarize(df: pd.DataFrame, by: str | Sequence[str], value: str, confidence: float = 0.95) -> pd.DataFrame:
    """One row per group: mean, sd, n, ci_low, ci_high, half_width of ``value``."""
    by = [by] if isinstance(by, str) else list(by)
    rows = []
    for key, grp in df.groupby(by, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, key)), **mean_ci(grp[value], confidence)})
    return pd.DataFrame(rows)


def log10_summary(values, confidence: float = 0.95) -> dict:
    """Geometric mean and its CI (computed on log10 of the positive values)."""
    a = _clean(values)
    a = a[a > 0]
    s = mean_ci(np.log10(a), confidence)
    return {"geo_mean": 10 ** s["mean"] if s["n"] else math.nan, "n": s["n"],
            "geo_ci_low": 10 ** s["ci_low"] if s["n"] > 1 else math.nan,
            "geo_ci_high": 10 ** s["ci_high"] if s["n"] > 1 else math.nan,
            "log10_sd": s["sd"]}


def welch(a, b, confidence: float = 0.95) -> dict:
    """Welch's t-test of mean(a) - mean(b): diff, its CI, t, df and the two-sided p-value."""
    a, b = _clean(a), _clean(b)
    out = {"diff": math.nan, "ci_low": math.nan, "ci_high": math.nan, "t": math.nan, "df": math.nan,
           "p": math.nan, "n_a": len(a), "n_b": len(b)}
    if len(a) < 2 or len(b) < 2:
        if len(a) and len(b):
            out["diff"] = float(a.mean() - b.mean())
        return out
    diff = float(a.mean() - b.mean())
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    out["diff"] = diff
    if se == 0:  # both groups constant: the difference is exact
        out.update(ci_low=diff, ci_high=diff, p=0.0 if diff != 0 else 1.0, t=math.copysign(math.inf, diff) if diff else 0.0)
        return out
    dof = (va + vb) ** 2 / ((va ** 2 / (len(a) - 1) if va else 0.0) + (vb ** 2 / (len(b) - 1) if vb else 0.0))
    t = diff / se
    half = float(_st.t.ppf(0.5 + confidence / 2, dof) * se)
    out.update(t=t, df=dof, p=float(2 * _st.t.sf(abs(t), dof)), ci_low=diff - half, ci_high=diff + half)
    return out


def paired(a, b, confidence: float = 0.95) -> dict:
    """Paired t-test on the differences a_i - b_i (pairs with a non-finite member are dropped)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired test needs equal-length inputs, got {a.shape} and {b.shape}")
    ok = np.isfinite(a) & np.isfinite(b)
    d = a[ok] - b[ok]
    s = mean_ci(d, confidence)
    out = {"diff": s["mean"], "ci_low": s["ci_low"], "ci_high": s["ci_high"], "n": s["n"], "p": math.nan}
    if s["n"] >= 2:
        if s["sd"] == 0:
            out.update(p=0.0 if s["mean"] != 0 else 1.0, ci_low=s["mean"], ci_high=s["mean"])
        else:
            out["p"] = float(2 * _st.t.sf(abs(s["mean"] / (s["sd"] / math.sqrt(s["n"]))), s["n"] - 1))
    return out


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values (NaN entries stay NaN and do not count)."""
    p = np.asarray(pvalues, dtype=float)
    adjusted = np.full_like(p, np.nan)
    idx = np.where(np.isfinite(p))[0]
    m = len(idx)
    order = idx[np.argsort(p[idx], kind="stable")]
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted.tolist()


def compare_to_baseline(df: pd.DataFrame, group: str, value: str, baseline: str,
                        alpha: float = 0.05) -> pd.DataFrame:
    """Welch test of every group against ``baseline`` (diff = group − baseline), Holm-adjusted
    over the family of comparisons; ``significant`` means p_holm < alpha."""
    if baseline not in set(df[group]):
        raise ValueError(f"baseline {baseline!r} is not among the {group} values {sorted(set(df[group]))}")
    base = df.loc[df[group] == baseline, value]
    rows = []
    for name, grp in df.groupby(group, sort=False):
        if name == baseline:
            continue
        rows.append({group: name, "baseline": baseline, **welch(grp[value], base)})
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["p_holm"] = holm(out["p"])
    out["alpha"] = alpha
    out["significant"] = out["p_holm"] < alpha
    return out
