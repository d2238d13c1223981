"""What a test could have found: the smallest true effect it detects with 80% probability at the
5% level, given how many days it had and how noisy they were. Shown next to every holdout
result, so "not significant" reads "an edge smaller than this could not be told from luck
here", not "there is no edge".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.optimize import brentq
from scipy.stats import binom
from scipy.stats import t as student_t

from mltrainer.engine.newey_west import MeanTest

ALPHA = 0.05
POWER = 0.80


@dataclass(frozen=True)
class DetectableReturn:
    """The smallest true mean excess return the one-sided Newey-West test finds with
    probability `power`: as an annualised Sharpe ratio of the excess and as an annualised
    excess return."""

    sharpe: float
    annual_return: float


def detectable_return(
    test: MeanTest,
    *,
    alpha: float = ALPHA,
    power: float = POWER,
    periods_per_year: int = 252,
) -> DetectableReturn:
    """From the test's own length and standard error: a true mean of (t(1 - alpha) +
    t(power)) standard errors puts the t-statistic above the critical value `power` of the
    time (the normal approximation to the non-central t, checked by simulation in the tests).
    In Sharpe terms the volatility cancels and only the days and their autocorrelation
    (`inflation`) remain; in return terms the observed volatility sets the scale."""
    df = test.days - 1
    multiple = float(student_t.ppf(1.0 - alpha, df) + student_t.ppf(power, df))
    per_bar_sharpe = multiple * test.inflation / math.sqrt(test.days)
    return DetectableReturn(
        sharpe=per_bar_sharpe * math.sqrt(periods_per_year),
        annual_return=multiple * test.standard_error * periods_per_year,
    )


def critical_hits(days: int, rate: float, *, alpha: float = ALPHA) -> int:
    """The fewest hits out of `days` that a one-sided exact binomial test against `rate` calls
    significant at `alpha` (`days + 1` when none does)."""
    # P(X >= k) = binom.sf(k - 1); the smallest k with that at most alpha.
    k = int(binom.isf(alpha, days, rate)) + 1
    while k > 0 and binom.sf(k - 2, days, rate) <= alpha:
        k -= 1
    while k <= days and binom.sf(k - 1, days, rate) > alpha:
        k += 1
    return k


def detectable_accuracy(
    days: int, rate: float, *, alpha: float = ALPHA, power: float = POWER
) -> float:
    """The smallest true hit rate above `rate` (the best baseline's) that the one-sided exact
    binomial test on `days` independent days finds with probability `power`, as a gain in
    hit rate (0.05 = 5 points). Exact: the critical count under `rate`, then the rate that
    reaches it `power` of the time. 1 - rate when no rate can (too few days)."""
    if days < 1:
        raise ValueError(f"days must be >= 1; got {days}")
    if not 0.0 < rate < 1.0:
        raise ValueError(f"the baseline's rate must be between 0 and 1; got {rate}")
    needed = critical_hits(days, rate, alpha=alpha)
    if needed > days or binom.sf(needed - 1, days, 1.0 - 1e-12) < power:
        return 1.0 - rate

    def shortfall(true_rate: float) -> float:
        return float(binom.sf(needed - 1, days, true_rate)) - power

    if shortfall(rate) >= 0:
        return 0.0
    return float(brentq(shortfall, rate, 1.0 - 1e-12, xtol=1e-9)) - rate
