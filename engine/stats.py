"""Selection-aware statistics: how much of the best of many tries is luck.

A session that tries forty configurations and reports the best has run forty tests. These
functions put the best number next to what luck alone reaches: Holm-adjusted p-values over
every try on a dataset, the accuracy the best of N coin flips reaches, the probabilistic and
deflated Sharpe ratios (Bailey and López de Prado 2012, 2014) and the probability of backtest
overfitting by combinatorially symmetric cross-validation (Bailey, Borwein, López de Prado and
Zhu 2017). Sharpe ratios here are per bar, not annualised, as in the papers' formulas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy.stats import binom, binomtest, kurtosis, norm, skew

EULER_GAMMA = 0.5772156649015329
# C(16, 8) = 12,870 splits: the paper's suggested S = 16 keeps every block long enough to
# estimate a Sharpe ratio and the whole computation under a second for dozens of trials.
DEFAULT_BLOCKS = 16
MIN_BLOCK_ROWS = 10


def holm_adjusted(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjustment, in the order given: controls the family-wise error rate
    over every p-value passed in, without assuming they are independent."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    scaled = (m - np.arange(m)) * p[order]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return adjusted


def best_of_n_accuracy(n_tries: int, n_days: int, p: float = 0.5) -> tuple[float, float]:
    """Expected and 95th-percentile accuracy of the best of `n_tries` independent coin-flip
    predictors, each scored on `n_days` days: the bar a selected accuracy must clear before it
    means anything. Exact, from the binomial distribution of the maximum."""
    if n_tries < 1 or n_days < 1:
        raise ValueError(f"need n_tries >= 1 and n_days >= 1, got {n_tries} and {n_days}")
    k = np.arange(n_days + 1)
    cdf_of_max = binom.cdf(k, n_days, p) ** n_tries
    expected = float(np.sum(1.0 - cdf_of_max[:-1])) / n_days
    q95 = int(k[np.searchsorted(cdf_of_max, 0.95)]) / n_days
    return expected, q95


def best_of_n_normal(n_tries: int, sigma: float = 1.0) -> tuple[float, float]:
    """Expected and 95th-percentile maximum of `n_tries` independent normal draws with mean 0
    and standard deviation `sigma` (1: the t-statistic the best of that many skill-less tries
    reaches by luck; 1/sqrt(n): a skill-less IC over n independent values). Tries on the same
    days are positively correlated, which lowers the true maximum, so the bar errs high."""
    if n_tries < 1 or sigma < 0:
        raise ValueError(f"need n_tries >= 1 and sigma >= 0, got {n_tries} and {sigma}")
    grid = np.linspace(-12.0, 12.0, 24001)
    density = n_tries * norm.pdf(grid) * norm.cdf(grid) ** (n_tries - 1)
    expected = float(np.sum(grid * density) * (grid[1] - grid[0]))
    return expected * sigma, float(norm.ppf(0.95 ** (1.0 / n_tries))) * sigma


def _discordant(first_correct: np.ndarray, second_correct: np.ndarray) -> tuple[int, int]:
    """Days only the first got right, and days only the second got right."""
    first = np.asarray(first_correct, dtype=bool)
    second = np.asarray(second_correct, dtype=bool)
    return int(np.sum(first & ~second)), int(np.sum(second & ~first))


def mcnemar_greater(first_correct: np.ndarray, second_correct: np.ndarray) -> float:
    """Exact one-sided McNemar test: on the days the two disagree, is the first right more
    often than a fair coin would make it? 1.0 when they never disagree."""
    only_first, only_second = _discordant(first_correct, second_correct)
    if only_first + only_second == 0:
        return 1.0
    return float(binomtest(only_first, only_first + only_second, 0.5, "greater").pvalue)


def mcnemar_two_sided(first_correct: np.ndarray, second_correct: np.ndarray) -> float:
    """Exact two-sided McNemar test: do two predictors' errors on the same days differ?"""
    only_first, only_second = _discordant(first_correct, second_correct)
    if only_first + only_second == 0:
        return 1.0
    return float(binomtest(only_first, only_first + only_second, 0.5).pvalue)


def non_overlapping(n_days: int, horizon: int) -> np.ndarray:
    """Every `horizon`-th day, starting with the first: labels that look `horizon` bars ahead
    overlap on neighbouring days, and tests that treat them as independent overstate evidence."""
    return np.arange(0, n_days, max(horizon, 1))


@dataclass(frozen=True)
class SharpeMoments:
    """What the PSR needs of a return series: per-bar Sharpe, length, skewness, kurtosis."""

    sharpe: float
    n: int
    skewness: float
    kurtosis: float  # not excess: a normal distribution has 3

    @classmethod
    def of(cls, returns: Sequence[float] | np.ndarray) -> SharpeMoments | None:
        """None when the series is too short or flat to have a Sharpe ratio."""
        r = np.asarray(returns, dtype=float)
        if r.size < 3 or np.ptp(r) == 0:
            return None
        return cls(
            sharpe=float(np.mean(r) / np.std(r, ddof=1)),
            n=int(r.size),
            skewness=float(skew(r)),
            kurtosis=float(kurtosis(r, fisher=False)),
        )


