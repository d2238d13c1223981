"""`large_move`, a second research target defined outside the engine, as a plugin would: will
the next bar's move (the return a position decided now earns under the execution) be larger
than the median absolute move of the last `lookback` bars? A volatility question, with its own
labels, rules, positions and scores, registered with `register_target`."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from mltrainer.engine.design import Design
from mltrainer.engine.errors import ConfigError
from mltrainer.engine.ledger import TrialPredictions
from mltrainer.engine.metrics import backtest, position_returns, strategy_returns
from mltrainer.engine.stats import best_of_n_accuracy
from mltrainer.engine.targets import (
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
from mltrainer.engine.verdict import judge

DESCRIPTION = "whether the next bar's move is larger than the median of the last `lookback` moves"


def calm_or_large(calls: np.ndarray) -> dict[str, np.ndarray]:
    """Out of the market before a forecast large move (long/flat), or short it (long/short:
    large moves in stock indices are more often falls than rises)."""
    large = np.asarray(calls) == 1
    return {
        "long_flat": np.where(large, 0.0, 1.0),
        "long_short": np.where(large, -1.0, 1.0),
        "buy_and_hold": np.ones(large.size),
    }


class LargeMove(ResearchTarget):
    estimator_type = "classifier"
    headline = Headline(metric="accuracy", description="share of days called large or calm right")

    def labels(self, bars: pd.DataFrame, config: TrialConfig) -> pd.DataFrame:
        if config.horizon != 1:
            raise ConfigError(
                f"large_move looks one bar ahead; got horizon={config.horizon}, leave it at 1"
            )
        close = bars["close"].astype(float)
        move = close.pct_change(fill_method=None).abs()
        typical = move.rolling(config.lookback).median()
        earned = position_returns(close, config.execution)
        return pd.DataFrame(
            {
                LABEL: (earned.abs() > typical).astype(float).where(earned.notna()),
                "next_return": earned,
                "previous_large": (move > typical).astype(float).where(typical.notna()),
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
        y = design.y[scored_rows]
        calls = forecast.values
        next_returns = design.labels["next_return"][scored_rows]
        series = strategy_returns(calm_or_large(calls), next_returns, cost_bps=config.cost_bps)
        metrics = classification_metrics(y, calls, forecast.probability)
        majority = 1 if np.mean(design.y[fit_rows]) > 0.5 else 0
        rules = {
            "majority_class": np.full(y.size, majority),
            "always_large": np.ones(y.size, dtype=np.int64),
            "previous_large": design.labels["previous_large"][scored_rows].astype(np.int64),
        }
        baselines = against_rules(y, calls, rules, horizon=1)
        # The verdict's bar: the rules' calls traded the way long/flat trades a call.
        rule_positions = {
            "buy_and_hold": np.ones(y.size),
            "cash": np.zeros(y.size),
            "previous_large": calm_or_large(rules["previous_large"])["long_flat"],
        }
        rule_series = strategy_returns(rule_positions, next_returns, cost_bps=config.cost_bps)
        return SegmentScore(
            headline=metrics.accuracy,
            metrics=metrics,
            baselines=baselines,
            backtest=backtest(series, cost_bps=config.cost_bps, execution=config.execution),
            predictions=recorded_calls(design, scored_rows, forecast, series),
            verdict=judge(
                "long_flat",
                series["long_flat"][1],
                {name: returns for name, (_, returns) in rule_series.items()},
                baselines,
                config,
            ),
        )

    def positions(self, predictions: TrialPredictions) -> dict[str, np.ndarray]:
        return calm_or_large(np.asarray(predictions.y_pred))

    def metrics(self, predictions: TrialPredictions) -> ClassificationMetrics:
        return recorded_metrics(predictions)

    def noise_bar(self, tries: int, predictions: TrialPredictions) -> tuple[float, float]:
        # The threshold is the recent median move, so about half the days are large.
        return best_of_n_accuracy(tries, max(len(predictions.dates), 1))

    def paired_test(self, first: TrialPredictions, second: TrialPredictions) -> PairedTest:
        return paired_mcnemar(first, second)
