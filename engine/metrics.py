"""Out-of-sample numbers for a trial: classification scores, naive baselines and a costed backtest.

Direction labels are 0/1 with 1 = up. Accuracy alone flatters a model on a market that mostly
goes up, so every score comes with the baselines it has to beat and the returns it would earn
after costs.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import binomtest
from sklearn.metrics import accuracy_score, log_loss, precision_score, recall_score, roc_auc_score

from mltrainer.engine.trial import Backtest, Baselines, ClassificationMetrics, StrategyStats

# Keeps a confidently wrong probability's log loss large but finite.
PROBABILITY_CLIP = 1e-15
# binomtest needs 0 < p < 1; a baseline scoring exactly 0 or 1 is tested against this instead.
BASELINE_P_CLIP = 1e-12


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, proba_up: np.ndarray | None
) -> ClassificationMetrics:
    """Score up/down predictions; AUC and log loss need probabilities and both classes present."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    auc: float | None = None
    loss: float | None = None
    if proba_up is not None and np.unique(y_true).size == 2:
        clipped = np.clip(np.asarray(proba_up, dtype=float), PROBABILITY_CLIP, 1 - PROBABILITY_CLIP)
        auc = float(roc_auc_score(y_true, clipped))
        loss = float(log_loss(y_true, clipped, labels=[0, 1]))
    return ClassificationMetrics(
        accuracy=float(accuracy_score(y_true, y_pred)),
        precision=float(precision_score(y_true, y_pred, pos_label=1, zero_division=0)),
        recall=float(recall_score(y_true, y_pred, pos_label=1, zero_division=0)),
        auc=auc,
        log_loss=loss,
        n=int(y_true.size),
    )


def baselines(
    y_train: np.ndarray,
    y_test: np.ndarray,
    previous_direction_test: np.ndarray,
    test_accuracy: float,
    n_test_correct: int,
) -> Baselines:
    """Accuracy of three rules that need no model, and whether the model beats the best one.

    The majority class comes from the training period: taking it from the test labels would
    let the baseline peek at the answers. `previous_direction_test` is the direction (0/1) of
    the last completed move known at each test row. The p-value is a one-sided binomial test
    of `n_test_correct` out of `len(y_test)` against the best baseline's accuracy.
    """
    y_train = np.asarray(y_train)
    y_test = np.asarray(y_test)
    n_test = int(y_test.size)
    if n_test == 0 or y_train.size == 0:
        raise ValueError(f"Baselines need rows: got {y_train.size} train and {n_test} test labels.")
    if not np.isclose(n_test_correct / n_test, test_accuracy):
        raise ValueError(
            f"test_accuracy={test_accuracy} does not match n_test_correct={n_test_correct} "
            f"out of {n_test} test rows; both must describe the same predictions."
        )
    # Ties go to up: over long samples equity markets rise slightly more often than they fall.
    majority = 1 if np.mean(y_train) >= 0.5 else 0
    accuracies = {
        "majority_class": float(np.mean(y_test == majority)),
        "always_up": float(np.mean(y_test == 1)),
        "previous_direction": float(np.mean(y_test == np.asarray(previous_direction_test))),
    }
    best_name = max(accuracies, key=accuracies.__getitem__)
    best_accuracy = accuracies[best_name]
    p = min(max(best_accuracy, BASELINE_P_CLIP), 1 - BASELINE_P_CLIP)
    p_value = binomtest(n_test_correct, n_test, p=p, alternative="greater").pvalue
    return Baselines(
        **accuracies,
        best_name=best_name,
        best_accuracy=best_accuracy,
        p_value=float(p_value),
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


def backtest(predictions: np.ndarray, next_returns: np.ndarray, *, cost_bps: float) -> Backtest:
    """Trade the predictions long/flat and long/short, against buy and hold on the same window.

    `predictions[t]` is the 0/1 direction call made at bar t and `next_returns[t]` the return
    earned by a position held from bar t to bar t + 1.
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
    strategies = {
        "long_flat": np.where(up, 1.0, 0.0),
        "long_short": np.where(up, 1.0, -1.0),
        "buy_and_hold": np.ones_like(returns),
    }
    stats = {
        name: strategy_stats(costed_returns(positions, returns, cost_bps), positions)
        for name, positions in strategies.items()
    }
    return Backtest(cost_bps=cost_bps, **stats)
