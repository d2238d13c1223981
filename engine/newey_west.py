"""Is the mean of a daily return series above zero, allowing for autocorrelation? The Newey-West
(HAC) t-test: the mean's standard error is built from the series' autocovariances up to a lag,
weighted by the Bartlett kernel, so neighbouring days that move together do not count as
independent evidence.

Chosen over a stationary block bootstrap (also at hand, in `arch.bootstrap`) because it is
closed-form: the same series gives the same p-value to the last bit, with no random draws to
seed, and it costs microseconds, so every trial, comparison and holdout can carry it. It agrees
with statsmodels' `OLS(x, 1).fit(cov_type="HAC", use_t=True)` to the last digits (tested);
statsmodels itself is not imported, to keep it out of every worker process.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import t as student_t

# Below this many days a mean's t-test says nothing a reader should act on.
MIN_DAYS = 10


def default_lags(days: int, horizon: int = 1) -> int:
    """Newey and West's (1994) rule of thumb, floor(4 (n / 100)^(2/9)), and never fewer than
    the horizon: a position that follows an h-bar forecast tends to repeat for h days."""
    return max(math.floor(4.0 * (days / 100.0) ** (2.0 / 9.0)), horizon, 1)


@dataclass(frozen=True)
class MeanTest:
    """The Newey-West test of a series' mean: mean and standard error per bar, the t-statistic,
    its one-sided p-value (mean > 0, Student t with n - 1 degrees of freedom), the lags used,
    and `inflation`: the standard error over the one independent days would give (1.0 for a
    series without autocorrelation)."""

    mean: float
    standard_error: float
    t_stat: float
    p_value: float
    lags: int
    days: int
    inflation: float

    @property
    def two_sided_p_value(self) -> float:
        """P(|T| >= |t|): does the mean differ from zero in either direction?"""
        if self.standard_error == 0.0:
            return 1.0
        return float(min(1.0, 2.0 * student_t.sf(abs(self.t_stat), self.days - 1)))


def long_run_variance(series: np.ndarray, lags: int) -> float:
    """The Bartlett-weighted sum of autocovariances (divided by n, as Newey and West do), with
    the n / (n - 1) small-sample correction statsmodels applies by default."""
    x = np.asarray(series, dtype=float)
    n = x.size
    centred = x - x.mean()
    total = float(centred @ centred) / n
    for lag in range(1, min(lags, n - 1) + 1):
        weight = 1.0 - lag / (lags + 1.0)
        total += 2.0 * weight * float(centred[lag:] @ centred[:-lag]) / n
    return max(total, 0.0) * n / (n - 1)


def mean_test(series: np.ndarray, *, lags: int | None = None, horizon: int = 1) -> MeanTest:
    """One-sided Newey-West t-test that the mean of `series` is above zero. A series without
    variation (a strategy identical to its baseline every day) has no evidence either way:
    t = 0, p = 1."""
    x = np.asarray(series, dtype=float)
    n = int(x.size)
    if n < MIN_DAYS:
        raise ValueError(f"a mean test needs at least {MIN_DAYS} days; got {n}")
    if not np.all(np.isfinite(x)):
        raise ValueError("the series to test has NaN or infinite values")
    used = default_lags(n, horizon) if lags is None else lags
    if used < 0:
        raise ValueError(f"lags must be >= 0; got {used}")
    mean = float(x.mean())
    variance = long_run_variance(x, used)
    standard_error = math.sqrt(variance / n)
    plain = float(np.std(x, ddof=1)) / math.sqrt(n)
    if standard_error == 0.0 or plain == 0.0:
        return MeanTest(mean, 0.0, 0.0, 1.0, used, n, 1.0)
    t_stat = mean / standard_error
    return MeanTest(
        mean=mean,
        standard_error=standard_error,
        t_stat=t_stat,
        p_value=float(student_t.sf(t_stat, n - 1)),
        lags=used,
        days=n,
        inflation=standard_error / plain,
    )
