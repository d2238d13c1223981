"""Selection statistics of a recorded trial, computed from the ledger when they are shown: every
try on the dataset counts, whichever session or process made it, so a new session cannot start
the count again, and a number shown later reflects the tries made since.
"""

from __future__ import annotations

import math

import numpy as np

from mltrainer.engine.ledger import Ledger, TrialPredictions, TryRow
from mltrainer.engine.stats import (
    SharpeMoments,
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
    """Holm over every try on one dataset, by trial number."""
    adjusted = holm_adjusted([t.p_value for t in tries])
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


def selection_stats(
    ledger: Ledger, dataset: str, trial: int, predictions: TrialPredictions, sharpe: float
) -> SelectionStats:
    """How `trial`'s selection numbers compare with what luck reaches over the dataset's tries.

    The Sharpe-based numbers (PSR, DSR, PBO) use long/flat's daily return over buy-and-hold's:
    in a window where the market rose, any mostly-long strategy has a high Sharpe, and
    deflating that would reward the drift, not the model."""
    tries = ledger.tries(dataset)
    this = next((t for t in tries if t.trial == trial), None)
    if this is None:
        raise ValueError(f"trial {trial} is not recorded on dataset {dataset}")
    noise, noise_95 = get_target(this.target).noise_bar(len(tries), predictions)
    psr = dsr = None
    active = predictions.active_return()
    moments = SharpeMoments.of(active) if active is not None else None
    known = [t.active_sharpe for t in tries if t.active_sharpe is not None]
    per_bar = np.array(known) / math.sqrt(BARS_PER_YEAR)
    variance = float(np.var(per_bar, ddof=1)) if per_bar.size > 1 else 0.0
    if moments is not None:
        psr = probabilistic_sharpe(moments)
        dsr = deflated_sharpe(moments, len(tries), variance)
    pbo, pbo_trials = _pbo(ledger, same_window(tries, trial))
    return SelectionStats(
        tries=len(tries),
        p_value_adjusted=adjusted_p_values(tries)[trial],
        noise_bar=noise,
        noise_bar_95=noise_95,
        sharpe=sharpe,
        active_sharpe=(moments.sharpe * math.sqrt(BARS_PER_YEAR)) if moments else 0.0,
        psr=psr,
        dsr=dsr,
        sharpe_trials=len(tries),
        pbo=pbo,
        pbo_trials=pbo_trials,
    )


def _pbo(ledger: Ledger, window: list[TryRow]) -> tuple[float | None, int]:
    """PBO over the trials of one selection window, on the days they all scored."""
    series: list[dict[str, float]] = []
    for row in window:
        stored = ledger.predictions(row.trial)
        active = None if stored is None else stored.active_return()
        if stored is None or active is None:
            continue
        series.append(dict(zip(stored.traded_dates(), active, strict=True)))
    if len(series) < MIN_PBO_TRIALS:
        return None, len(series)
    days = sorted(set.intersection(*(set(s) for s in series)))
    if len(days) < MIN_PBO_ROWS:
        return None, len(series)
    matrix = np.array([[s[d] for s in series] for d in days])
    return probability_of_backtest_overfitting(matrix).pbo, len(series)
