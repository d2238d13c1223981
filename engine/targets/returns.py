"""`return`: the `horizon`-bar return a position decided at today's close earns under the
execution (from the next bar's close with `next_bar`, from today's with `close`), forecast by
a regressor. Led, as every target, by the verdict: long/flat on the forecast's sign after costs
under the execution against the best baseline strategy (buy-and-hold, cash, momentum), with a
Newey-West t. Then scored as a forecast (out-of-sample R-squared against the historical mean,
IC, hit rate) and as what trading it earns: long/flat and long/short on the forecast's sign, and a
position sized by the forecast, after costs, against buy-and-hold. The naive forecasts it must
beat are zero, the training period's mean return, and momentum (the last `horizon`-bar return).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mltrainer.engine.ledger import TrialPredictions
from mltrainer.engine.metrics import backtest, position_returns, strategy_returns, strategy_stats
from mltrainer.engine.newey_west import known_mean_test
from mltrainer.engine.stats import best_of_n_normal
from mltrainer.engine.targets.base import (
    LABEL,
    Forecast,
    Headline,
    PairedTest,
    ResearchTarget,
    SegmentScore,
)
from mltrainer.engine.targets.regression import pearson, regressor_forecast, spearman
from mltrainer.engine.trial import ForecastBaselines, ForecastMetrics, ForecastRule, TrialConfig
from mltrainer.engine.verdict import judge_long_flat

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from mltrainer.engine.design import Design


def forward_returns(close: pd.Series, config: TrialConfig) -> pd.Series:
    """Per bar: the `horizon`-bar return a position decided at that close earns under the
    execution (NaN where it lies beyond the bars). Aligned with what is traded: with
    `next_bar` the position is entered a bar later, so the return starts a bar later."""
    entry = close if config.execution == "close" else close.shift(-1)
    return entry.shift(-config.horizon) / entry - 1.0


def forecast_positions(forecast: np.ndarray) -> dict[str, np.ndarray]:
    """Long when the forecast is above 0 (else flat, or short); buy-and-hold long throughout;
    `sized`: the forecast over the root mean square of the forecasts so far (today's
    included, nothing later), capped at one unit either way."""
    f = np.asarray(forecast, dtype=float)
    scale = np.sqrt(np.cumsum(f * f) / np.arange(1, f.size + 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        sized = np.clip(np.where(scale > 0, f / scale, 0.0), -1.0, 1.0)
    return {
        "long_flat": np.where(f > 0, 1.0, 0.0),
        "long_short": np.sign(f),
        "buy_and_hold": np.ones(f.size),
        "sized": sized,
    }


def baseline_strategies(momentum: np.ndarray) -> dict[str, np.ndarray]:
    """What the verdict's strategy (long/flat on the forecast's sign) holds on forecasts that
    need no model: always long (buy-and-hold: the historical mean of a rising market), never
    (cash: the zero forecast), and long after a rising `horizon`-bar move (momentum)."""
    momentum = np.asarray(momentum, dtype=float)
    return {
        "buy_and_hold": np.ones(momentum.size),
        "cash": np.zeros(momentum.size),
        "momentum": np.where(momentum > 0, 1.0, 0.0),
    }


def forecast_metrics(y: np.ndarray, forecast: np.ndarray, fit_mean: float) -> ForecastMetrics:
    """R-squared against the historical mean `fit_mean`, IC, Rank IC, hit rate and MSE."""
    y = np.asarray(y, dtype=float)
    f = np.asarray(forecast, dtype=float)
    errors = float(np.sum((y - f) ** 2))
    benchmark = float(np.sum((y - fit_mean) ** 2))
    return ForecastMetrics(
        r2_oos=1.0 - errors / benchmark if benchmark > 0 else 0.0,
        ic=pearson(f, y),
        rank_ic=spearman(f, y),
        hit_rate=float(np.mean(np.sign(f) == np.sign(y))) if y.size else 0.0,
        mse=errors / y.size if y.size else 0.0,
        n=int(y.size),
    )


def clark_west(y: np.ndarray, model: np.ndarray, baseline: np.ndarray, lags: int) -> float:
    """One-sided p-value that the model's squared errors are below the baseline's, adjusted
    for the noise a larger model's estimates add (Clark and West 2007), with Newey-West
    errors: the test of a return forecast against a nested naive one such as the mean."""
    adjusted = (y - baseline) ** 2 - ((y - model) ** 2 - (baseline - model) ** 2)
    return known_mean_test(adjusted, lags).p_value


def against_forecasts(
    y: np.ndarray,
    forecast: np.ndarray,
    rules: dict[str, np.ndarray],
    fit_mean: float,
    next_returns: np.ndarray,
    config: TrialConfig,
) -> ForecastBaselines:
    """Each naive forecast's R-squared, hit rate and what trading its sign earns, and the
    Clark-West test of the model against the best of them (by R-squared)."""
    scored = {}
    for name, rule in rules.items():
        metrics = forecast_metrics(y, rule, fit_mean)
        held = {"long_short": np.sign(rule)}
        traded = strategy_returns(held, next_returns, cost_bps=config.cost_bps)["long_short"]
        scored[name] = ForecastRule(
            r2_oos=metrics.r2_oos,
            hit_rate=None if not np.any(rule) else metrics.hit_rate,
            sharpe=strategy_stats(traded[1], traded[0]).sharpe,
        )
    best = max(scored, key=lambda name: scored[name].r2_oos)
    return ForecastBaselines(
        rules=scored,
        best_name=best,
        best_score=scored[best].r2_oos,
        p_value=clark_west(np.asarray(y), forecast, rules[best], config.horizon),
        tested_days=int(np.asarray(y).size),
    )


class Return(ResearchTarget):
    estimator_type = "regressor"
    headline = Headline(
        metric="IC",
        description="correlation of the forecast with the realised horizon-bar return",
        percent=False,
        strategies=("long/flat", "long/short", "buy-and-hold"),
        test="Clark-West, Newey-West errors",
        baseline_metric="out-of-sample R2",
    )

    def labels(self, bars: pd.DataFrame, config: TrialConfig) -> pd.DataFrame:
        """`target`: the `horizon`-bar return under the execution; `next_return`: the bar a
        position decided at this close earns; `past_return`: the last `horizon`-bar return,
        known at this close (the momentum forecast)."""
        close = bars["close"].astype(float)
        return pd.DataFrame(
            {
                LABEL: forward_returns(close, config),
                "next_return": position_returns(close, config.execution),
                "past_return": close / close.shift(config.horizon) - 1.0,
            },
            index=bars.index,
        )

    def forecast(self, pipeline: Pipeline, X: np.ndarray) -> Forecast:
        return regressor_forecast(pipeline, X)

    def fit_score(self, pipeline: Pipeline, design: Design, rows: np.ndarray) -> float:
        ic = pearson(np.asarray(pipeline.predict(design.X[rows]), dtype=float), design.y[rows])
        return 0.0 if ic is None else ic

    def score(
        self,
        forecast: Forecast,
        design: Design,
        fit_rows: np.ndarray,
        scored_rows: np.ndarray,
        config: TrialConfig,
    ) -> SegmentScore:
        """The forecast's metrics (the historical mean from `fit_rows`), the naive forecasts,
        and the strategies after costs under the config's execution."""
        y = design.y[scored_rows]
        f = forecast.values
        fit_mean = float(np.mean(design.y[fit_rows]))
        next_returns = design.labels["next_return"][scored_rows]
        series = strategy_returns(forecast_positions(f), next_returns, cost_bps=config.cost_bps)
        rules = {
            "zero": np.zeros(y.size),
            "historical_mean": np.full(y.size, fit_mean),
            "momentum": design.labels["past_return"][scored_rows],
        }
        metrics = forecast_metrics(y, f, fit_mean)
        baselines = against_forecasts(y, f, rules, fit_mean, next_returns, config)
        rule_series = strategy_returns(
            baseline_strategies(rules["momentum"]), next_returns, cost_bps=config.cost_bps
        )
        return SegmentScore(
            headline=0.0 if metrics.ic is None else metrics.ic,
            metrics=metrics,
            baselines=baselines,
            backtest=backtest(series, cost_bps=config.cost_bps, execution=config.execution),
            predictions=TrialPredictions(
                dates=[d.date().isoformat() for d in design.dates[scored_rows]],
                y_true=y.tolist(),
                y_pred=f.tolist(),
                proba_up=None,
                next_return=next_returns.tolist(),
                strategy_return=series["long_flat"][1].tolist(),
                buy_hold_return=series["buy_and_hold"][1].tolist(),
                fit_mean=fit_mean,
                horizon=config.horizon,
            ),
            verdict=judge_long_flat(series, rule_series, baselines, config),
        )

    def positions(self, predictions: TrialPredictions) -> dict[str, np.ndarray]:
        return forecast_positions(np.asarray(predictions.y_pred, dtype=float))

    def metrics(self, predictions: TrialPredictions) -> ForecastMetrics:
        return forecast_metrics(
            np.asarray(predictions.y_true, dtype=float),
            np.asarray(predictions.y_pred, dtype=float),
            predictions.fit_mean or 0.0,
        )

    def noise_bar(self, tries: int, predictions: TrialPredictions) -> tuple[float, float]:
        """The IC the best of `tries` skill-less forecasts reaches: each is about normal with
        standard deviation 1/sqrt(n) over the n non-overlapping days given."""
        return best_of_n_normal(tries, 1.0 / math.sqrt(max(len(predictions.dates), 1)))

    def paired_test(self, first: TrialPredictions, second: TrialPredictions) -> PairedTest:
        """Diebold-Mariano: do the two forecasts' squared errors differ on the shared days?
        (Newey-West errors with lags = horizon.)"""
        errors = {
            d: (t - p) ** 2 for d, t, p in zip(first.dates, first.y_true, first.y_pred, strict=True)
        }
        differences = [
            errors[d] - (t - p) ** 2
            for d, t, p in zip(second.dates, second.y_true, second.y_pred, strict=True)
            if d in errors
        ]
        if not differences:
            return PairedTest(days=0, p_value=None)
        lags = max(first.horizon or 1, second.horizon or 1)
        test = known_mean_test(differences, lags)
        return PairedTest(days=len(differences), p_value=test.two_sided_p_value)
