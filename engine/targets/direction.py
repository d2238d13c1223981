"""`direction`, the built-in research target: will the price rise over the next `horizon` bars
from where the execution enters (the next bar's close under `next_bar`, today's under `close`)?
Labels are 0/1 with 1 = up. The verdict is the return long/flat earns on the calls, after costs,
against the best of three strategies that need no model (buy-and-hold, cash, and trading the
previous move's direction). Accuracy stays as a second line, against three rules (the training
period's majority class, always up, the previous move's direction): alone it flatters a model on
a market that mostly goes up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mltrainer.engine.ledger import TrialPredictions
from mltrainer.engine.metrics import backtest, position_returns, strategy_returns
from mltrainer.engine.stats import best_of_n_accuracy
from mltrainer.engine.targets.base import (
    LABEL,
    Forecast,
    Headline,
    PairedTest,
    ResearchTarget,
    SegmentScore,
    entry_delay,
)
from mltrainer.engine.targets.classification import (
    against_rules,
    classification_metrics,
    classifier_forecast,
    paired_mcnemar,
    recorded_calls,
    recorded_metrics,
)
from mltrainer.engine.trial import ClassificationMetrics, TrialConfig
from mltrainer.engine.verdict import judge_long_flat

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from mltrainer.engine.design import Design


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


def calls_to_positions(calls: np.ndarray) -> dict[str, np.ndarray]:
    """Long on an up call, else flat or short; buy-and-hold is long throughout."""
    up = np.asarray(calls) == 1
    return {
        "long_flat": np.where(up, 1.0, 0.0),
        "long_short": np.where(up, 1.0, -1.0),
        "buy_and_hold": np.ones(up.size),
    }


def baseline_strategies(previous_direction: np.ndarray) -> dict[str, np.ndarray]:
    """What the verdict's strategy (long/flat) holds on rules that need no model: always up
    (buy-and-hold), always down (cash), and the previous move's direction (momentum). The
    majority class is always one of the first two."""
    held = calls_to_positions(np.asarray(previous_direction, dtype=np.int64))["long_flat"]
    return {
        "buy_and_hold": np.ones(held.size),
        "cash": np.zeros(held.size),
        "previous_direction": held,
    }


class Direction(ResearchTarget):
    estimator_type = "classifier"
    headline = Headline(
        metric="accuracy", description="share of days whose direction the model called right"
    )

    def labels(self, bars: pd.DataFrame, config: TrialConfig) -> pd.DataFrame:
        """`target`: 1 when the close `horizon` bars after the execution's entry is above the
        entry's (under `next_bar` the entry is the next close, so the label is the move the
        position trades, not the one it cannot); `next_return`: what a position decided at
        this close earns under the execution; `previous_direction`: the direction of the last
        completed `horizon`-bar move, known at this close."""
        close = bars["close"].astype(float)
        entry = close.shift(-entry_delay(config.execution))
        future = entry.shift(-config.horizon)
        return pd.DataFrame(
            {
                LABEL: (future > entry).astype(float).where(future.notna()),
                "next_return": position_returns(close, config.execution),
                "previous_direction": (close > close.shift(config.horizon)).astype(float),
            },
            index=bars.index,
        )

    def forecast(self, pipeline: Pipeline, X: np.ndarray) -> Forecast:
        return classifier_forecast(pipeline, X)

    def fit_score(self, pipeline: Pipeline, design: Design, rows: np.ndarray) -> float:
        return float(np.mean(pipeline.predict(design.X[rows]) == design.y[rows]))

    def score(
        self,
        forecast: Forecast,
        design: Design,
        fit_rows: np.ndarray,
        scored_rows: np.ndarray,
        config: TrialConfig,
    ) -> SegmentScore:
        """The verdict (long/flat after costs under the config's execution against the best
        baseline strategy), accuracy and the other classification metrics, the baselines
        (majority class from `fit_rows`), and the strategies after costs."""
        y = design.y[scored_rows]
        calls = forecast.values
        next_returns = design.labels["next_return"][scored_rows]
        previous = design.labels["previous_direction"][scored_rows]
        series = strategy_returns(calls_to_positions(calls), next_returns, cost_bps=config.cost_bps)
        rule_series = strategy_returns(
            baseline_strategies(previous), next_returns, cost_bps=config.cost_bps
        )
        metrics = classification_metrics(y, calls, forecast.probability)
        rules = baseline_predictions(design.y[fit_rows], len(y), previous)
        baselines = against_rules(y, calls, rules, horizon=config.horizon)
        return SegmentScore(
            headline=metrics.accuracy,
            metrics=metrics,
            baselines=baselines,
            backtest=backtest(series, cost_bps=config.cost_bps, execution=config.execution),
            predictions=recorded_calls(design, scored_rows, forecast, series),
            verdict=judge_long_flat(series, rule_series, baselines, config),
        )

    def positions(self, predictions: TrialPredictions) -> dict[str, np.ndarray]:
        return calls_to_positions(np.asarray(predictions.y_pred))

    def metrics(self, predictions: TrialPredictions) -> ClassificationMetrics:
        return recorded_metrics(predictions)

    def noise_bar(self, tries: int, predictions: TrialPredictions) -> tuple[float, float]:
        """The best of `tries` coin flips, each right half the time."""
        return best_of_n_accuracy(tries, max(len(predictions.dates), 1))

    def paired_test(self, first: TrialPredictions, second: TrialPredictions) -> PairedTest:
        return paired_mcnemar(first, second)
