"""`return`: labels aligned with the execution, the forecast's metrics against the historical
mean, the naive forecasts and the Clark-West test, positions, the noise bar, the paired test,
and a trial end to end on an offline stock."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mltrainer.engine.ledger import TrialPredictions
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import load_settings
from mltrainer.engine.stats import best_of_n_normal
from mltrainer.engine.targets import get_target
from mltrainer.engine.targets.returns import (
    clark_west,
    forecast_metrics,
    forecast_positions,
    forward_returns,
)
from mltrainer.engine.trial import ForecastBaselines, ForecastMetrics, TrialConfig

RETURN = get_target("return")
CLOSE = pd.Series([100.0, 101.0, 99.0, 102.0, 104.0, 103.0])


def test_the_label_starts_when_the_execution_can_trade():
    next_bar = TrialConfig(symbol="AAPL", target="return", horizon=2)
    at_close = next_bar.model_copy(update={"execution": "close"})

    assert forward_returns(CLOSE, next_bar).round(6).tolist()[:3] == [
        round(102 / 101 - 1, 6),
        round(104 / 99 - 1, 6),
        round(103 / 102 - 1, 6),
    ]
    assert forward_returns(CLOSE, at_close).round(6).tolist()[:2] == [
        round(99 / 100 - 1, 6),
        round(102 / 101 - 1, 6),
    ]
    assert forward_returns(CLOSE, next_bar).isna().tolist()[-3:] == [True, True, True]


def test_the_labels_carry_the_bar_traded_and_the_momentum_forecast():
    labels = RETURN.labels(CLOSE.to_frame("close"), TrialConfig(symbol="AAPL", target="return"))

    assert list(labels.columns) == ["target", "next_return", "past_return"]
    assert labels["past_return"].iloc[2] == pytest.approx(99 / 101 - 1)
    assert labels["next_return"].iloc[0] == pytest.approx(99 / 101 - 1)


def test_r_squared_is_against_the_historical_mean():
    y = np.array([0.01, -0.02, 0.03, 0.0])
    forecast = np.array([0.005, -0.01, 0.01, 0.002])

    metrics = forecast_metrics(y, forecast, fit_mean=0.001)

    sse = np.sum((y - forecast) ** 2)
    assert metrics.r2_oos == pytest.approx(1 - sse / np.sum((y - 0.001) ** 2))
    assert metrics.hit_rate == 0.75
    assert metrics.mse == pytest.approx(sse / 4)
    assert metrics.ic == pytest.approx(np.corrcoef(y, forecast)[0, 1])


def test_the_mean_forecast_itself_scores_zero_and_has_no_ic():
    metrics = forecast_metrics(np.array([0.01, -0.02, 0.03]), np.full(3, 0.004), 0.004)

    assert (metrics.r2_oos, metrics.ic, metrics.rank_ic) == (0.0, None, None)


def test_clark_west_finds_a_forecast_that_tracks_the_return():
    rng = np.random.default_rng(0)
    y = rng.normal(0, 0.01, 500)
    good = y + rng.normal(0, 0.01, 500)

    assert clark_west(y, 0.3 * good, np.zeros(500), lags=1) < 0.001
    assert clark_west(y, rng.normal(0, 0.003, 500), np.zeros(500), lags=1) > 0.05


def test_positions_follow_the_sign_and_size_of_the_forecast():
    positions = forecast_positions(np.array([0.02, -0.01, 0.0, 0.04]))

    assert positions["long_flat"].tolist() == [1.0, 0.0, 0.0, 1.0]
    assert positions["long_short"].tolist() == [1.0, -1.0, 0.0, 1.0]
    scale = np.sqrt(np.cumsum([0.0004, 0.0001, 0.0, 0.0016]) / np.arange(1, 5))
    expected = np.clip(np.array([0.02, -0.01, 0.0, 0.04]) / scale, -1, 1)
    np.testing.assert_allclose(positions["sized"], expected)


def recorded(days: int, horizon: int = 1) -> TrialPredictions:
    rng = np.random.default_rng(days)
    return TrialPredictions(
        dates=[str(d.date()) for d in pd.bdate_range("2020-01-01", periods=days)],
        y_true=rng.normal(0, 0.01, days).tolist(),
        y_pred=rng.normal(0, 0.001, days).tolist(),
        proba_up=None,
        next_return=rng.normal(0, 0.01, days).tolist(),
        fit_mean=0.0005,
        horizon=horizon,
    )


def test_the_noise_bar_is_the_best_of_n_skill_less_ics_on_independent_days():
    assert RETURN.noise_bar(7, recorded(400)) == best_of_n_normal(7, 1 / np.sqrt(400))
    independent = recorded(400, horizon=5).every(5)
    assert RETURN.noise_bar(7, independent) == best_of_n_normal(7, 1 / np.sqrt(80))


def test_the_record_gives_back_the_metrics():
    predictions = recorded(50)

    metrics = RETURN.metrics(predictions)

    assert metrics == forecast_metrics(
        np.asarray(predictions.y_true), np.asarray(predictions.y_pred), 0.0005
    )


def test_two_forecasts_are_compared_on_their_shared_days():
    first, second = recorded(60), recorded(60)

    same = RETURN.paired_test(first, second)
    other = RETURN.paired_test(first, recorded(61))

    assert (same.days, same.p_value) == (60, 1.0)
    assert other.days == 60 and other.p_value is not None


@pytest.mark.slow
def test_a_return_trial_on_an_offline_stock_is_a_regression_with_its_own_sections():
    service = ResearchService(load_settings(), session="returns")
    config = TrialConfig(symbol="KO", target="return", model="ridge", days=3000)

    result = service.train(config).result

    assert isinstance(result.selection, ForecastMetrics)
    assert isinstance(result.baselines, ForecastBaselines)
    assert set(result.baselines.rules) == {"zero", "historical_mean", "momentum"}
    assert result.baselines.rules["historical_mean"].r2_oos == 0.0
    assert result.selection_accuracy == result.selection.ic
    assert result.backtest.sized is not None
    assert result.data_label == "REAL DATA" and result.provenance.source == "sp20"
    assert any("go without volume_ratio (needs volume)" in note for note in result.notes)
    assert result.survivorship is not None
    recorded_row = service.ledger.predictions(result.trial)
    assert recorded_row is not None and recorded_row.fit_mean is not None
