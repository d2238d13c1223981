"""Strategy returns after costs and their statistics: the backtest every research target's
positions go through, whatever the target predicts. The return a position earns depends on the
execution model, which is the same for every target.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from mltrainer.engine.targets.base import entry_delay
from mltrainer.engine.trial import Backtest, Execution, StrategyStats

if TYPE_CHECKING:
    import pandas as pd

    from mltrainer.engine.ledger import TrialPredictions
    from mltrainer.engine.targets.base import ResearchTarget


def position_returns(close: pd.Series, execution: Execution) -> pd.Series:
    """Per bar: what a position decided at that bar's close earns. With `next_bar` execution
    the order fills a bar later, so it earns the return from t+1 to t+2; with `close`
    (market-on-close) it earns t to t+1, trading at the very price that produced the signal.
    NaN where that return lies beyond the bars."""
    entry = close.shift(-entry_delay(execution))
    return entry.shift(-1) / entry - 1.0


def strategy_stats(
    daily_returns: np.ndarray, positions: np.ndarray | None, periods_per_year: int = 252
) -> StrategyStats:
    """Annualised return, Sharpe, max drawdown and turnover of one return series.

    The return is geometric, so a volatile strategy is not credited with returns it could not
    compound. Sharpe uses the sample standard deviation and is 0.0 for constant returns, which
    carry no risk to scale by. Max drawdown is a negative fraction of the running peak of the
    equity curve, which starts at 1.0 so a loss on the first bar counts. Turnover is the mean
    absolute position change per bar, not counting the initial entry, so buy and hold is 0.
    """
    returns = np.asarray(daily_returns, dtype=float)
    n_bars = returns.size
    if n_bars == 0:
        raise ValueError("strategy_stats needs at least one return; got an empty series.")
    growth = float(np.prod(1 + returns))
    # A strategy that loses everything (possible when short) cannot compound back.
    annual_return = growth ** (periods_per_year / n_bars) - 1 if growth > 0 else -1.0
    if n_bars < 2 or np.ptp(returns) == 0:
        sharpe = 0.0
    else:
        sharpe = float(np.mean(returns) / np.std(returns, ddof=1) * np.sqrt(periods_per_year))
    equity = np.concatenate([[1.0], np.cumprod(1 + returns)])
    drawdowns = equity / np.maximum.accumulate(equity) - 1
    max_drawdown = max(float(drawdowns.min()), -1.0)
    turnover = 0.0
    if positions is not None:
        held = np.asarray(positions, dtype=float)
        if held.size != n_bars:
            raise ValueError(f"positions has {held.size} bars but daily_returns has {n_bars}.")
        turnover = float(np.abs(np.diff(held)).sum() / n_bars)
    return StrategyStats(
        total_return=growth - 1.0,
        annual_return=float(annual_return),
        sharpe=sharpe,
        max_drawdown=max_drawdown,
        turnover=turnover,
    )


def costed_returns(positions: np.ndarray, next_returns: np.ndarray, cost_bps: float) -> np.ndarray:
    """Return per bar of holding `positions`, less `cost_bps` per unit of position change.

    The position before the first bar is flat, so entering the first position pays a cost.
    """
    changes = np.abs(np.diff(positions, prepend=0.0))
    return positions * next_returns - cost_bps / 1e4 * changes


def strategy_returns(
    positions: Mapping[str, np.ndarray], next_returns: np.ndarray, *, cost_bps: float
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each strategy's positions and its returns after costs per bar.

    `positions[name][t]` is the position a strategy takes on the forecast made at bar t, and
    `next_returns[t]` the return a position taken then earns (which bars that spans is the
    execution model's choice).
    """
    returns = np.asarray(next_returns, dtype=float)
    if cost_bps < 0:
        raise ValueError(f"cost_bps={cost_bps} must be >= 0.")
    series = {}
    for name, held in positions.items():
        if held.size != returns.size or returns.size == 0:
            raise ValueError(
                f"backtest needs one position per return: {name} has {held.size} positions "
                f"and there are {returns.size} next_returns."
            )
        series[name] = (held, costed_returns(held, returns, cost_bps))
    return series


def backtest(
    series: Mapping[str, tuple[np.ndarray, np.ndarray]], *, cost_bps: float, execution: Execution
) -> Backtest:
    """Statistics of `long_flat`, `long_short` and `buy_and_hold` (positions and returns after
    costs, from `strategy_returns`), and the Sharpe ratio of long/flat's return over
    buy-and-hold's: timing skill, not the market's drift."""
    active = series["long_flat"][1] - series["buy_and_hold"][1]
    return Backtest(
        cost_bps=cost_bps,
        execution=execution,
        active_sharpe=strategy_stats(active, None).sharpe,
        **{name: strategy_stats(returns, held) for name, (held, returns) in series.items()},
    )


def recorded_strategies(
    target: ResearchTarget, predictions: TrialPredictions, cost_bps: float
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """A recorded segment's strategies at `cost_bps`: the target's own (a portfolio of
    stocks), or its positions in one asset times the returns they earned."""
    own = target.daily_returns(predictions, cost_bps)
    if own is not None:
        return own
    returns = np.asarray(predictions.next_return, dtype=float)
    return strategy_returns(target.positions(predictions), returns, cost_bps=cost_bps)


def recorded_backtest(
    target: ResearchTarget, predictions: TrialPredictions, cost_bps: float, execution: Execution
) -> Backtest:
    """A recorded segment's backtest at `cost_bps` (re-scoring a trial at another cost)."""
    own = target.backtest(predictions, cost_bps, execution)
    if own is not None:
        return own
    strategies = recorded_strategies(target, predictions, cost_bps)
    return backtest(strategies, cost_bps=cost_bps, execution=execution)
