"""Is the mean of a daily return series above zero, allowing for autocorrelation? The Newey-West
(HAC) t-test: the mean's standard error is built from the series' autocovariances up to a lag,
weighted by the Bartlett kernel, so neighbouring days that move together do not count as
independent evidence.

Chosen over a stationary block bootstrap (also at hand, in `arch.bootstrap`) because it is
closed-form: the same series gives the same p-value to the last bit, with no random draws to
seed, and it costs microseconds, so every trial, comparison and holdout can carry it. It agrees
with statsmodels' `OLS(x, 1).fit(cov_type="HAC", use_t=True)` to the last digits (tested);
statsmodels itself is not imported, to keep it out of every worker process.

Two of statsmodels' conventions, one computation: `student` (the n / (n - 1) correction and a
Student t with n - 1 degrees of freedom: the return test on a strategy's days) and `normal` (no
correction, the normal distribution: statsmodels' HAC default, which the return and rank
targets' tests on forecasts and Rank ICs have used since they were recorded).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.stats import norm
from scipy.stats import t as student_t

# Below this many days a mean's t-test says nothing a reader should act on.
MIN_DAYS = 10

Convention = Literal["student", "normal"]


def default_lags(days: int, horizon: int = 1) -> int:
    """Newey and West's (1994) rule of thumb, floor(4 (n / 100)^(2/9)), and never fewer than
    the horizon: a position that follows an h-bar forecast tends to repeat for h days."""
    return max(math.floor(4.0 * (days / 100.0) ** (2.0 / 9.0)), horizon, 1)


@dataclass(frozen=True)
class MeanTest:
    """The Newey-West test of a series' mean: mean and standard error per bar, the t-statistic,
    its one-sided p-value (mean > 0), the lags used, and `inflation`: the standard error over
    the one independent days would give (1.0 for a series without autocorrelation). Under the
    `student` convention p-values come from a Student t with n - 1 degrees of freedom, under
    `normal` from the normal distribution."""

    mean: float
    standard_error: float
    t_stat: float
    p_value: float
    lags: int
    days: int
    inflation: float
    convention: Convention = "student"

    @property
    def two_sided_p_value(self) -> float:
        """P(|T| >= |t|): does the mean differ from zero in either direction?"""
        if self.standard_error == 0.0:
            return 1.0 if self.mean == 0.0 or self.days < 2 else 0.0
        return float(min(1.0, 2.0 * _tail(abs(self.t_stat), self.days, self.convention)))


def _tail(t_stat: float, days: int, convention: Convention) -> float:
    """P(T >= t) under the convention's distribution."""
    if convention == "normal":
        return float(norm.sf(t_stat))
    return float(student_t.sf(t_stat, days - 1))


def long_run_variance(series: np.ndarray, lags: int, *, correction: bool = True) -> float:
    """The Bartlett-weighted sum of autocovariances (divided by n, as Newey and West do), with
    the n / (n - 1) small-sample correction statsmodels applies when asked (`correction`)."""
    x = np.asarray(series, dtype=float)
    n = x.size
    centred = x - x.mean()
    total = float(centred @ centred) / n
    for lag in range(1, min(lags, n - 1) + 1):
        weight = 1.0 - lag / (lags + 1.0)
        total += 2.0 * weight * float(centred[lag:] @ centred[:-lag]) / n
    return max(total, 0.0) * (n / (n - 1) if correction else 1.0)


def mean_test(
    series: np.ndarray,
    *,
    lags: int | None = None,
    horizon: int = 1,
    convention: Convention = "student",
) -> MeanTest:
    """One-sided Newey-West t-test that the mean of `series` is above zero. A series without
    variation has no evidence either way when its mean is 0 (a strategy identical to its
    baseline every day: t = 0, p = 1), and is certain when it is not (t infinite)."""
    x = np.asarray(series, dtype=float)
    n = int(x.size)
    if n < MIN_DAYS:
        raise ValueError(f"a mean test needs at least {MIN_DAYS} days; got {n}")
    if not np.all(np.isfinite(x)):
        raise ValueError("the series to test has NaN or infinite values")
    used = default_lags(n, horizon) if lags is None else lags
    if used < 0:
        raise ValueError(f"lags must be >= 0; got {used}")
    return _tested(x, used, convention)


def known_mean_test(values: np.ndarray | list[float], lags: int) -> MeanTest:
    """The `normal`-convention test of the finite values among `values` (a Rank IC is
    undefined on a date whose forecasts are all equal; such dates are left out), with
    `lags` as given: a mean of overlapping h-bar values is autocorrelated up to h - 1 lags.
    Fewer than two values are no evidence (p = 1)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 2:
        mean = float(x.mean()) if x.size else 0.0
        return MeanTest(mean, 0.0, 0.0, 1.0, max(lags, 0), int(x.size), 1.0, "normal")
    return _tested(x, max(lags, 0), "normal")


def _tested(x: np.ndarray, lags: int, convention: Convention) -> MeanTest:
    n = int(x.size)
    mean = float(x.mean())
    variance = long_run_variance(x, lags, correction=convention == "student")
    standard_error = math.sqrt(variance / n)
    plain = float(np.std(x, ddof=1)) / math.sqrt(n)
    if standard_error == 0.0 or plain == 0.0:
        if mean == 0.0:
            return MeanTest(mean, 0.0, 0.0, 1.0, lags, n, 1.0, convention)
        certain = 0.0 if mean > 0 else 1.0
        return MeanTest(mean, 0.0, math.copysign(math.inf, mean), certain, lags, n, 1.0, convention)
    t_stat = mean / standard_error
    return MeanTest(
        mean=mean,
        standard_error=standard_error,
        t_stat=t_stat,
        p_value=_tail(t_stat, n, convention),
        lags=lags,
        days=n,
        inflation=standard_error / plain,
        convention=convention,
    )
