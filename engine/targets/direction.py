"""`direction`, the built-in research target: will the close `horizon` bars ahead be above
today's? Labels are 0/1 with 1 = up. Accuracy alone flatters a model on a market that mostly
goes up, so it is judged against three rules that need no model (the training period's majority
class, always up, the previous move's direction) and by the returns its calls earn after costs,
long/flat and long/short against buy-and-hold.
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


class Direction(ResearchTarget):
    estimator_type = "classifier"
    headline = Headline(
        metric="accuracy", description="share of days whose direction the model called right"
    )

    def labels(self, bars: pd.DataFrame, config: TrialConfig) -> pd.DataFrame:
        """`target`: 1 when the close `horizon` bars ahead is above this bar's; `next_return`:
        what a position decided at this close earns under the execution; `previous_direction`:
        the direction of the last completed `horizon`-bar move, known at this close."""
        close = bars["close"].astype(float)
        future = close.shift(-config.horizon)
        return pd.DataFrame(
            {
                LABEL: (future > close).astype(float).where(future.notna()),
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
        """Accuracy and the other classification metrics, the baselines (majority class from
        `fit_rows`), and the strategies after costs under the config's execution model."""
        y = design.y[scored_rows]
        calls = forecast.values
        next_returns = design.labels["next_return"][scored_rows]
        series = strategy_returns(calls_to_positions(calls), next_returns, cost_bps=config.cost_bps)
        metrics = classification_metrics(y, calls, forecast.probability)
        rules = baseline_predictions(
            design.y[fit_rows], len(y), design.labels["previous_direction"][scored_rows]
        )
        return SegmentScore(
            headline=metrics.accuracy,
            metrics=metrics,
            baselines=against_rules(y, calls, rules, horizon=config.horizon),
            backtest=backtest(series, cost_bps=config.cost_bps, execution=config.execution),
            predictions=recorded_calls(design, scored_rows, forecast, series),
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