def probabilistic_sharpe(moments: SharpeMoments, benchmark: float = 0.0) -> float:
    """P(true Sharpe > `benchmark`) given the estimate's length and higher moments
    (Bailey and López de Prado 2012, eq. 11). Both Sharpe ratios are per bar."""
    sr = moments.sharpe
    spread = 1.0 - moments.skewness * sr + (moments.kurtosis - 1.0) / 4.0 * sr**2
    if spread <= 0:
        # Moments this extreme make the normal approximation meaningless; say "no evidence".
        return 0.5
    z = (sr - benchmark) * np.sqrt(moments.n - 1) / np.sqrt(spread)
    return float(norm.cdf(z))


def expected_max_sharpe(n_trials: int, sharpe_variance: float) -> float:
    """The Sharpe ratio the best of `n_trials` unskilled tries reaches by luck, given the
    variance of the tries' Sharpe ratios (Bailey and López de Prado 2014, eq. 15)."""
    if n_trials < 2 or sharpe_variance <= 0:
        return 0.0
    first = norm.ppf(1.0 - 1.0 / n_trials)
    second = norm.ppf(1.0 - 1.0 / (n_trials * np.e))
    return float(np.sqrt(sharpe_variance) * ((1 - EULER_GAMMA) * first + EULER_GAMMA * second))


def deflated_sharpe(moments: SharpeMoments, n_trials: int, sharpe_variance: float) -> float:
    """The PSR against the best-of-N luck bar: the probability that the selected strategy's
    true Sharpe beats what `n_trials` unskilled tries reach. Read > 0.95 as evidence."""
    return probabilistic_sharpe(moments, expected_max_sharpe(n_trials, sharpe_variance))


@dataclass(frozen=True)
class Overfitting:
    """CSCV outcome: PBO and the logits it was counted from (one per in/out split)."""

    pbo: float
    logits: np.ndarray
    blocks: int
    splits: int


def _block_sharpe(sums: np.ndarray, squares: np.ndarray, rows: int) -> np.ndarray:
    mean = sums / rows
    variance = np.maximum(squares - rows * mean**2, 0.0) / (rows - 1)
    sd = np.sqrt(variance)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sd > 0, mean / np.where(sd > 0, sd, 1.0), 0.0)


def _average_rank(values: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """Rank (1 = worst) of `values[c, chosen[c]]` within each row, ties sharing the average."""
    picked = values[np.arange(values.shape[0]), chosen][:, None]
    below = np.sum(values < picked, axis=1)
    tied = np.sum(values == picked, axis=1)
    return below + (tied + 1) / 2.0


def probability_of_backtest_overfitting(
    returns: np.ndarray, *, blocks: int | None = None
) -> Overfitting:
    """PBO by combinatorially symmetric cross-validation.

    `returns` is T bars x N trials, aligned by day. The rows are cut into S equal blocks (the
    oldest leftover rows are dropped); for every choice of S/2 blocks as in-sample, the trial
    with the best in-sample Sharpe is ranked out of sample among all N. With relative rank
    w = rank / (N + 1) and logit = ln(w / (1 - w)), PBO is the share of splits whose logit is
    <= 0: the in-sample winner did no better than the median out of sample.
    """
    matrix = np.asarray(returns, dtype=float)
    if matrix.ndim != 2 or matrix.shape[1] < 2:
        raise ValueError(f"PBO needs a T x N matrix with N >= 2 trials, got shape {matrix.shape}")
    n_rows, n_trials = matrix.shape
    if blocks is None:
        blocks = min(DEFAULT_BLOCKS, (n_rows // MIN_BLOCK_ROWS) // 2 * 2)
    if blocks < 2 or blocks % 2 or n_rows // blocks < 2:
        raise ValueError(
            f"PBO needs an even number of blocks >= 2 with at least 2 rows each; "
            f"got blocks={blocks} for {n_rows} rows"
        )
    rows = n_rows // blocks
    cut = matrix[n_rows - rows * blocks :].reshape(blocks, rows, n_trials)
    sums, squares = cut.sum(axis=1), (cut**2).sum(axis=1)
    splits = np.array(list(combinations(range(blocks), blocks // 2)))
    in_sample = np.zeros((len(splits), blocks))
    in_sample[np.arange(len(splits))[:, None], splits] = 1.0
    half = rows * blocks // 2
    is_sharpe = _block_sharpe(in_sample @ sums, in_sample @ squares, half)
    oos_sharpe = _block_sharpe(
        (1 - in_sample) @ sums, (1 - in_sample) @ squares, rows * blocks - half
    )
    winners = np.argmax(is_sharpe, axis=1)
    relative = _average_rank(oos_sharpe, winners) / (n_trials + 1)
    logits = np.log(relative / (1 - relative))
    return Overfitting(
        pbo=float(np.mean(logits <= 0)), logits=logits, blocks=blocks, splits=len(splits)
    )
