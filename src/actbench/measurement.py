"""A measured value with its uncertainty: what the claims ledger judges.

Every number a claim is decided on is a :class:`Measurement`: an estimate, its 95 %
interval and the number of independent replicates behind it (seeds, timing rounds),
plus the per-replicate values where a rule needs them (a bound is judged on every
sample). Exact computations (maths, a float64 grid) are measurements too, with a
zero-width interval and ``n = None``.

How each interval is made (stated on the Methodology page):

* ``mean_of``: mean over replicates, t-interval ``mean ± t(0.975, n-1)·sd/√n``;
* ``geo_mean_of``: geometric mean of positive ratios, t-interval on log10;
* ``median_of``: median over replicates (timing rounds), percentile bootstrap interval
  of the median (``scipy.stats.bootstrap``, 9,999 resamples, fixed seed);
* ``difference``: ``mean(a) − mean(b)`` with Welch's interval and p (independent seeds)
  or the paired-t interval and p (matched seeds); ``a`` and ``b`` are kept so that a
  rule can run its own test (an equivalence test with the claim's margin);
* ``ratio_of_paired``: a / b over matched rounds, geometric mean with the paired
  t-interval on log ratios (drift between rounds cancels in each pair);
* ``with_family``: Holm's adjustment over the comparisons one tutorial passage makes
  (``statsmodels.stats.multitest.multipletests``), recorded as ``p_adjusted``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

import numpy as np
from scipy import stats as st

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 9999


def _finite(values) -> np.ndarray:
    a = np.asarray(list(values), dtype=float)
    return a[np.isfinite(a)]


@dataclass(frozen=True)
class Measurement:
    estimate: float
    ci_low: float
    ci_high: float
    n: int | None  # independent replicates; None for an exact computation
    method: str
    samples: tuple[float, ...] = ()
    # differences only: the two groups, the test and its family
    a: tuple[float, ...] = ()
    b: tuple[float, ...] = ()
    paired: bool = False
    p: float | None = None
    p_adjusted: float | None = None
    family: str | None = None
    family_size: int | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def exact(self) -> bool:
        return self.n is None and self.ci_low == self.ci_high

    @property
    def is_difference(self) -> bool:
        return bool(self.a) and bool(self.b)

    @property
    def half_width(self) -> float:
        return (self.ci_high - self.ci_low) / 2

    @property
    def has_interval(self) -> bool:
        """An exact value, or an interval with both ends known (an end may be infinite:
        a physical lower bound has no upper end)."""
        return self.exact or not (math.isnan(self.ci_low) or math.isnan(self.ci_high))

    @property
    def p_for_decision(self) -> float | None:
        return self.p_adjusted if self.p_adjusted is not None else self.p

    def as_dict(self) -> dict:
        d = asdict(self)
        for k in ("samples", "a", "b"):
            d[k] = list(d[k])
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Measurement":
        d = dict(d)
        for k in ("samples", "a", "b"):
            d[k] = tuple(d.get(k) or ())
        d.setdefault("extra", {})
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


def exact(value: float, note: str = "") -> Measurement:
    """A computed value with no sampling error (maths, a float64 grid, a count)."""
    v = float(value)
    return Measurement(v, v, v, None, "exact", note=note)


def mean_of(values, note: str = "", confidence: float = CONFIDENCE) -> Measurement:
    """Mean over independent replicates with its t-interval (NaN interval for n < 2)."""
    a = _finite(values)
    n = len(a)
    if n == 0:
        return Measurement(math.nan, math.nan, math.nan, 0, "t", note=note)
    mean = float(a.mean())
    if n < 2:
        return Measurement(mean, math.nan, math.nan, 1, "t", tuple(a.tolist()), note=note)
    sd = float(a.std(ddof=1))
    half = float(st.t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n))
    return Measurement(mean, mean - half, mean + half, n, "t", tuple(a.tolist()), note=note)


def geo_mean_of(values, note: str = "", confidence: float = CONFIDENCE) -> Measurement:
    """Geometric mean of positive values over replicates (ratios spanning orders of
    magnitude), with the t-interval computed on log10 and transformed back."""
    a = _finite(values)
    a = a[a > 0]
    m = mean_of(np.log10(a), confidence=confidence)
    if not m.n:
        return Measurement(math.nan, math.nan, math.nan, 0, "t on log10", note=note)
    return Measurement(10 ** m.estimate, 10 ** m.ci_low if m.n > 1 else math.nan,
                       10 ** m.ci_high if m.n > 1 else math.nan, m.n, "t on log10", tuple(a.tolist()), note=note)


def median_of(values, note: str = "", confidence: float = CONFIDENCE, seed: int = 0) -> Measurement:
    """Median over replicates (timing rounds) with a percentile-bootstrap interval."""
    a = _finite(values)
    n = len(a)
    if n == 0:
        return Measurement(math.nan, math.nan, math.nan, 0, "bootstrap-median", note=note)
    med = float(np.median(a))
    if n < 3 or np.all(a == a[0]):
        lo = hi = med if n >= 3 else math.nan
        return Measurement(med, lo, hi, n, "bootstrap-median", tuple(a.tolist()), note=note)
    res = st.bootstrap((a,), np.median, confidence_level=confidence, n_resamples=BOOTSTRAP_RESAMPLES,
                       method="percentile", rng=np.random.default_rng(seed))
    lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
    return Measurement(med, min(lo, med), max(hi, med), n, "bootstrap-median", tuple(a.tolist()), note=note)


def difference(a, b, paired: bool = False, note: str = "", confidence: float = CONFIDENCE) -> Measurement:
    """mean(a) − mean(b): Welch (independent) or paired-t interval and two-sided p."""
    a_arr, b_arr = np.asarray(list(a), dtype=float), np.asarray(list(b), dtype=float)
    if paired:
        if a_arr.shape != b_arr.shape:
            raise ValueError(f"a paired difference needs equal lengths, got {len(a_arr)} and {len(b_arr)}")
        ok = np.isfinite(a_arr) & np.isfinite(b_arr)
        a_arr, b_arr = a_arr[ok], b_arr[ok]
        d = a_arr - b_arr
        m = mean_of(d, confidence=confidence)
        p = math.nan
        if m.n and m.n >= 2:
            sd = float(d.std(ddof=1))
            p = (0.0 if m.estimate != 0 else 1.0) if sd == 0 else float(st.ttest_1samp(d, 0.0).pvalue)
            if sd == 0:
                m = replace(m, ci_low=m.estimate, ci_high=m.estimate)
        return replace(m, method="paired-t", samples=(), a=tuple(a_arr.tolist()), b=tuple(b_arr.tolist()),
                       paired=True, p=p, note=note)
    a_arr, b_arr = _finite(a_arr), _finite(b_arr)
    n_a, n_b = len(a_arr), len(b_arr)
    diff = float(a_arr.mean() - b_arr.mean()) if n_a and n_b else math.nan
    base = dict(method="welch", a=tuple(a_arr.tolist()), b=tuple(b_arr.tolist()), note=note)
    if n_a < 2 or n_b < 2:
        return Measurement(diff, math.nan, math.nan, min(n_a, n_b), p=math.nan, **base)
    va, vb = a_arr.var(ddof=1) / n_a, b_arr.var(ddof=1) / n_b
    se = math.sqrt(va + vb)
    if se == 0:  # both groups constant: the difference is exact
        return Measurement(diff, diff, diff, min(n_a, n_b), p=0.0 if diff != 0 else 1.0, **base)
    dof = (va + vb) ** 2 / ((va ** 2 / (n_a - 1) if va else 0.0) + (vb ** 2 / (n_b - 1) if vb else 0.0))
    half = float(st.t.ppf(0.5 + confidence / 2, dof) * se)
    p = float(2 * st.t.sf(abs(diff / se), dof))
    return Measurement(diff, diff - half, diff + half, min(n_a, n_b), p=p, **base)


def ratio_of_paired(a, b, note: str = "", confidence: float = CONFIDENCE) -> Measurement:
    """a / b for matched replicates (timing rounds): the geometric mean of the per-pair
    ratios, with the paired t-interval and p on log ratios transformed back (null: 1)."""
    a_arr, b_arr = np.asarray(list(a), dtype=float), np.asarray(list(b), dtype=float)
    if a_arr.shape != b_arr.shape:
        raise ValueError(f"a paired ratio needs equal lengths, got {len(a_arr)} and {len(b_arr)}")
    ok = np.isfinite(a_arr) & np.isfinite(b_arr) & (a_arr > 0) & (b_arr > 0)
    ratios = a_arr[ok] / b_arr[ok]
    d = difference(np.log(a_arr[ok]), np.log(b_arr[ok]), paired=True, confidence=confidence)
    lo = math.exp(d.ci_low) if math.isfinite(d.ci_low) else math.nan
    hi = math.exp(d.ci_high) if math.isfinite(d.ci_high) else math.nan
    return Measurement(math.exp(d.estimate) if d.n else math.nan, lo, hi, d.n, "paired t on log ratios",
                       tuple(ratios.tolist()), p=d.p, note=note)


def with_family(measurements: dict[str, Measurement], family: str) -> dict[str, Measurement]:
    """Holm-adjust the p-values of one family of comparisons (the comparisons one passage
    of the tutorial makes); entries without a finite p keep p_adjusted None."""
    from statsmodels.stats.multitest import multipletests

    names = [k for k, m in measurements.items() if m.p is not None and math.isfinite(m.p)]
    out = dict(measurements)
    if names:
        adjusted = multipletests([measurements[k].p for k in names], alpha=0.05, method="holm")[1]
        for k, p_adj in zip(names, adjusted):
            out[k] = replace(measurements[k], p_adjusted=float(p_adj), family=family, family_size=len(names))
    return out


def negate(m: Measurement) -> Measurement:
    """b − a from a − b (the same test, the other way round)."""
    return replace(m, estimate=-m.estimate, ci_low=-m.ci_high, ci_high=-m.ci_low, a=m.b, b=m.a,
                   samples=tuple(-s for s in m.samples))


def reciprocal(m: Measurement) -> Measurement:
    """1 / a positive ratio (speed from time), interval and samples inverted alike."""
    if not m.ci_low > 0 and m.has_interval and not m.exact:
        raise ValueError("reciprocal needs a positive interval")
    return replace(m, estimate=1 / m.estimate, ci_low=1 / m.ci_high, ci_high=1 / m.ci_low,
                   samples=tuple(1 / s for s in m.samples))


def scaled(m: Measurement, factor: float) -> Measurement:
    """The same measurement in other units (factor > 0)."""
    if factor <= 0:
        raise ValueError(f"scale factor must be > 0, got {factor}")
    return replace(m, estimate=m.estimate * factor, ci_low=m.ci_low * factor, ci_high=m.ci_high * factor,
                   samples=tuple(s * factor for s in m.samples), a=tuple(v * factor for v in m.a),
                   b=tuple(v * factor for v in m.b))
