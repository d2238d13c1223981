"""Selection statistics of a recorded trial, computed from the ledger when they are shown: every
try on the dataset counts, whichever session or process made it, so a new session cannot start
the count again, and a number shown later reflects the tries made since.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mltrainer.engine.ledger import Ledger, TrialPredictions, TryRow
from mltrainer.engine.stats import (
    SharpeMoments,
    best_of_n_normal,
    deflated_sharpe,
    holm_adjusted,
    probabilistic_sharpe,
    probability_of_backtest_overfitting,
)
from mltrainer.engine.targets import get_target
from mltrainer.engine.trial import SelectionStats

BARS_PER_YEAR = 252
MIN_PBO_TRIALS = 4
MIN_PBO_ROWS = 40


def adjusted_p_values(tries: list[TryRow]) -> dict[int, float]:
    """Holm over the accuracy test of every try on one dataset, by trial number."""
    adjusted = holm_adjusted([t.p_value for t in tries])
    return {t.trial: float(a) for t, a in zip(tries, adjusted, strict=True)}


def adjusted_return_p_values(tries: list[TryRow]) -> dict[int, float]:
    """Holm over the return test of every try on one dataset, by trial number. A try recorded
    before there was a return test still counts as a try, with p = 1: it adds to the family
    without pretending to evidence it never showed."""
    adjusted = holm_adjusted([1.0 if t.return_p_value is None else t.return_p_value for t in tries])
    return {t.trial: float(a) for t, a in zip(tries, adjusted, strict=True)}


def same_window(tries: list[TryRow], trial: int) -> list[TryRow]:
    this = next(t for t in tries if t.trial == trial)
    return [
        t
        for t in tries
        if t.window_start == this.window_start
        and t.window_end == this.window_end
        and this.window_start is not None
    ]


@dataclass(frozen=True)
class SharpeEvidence:
    """PSR and DSR of one return series, deflated over the tries' Sharpe ratios of the same
    kind, and the annualised Sharpe ratio they were computed from."""

    sharpe: float
    psr: float | None
    dsr: float | None


def sharpe_evidence(
    returns: list[float] | None, sharpes: list[float | None], tries: int
) -> SharpeEvidence:
    """PSR of `returns`, and its DSR against the best of `tries` unskilled tries given the
    spread of the tries' annualised Sharpe ratios (`sharpes`, None where not recorded)."""
    moments = SharpeMoments.of(returns) if returns is not None else None
    if moments is None:
        return SharpeEvidence(0.0, None, None)
    known = np.array([s for s in sharpes if s is not None], dtype=float)
    per_bar = known / math.sqrt(BARS_PER_YEAR)
    variance = float(np.var(per_bar, ddof=1)) if per_bar.size > 1 else 0.0
    return SharpeEvidence(
        sharpe=moments.sharpe * math.sqrt(BARS_PER_YEAR),
        psr=probabilistic_sharpe(moments),
        dsr=deflated_sharpe(moments, tries, variance),
    )


def selection_stats(
    ledger: Ledger, dataset: str, trial: int, predictions: TrialPredictions, sharpe: float
) -> SelectionStats:
    """How `trial`'s selection numbers compare with what luck reaches over the dataset's tries.

    The headline's: its return test Holm-adjusted over every try, and the t-statistic the best
    of that many skill-less tries reaches. The accuracy test's: Holm, and the best-of-N noise
    bar on non-overlapping days. PSR, DSR and PBO twice, each labelled: on the strategy's own
    return after costs, and on its excess over buy-and-hold (in a window where the market rose,
    any mostly-long strategy has a high Sharpe; the excess takes the drift out)."""
    tries = ledger.tries(dataset)
    this = next((t for t in tries if t.trial == trial), None)
    if this is None:
        raise ValueError(f"trial {trial} is not recorded on dataset {dataset}")
    noise, noise_95 = get_target(this.target).noise_bar(len(tries), predictions.every(this.horizon))
    return_noise, return_noise_95 = best_of_n_normal(len(tries))
    excess = sharpe_evidence(
        predictions.active_return(), [t.active_sharpe for t in tries], len(tries)
    )
    own = sharpe_evidence(predictions.strategy_return, [t.sharpe for t in tries], len(tries))
    window = same_window(tries, trial)
    pbo, pbo_trials = _pbo(ledger, window, TrialPredictions.active_return)
    strategy_pbo, _ = _pbo(ledger, window, lambda stored: stored.strategy_return)
    return SelectionStats(
        tries=len(tries),
        p_value_adjusted=adjusted_p_values(tries)[trial],
        noise_bar=noise,
        noise_bar_95=noise_95,
        sharpe=sharpe,
        active_sharpe=excess.sharpe,
        psr=excess.psr,
        dsr=excess.dsr,
        sharpe_trials=len(tries),
        pbo=pbo,
        pbo_trials=pbo_trials,
        return_p_value_adjusted=adjusted_return_p_values(tries)[trial],
        return_noise_bar=return_noise,
        return_noise_bar_95=return_noise_95,
        strategy_psr=own.psr,
        strategy_dsr=own.dsr,
        strategy_pbo=strategy_pbo,
    )


def _pbo(
    ledger: Ledger,
    window: list[TryRow],
    daily: Callable[[TrialPredictions], list[float] | None],
) -> tuple[float | None, int]:
    """PBO over the trials of one selection window, on the days they all scored, of the
    daily returns `daily` reads from each trial's record. Columns are ordered by the trials'
    model ids (a hash of configuration and data), not by when they finished, so parallel runs
    give the same matrix."""
    series: list[tuple[str, dict[str, float]]] = []
    for row in window:
        stored = ledger.predictions(row.trial)
        returns = None if stored is None else daily(stored)
        if stored is None or returns is None:
            continue
        series.append((row.model_id, dict(zip(stored.traded_dates(), returns, strict=True))))
    if len(series) < MIN_PBO_TRIALS:
        return None, len(series)
    series.sort(key=lambda pair: pair[0])
    days = sorted(set.intersection(*(set(s) for _, s in series)))
    if len(days) < MIN_PBO_ROWS:
        return None, len(series)
    matrix = np.array([[s[d] for _, s in series] for d in days])
    return probability_of_backtest_overfitting(matrix).pbo, len(series)
