"""Out-of-sample numbers for a trial: classification scores, naive baselines and a costed backtest.

Direction labels are 0/1 with 1 = up. Accuracy alone flatters a model on a market that mostly
goes up, so every score comes with the baselines it has to beat and the returns it would earn
after costs.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import binomtest, rankdata

from mltrainer.engine.stats import mcnemar_greater, non_overlapping
from mltrainer.engine.trial import (
    Backtest,
    Baselines,
    ClassificationMetrics,
    Execution,
    StrategyStats,
)

# Keeps a confidently wrong probability's log loss large but finite.
PROBABILITY_CLIP = 1e-15
# binomtest needs 0 < p < 1; a baseline scoring exactly 0 or 1 is tested against this instead.
BASELINE_P_CLIP = 1e-12


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, proba_up: np.ndarray | None
) -> ClassificationMetrics:
    """Score up/down predictions; AUC and log loss need probabilities and both classes present.

    Plain array arithmetic (the definitions scikit-learn's scorers use, checked against them in
    the tests): each scorer's input validation costs more than the score on a few hundred rows.
    AUC is the Mann-Whitney statistic over average ranks, so ties count one half.
    """
    y_true = np.asarray(y_true).astype(np.int64)
    y_pred = np.asarray(y_pred).astype(np.int64)
    n = int(y_true.size)
    up, called_up = y_true == 1, y_pred == 1
    hits = int(np.sum(up & called_up))
    auc: float | None = None
    loss: float | None = None
    n_up = int(up.sum())
    if proba_up is not None and 0 < n_up < n:
        clipped = np.clip(np.asarray(proba_up, dtype=float), PROBABILITY_CLIP, 1 - PROBABILITY_CLIP)
        ranks = rankdata(clipped)
        auc = float((ranks[up].sum() - n_up * (n_up + 1) / 2) / (n_up * (n - n_up)))
        loss = float(-np.mean(np.where(up, np.log(clipped), np.log1p(-clipped))))
    return ClassificationMetrics(
        accuracy=float(np.mean(y_true == y_pred)) if n else 0.0,
        precision=hits / int(called_up.sum()) if called_up.any() else 0.0,
        recall=hits / n_up if n_up else 0.0,
        auc=auc,
        log_loss=loss,
        n=n,
    )


def baseline_predictions(
    y_train: np.ndarray, n_days: int, previous_direction: np.ndarray
) -> dict[str, np.ndarray]:
    """What each naive rule predicts on each scored day. The majority class comes from the
    training period: taking it from the scored labels would let the baseline peek."""
    y_train = np.asarray(y_train)
    if y_train.size == 0:
        raise ValueError("baselines need training labels; got none")
    # Ties go to up: over long samples equity markets rise slightly more often than they fall.
    majority = 1 if np.mean(y_train) >= 0.5 else 0
    return {
        "majority_class": np.full(n_days, majority),
        "always_up": np.ones(n_days, dtype=np.int64),
        "previous_direction": np.asarray(previous_direction, dtype=np.int64),
    }


def baselines(
    y_train: np.ndarray,
    y_scored: np.ndarray,
    previous_direction: np.ndarray,
    y_pred: np.ndarray,
    *,
    horizon: int = 1,
) -> Baselines:
    """Accuracy of three rules that need no model, and two tests of the model against the best.

    `previous_direction` is the direction (0/1) of the last completed move known at each scored
    row. The binomial test asks whether the model's hit rate beats the best baseline's rate; the
    exact McNemar test compares the two on the same days, using only the days they disagree.
    With `horizon > 1` both use every `horizon`-th day, so no two tested labels overlap.
    """
    y_scored = np.asarray(y_scored)
    y_pred = np.asarray(y_pred)
    n_days = int(y_scored.size)
    if n_days == 0:
        raise ValueError("baselines need scored rows; got none")
    if y_pred.size != n_days or len(previous_direction) != n_days:
        raise ValueError(
            f"y_pred ({y_pred.size}) and previous_direction ({len(previous_direction)}) must "
            f"have one value per scored row ({n_days})"
        )
    rules = baseline_predictions(y_train, n_days, previous_direction)
    accuracies = {name: float(np.mean(calls == y_scored)) for name, calls in rules.items()}
    best_name = max(accuracies, key=accuracies.__getitem__)
    tested = non_overlapping(n_days, horizon)
    model_right = y_pred[tested] == y_scored[tested]
    baseline_right = rules[best_name][tested] == y_scored[tested]
    rate = min(max(float(np.mean(baseline_right)), BASELINE_P_CLIP), 1 - BASELINE_P_CLIP)
    p_value = binomtest(int(model_right.sum()), tested.size, p=rate, alternative="greater").pvalue
    return Baselines(
        **accuracies,
        best_name=best_name,
        best_accuracy=accuracies[best_name],
        p_value=float(p_value),
        mcnemar_p_value=mcnemar_greater(model_right, baseline_right),
        tested_days=int(tested.size),
    )


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
    predictions: np.ndarray, next_returns: np.ndarray, *, cost_bps: float
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Positions and returns after costs per bar of long/flat, long/short and buy-and-hold.

    `predictions[t]` is the 0/1 direction call made at bar t and `next_returns[t]` the return a
    position taken on that call earns (which bars that spans is the execution model's choice).
    """
    calls = np.asarray(predictions)
    returns = np.asarray(next_returns, dtype=float)
    if calls.size != returns.size or returns.size == 0:
        raise ValueError(
            f"backtest needs one prediction per return: got {calls.size} predictions "
            f"and {returns.size} next_returns."
        )
    if cost_bps < 0:
        raise ValueError(f"cost_bps={cost_bps} must be >= 0.")
    up = calls == 1
    positions = {
        "long_flat": np.where(up, 1.0, 0.0),
        "long_short": np.where(up, 1.0, -1.0),
        "buy_and_hold": np.ones_like(returns),
    }
    return {
        name: (held, costed_returns(held, returns, cost_bps)) for name, held in positions.items()
    }


def backtest(
    predictions: np.ndarray,
    next_returns: np.ndarray,
    *,
    cost_bps: float,
    execution: Execution = "next_bar",
) -> Backtest:
    """Trade the predictions long/flat and long/short, against buy and hold on the same window."""
    series = strategy_returns(predictions, next_returns, cost_bps=cost_bps)
    stats = {name: strategy_stats(r, held) for name, (held, r) in series.items()}
    active = series["long_flat"][1] - series["buy_and_hold"][1]
    return Backtest(
        cost_bps=cost_bps,
        execution=execution,
        active_sharpe=strategy_stats(active, None).sharpe,
        **stats,
    )
