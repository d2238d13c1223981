"""What a ranking of a universe earns and how well it ranks, date by date: rows (a stock on a
date) gathered into dates x stocks matrices, the correlation of forecast and realised returns
across each date's stocks (IC, Rank IC), the top and bottom fifth as equal-weighted portfolios
rebalanced every date with costs on every change of weight, and the realised return of each
fifth of the forecast. Vectorised over dates and stocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

QUANTILES = 5
# Fewer stocks than this on a date give no correlation worth averaging.
MIN_STOCKS_PER_DATE = 3


@dataclass(frozen=True)
class Grid:
    """Where each row sits in a dates x stocks matrix."""

    day: np.ndarray
    member: np.ndarray
    dates: list[str]
    members: list[str]

    @classmethod
    def of(cls, dates: Sequence[str], symbols: Sequence[str]) -> Grid:
        """Rows in date order; dates and stocks numbered in the order they first appear."""
        day_names, day = np.unique(np.asarray(dates), return_inverse=True)
        member_names, member = np.unique(np.asarray(symbols), return_inverse=True)
        return cls(day, member, [str(d) for d in day_names], [str(m) for m in member_names])

    def matrix(self, values: Sequence[float] | np.ndarray) -> np.ndarray:
        """`values` (one per row) as dates x stocks, NaN where a stock has no row that date."""
        out = np.full((len(self.dates), len(self.members)), np.nan)
        out[self.day, self.member] = np.asarray(values, dtype=float)
        return out


def top_k(members: int) -> int:
    """How many stocks the long (and the short) side holds: a fifth, at least one."""
    return max(1, members // QUANTILES)


def _row_ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (1 = lowest) within each date; NaN stays NaN."""
    missing = np.isnan(values)
    ranks = rankdata(np.where(missing, np.inf, values), axis=1)
    return np.where(missing, np.nan, ranks)


def correlation_by_date(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Pearson correlation across each date's stocks that have both values; NaN on a date with
    fewer than `MIN_STOCKS_PER_DATE` such stocks or with no spread in either."""
    valid = ~(np.isnan(first) | np.isnan(second))
    count = valid.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(valid, first, 0.0)
        b = np.where(valid, second, 0.0)
        a = np.where(valid, a - a.sum(axis=1, keepdims=True) / count[:, None], 0.0)
        b = np.where(valid, b - b.sum(axis=1, keepdims=True) / count[:, None], 0.0)
        spread = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
        corr = (a * b).sum(axis=1) / spread
    return np.where((count >= MIN_STOCKS_PER_DATE) & (spread > 0), corr, np.nan)


def ic_by_date(forecast: np.ndarray, realised: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per date: the IC (Pearson) and the Rank IC (Spearman) of forecast and realised."""
    both = ~(np.isnan(forecast) | np.isnan(realised))
    ranked_forecast = _row_ranks(np.where(both, forecast, np.nan))
    ranked_realised = _row_ranks(np.where(both, realised, np.nan))
    return (
        correlation_by_date(forecast, realised),
        correlation_by_date(ranked_forecast, ranked_realised),
    )


def sides(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Equal weights 1/k on each date's k highest scores (long) and its k lowest (short, as
    positive weights); ties go to the stock listed first. Stocks without a score hold nothing."""
    missing = np.isnan(scores)
    held = (~missing).sum(axis=1, keepdims=True)
    size = np.minimum(k, held // 2)
    high_first = np.argsort(np.where(missing, np.inf, -scores), axis=1, kind="stable")
    low_first = np.argsort(np.where(missing, np.inf, scores), axis=1, kind="stable")
    position = np.arange(scores.shape[1])[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(size > 0, 1.0 / size, 0.0)
    long = np.zeros(scores.shape)
    short = np.zeros(scores.shape)
    np.put_along_axis(long, high_first, np.where(position < size, weight, 0.0), axis=1)
    np.put_along_axis(short, low_first, np.where(position < size, weight, 0.0), axis=1)
    return long, short


def equal_weights(available: np.ndarray) -> np.ndarray:
    """1/n on each of the n stocks that have a return that date."""
    count = available.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(available & (count > 0), 1.0 / count, 0.0)


def portfolio_returns(
    weights: np.ndarray, next_returns: np.ndarray, cost_bps: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per date: turnover (the sum of absolute weight changes, from nothing held before the
    first date) and the portfolio's return after `cost_bps` per unit of turnover."""
    previous = np.vstack([np.zeros((1, weights.shape[1])), weights[:-1]])
    turnover = np.abs(weights - previous).sum(axis=1)
    earned = (weights * np.nan_to_num(next_returns)).sum(axis=1)
    return turnover, earned - cost_bps / 1e4 * turnover


def quantile_returns(scores: np.ndarray, next_returns: np.ndarray) -> list[float]:
    """The mean next-bar return of the stocks in each fifth of each date's scores, lowest fifth
    first, annualised (x 252)."""
    ranks = _row_ranks(scores)
    count = (~np.isnan(scores)).sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        bucket = np.floor((ranks - 1) / count * QUANTILES)
    means = []
    for q in range(QUANTILES):
        chosen = (bucket == q) & ~np.isnan(next_returns)
        means.append(float(np.mean(next_returns[chosen]) * 252) if chosen.any() else 0.0)
    return means
