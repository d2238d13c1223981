from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from mltrainer.engine.metrics import (
    backtest,
    baselines,
    classification_metrics,
    costed_returns,
    strategy_stats,
)

# --- classification_metrics -------------------------------------------------------------------


def test_classification_metrics_hand_computed_scores():
    y_true = np.array([1, 0, 1, 1, 0, 1, 0, 0])
    y_pred = np.array([1, 0, 0, 1, 1, 1, 0, 1])

    scores = classification_metrics(y_true, y_pred, None)

    # 5 of 8 right; 3 true ups out of 5 up calls; 3 of 4 ups caught.
    assert scores.accuracy == 0.625
    assert scores.precision == 0.6
    assert scores.recall == 0.75
    assert scores.n == 8


def test_classification_metrics_without_probabilities_has_no_auc_or_log_loss():
    scores = classification_metrics(np.array([0, 1, 1]), np.array([0, 1, 0]), None)

    assert scores.auc is None
    assert scores.log_loss is None


def test_classification_metrics_auc_and_log_loss():
    y_true = np.array([0, 0, 1, 1])
    proba_up = np.array([0.1, 0.4, 0.35, 0.8])

    scores = classification_metrics(y_true, (proba_up > 0.5).astype(int), proba_up)

    # 3 of the 4 (up, down) pairs are ranked correctly.
    assert scores.auc == 0.75
    expected_loss = -(np.log(0.9) + np.log(0.6) + np.log(0.35) + np.log(0.8)) / 4
    assert scores.log_loss == pytest.approx(expected_loss)
    assert scores.log_loss == pytest.approx(0.4722880, abs=1e-7)


def test_classification_metrics_match_scikit_learns_scorers_with_ties():
    from sklearn.metrics import (
        accuracy_score,
        log_loss,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    rng = np.random.default_rng(2)
    y_true = rng.integers(0, 2, 500)
    proba_up = np.round(rng.uniform(0.0, 1.0, 500), 2)  # rounded: many tied scores
    y_pred = (proba_up > 0.5).astype(int)

    scores = classification_metrics(y_true, y_pred, proba_up)

    assert scores.accuracy == pytest.approx(accuracy_score(y_true, y_pred))
    assert scores.precision == pytest.approx(precision_score(y_true, y_pred))
    assert scores.recall == pytest.approx(recall_score(y_true, y_pred))
    assert scores.auc == pytest.approx(roc_auc_score(y_true, proba_up))
    clipped = np.clip(proba_up, 1e-15, 1 - 1e-15)
    assert scores.log_loss == pytest.approx(log_loss(y_true, clipped))


def test_classification_metrics_no_up_calls_has_zero_precision():
    scores = classification_metrics(np.array([1, 0, 1]), np.array([0, 0, 0]), None)

    assert (scores.precision, scores.recall) == (0.0, 0.0)


def test_classification_metrics_single_class_has_no_auc():
    scores = classification_metrics(
        np.array([1, 1, 1]), np.array([1, 0, 1]), np.array([0.7, 0.4, 0.9])
    )

    assert scores.auc is None
    assert scores.log_loss is None
    assert scores.accuracy == pytest.approx(2 / 3)


def test_classification_metrics_clips_certain_wrong_probabilities():
    scores = classification_metrics(np.array([1, 0]), np.array([0, 1]), np.array([0.0, 1.0]))

    # Clipped to [1e-15, 1 - 1e-15]; 1 - 1e-15 rounds, so the down row's loss is not exact.
    assert scores.log_loss == pytest.approx(-(np.log(1e-15) + np.log(1 - (1 - 1e-15))) / 2)
    assert np.isfinite(scores.log_loss)
    assert scores.auc == 0.0


def test_classification_metrics_no_up_calls_scores_zero_precision():
    scores = classification_metrics(np.array([1, 0, 1]), np.array([0, 0, 0]), None)

    assert scores.precision == 0.0
    assert scores.recall == 0.0


# --- baselines --------------------------------------------------------------------------------


def test_baselines_hand_computed():
    result = baselines(
        y_train=np.array([1, 1, 1, 0, 0]),
        y_scored=np.array([0, 0, 0, 1, 1]),
        previous_direction=np.array([0, 0, 1, 1, 1]),
        y_pred=np.array([0, 0, 0, 1, 0]),
    )

    assert result.majority_class == 0.4
    assert result.always_up == 0.4
    assert result.previous_direction == 0.8
    assert result.best_name == "previous_direction"
    assert result.best_accuracy == 0.8
    # P(X >= 4) for X ~ Binomial(5, 0.8) = 5 * 0.8**4 * 0.2 + 0.8**5
    assert result.p_value == pytest.approx(0.73728)
    # They disagree on day 2 (model right) and day 4 (baseline right): P(X >= 1), X ~ Bin(2, 1/2)
    assert result.mcnemar_p_value == pytest.approx(0.75)
    assert result.tested_days == 5


def test_baselines_majority_class_comes_from_the_training_period():
    # Down dominates the training period, up dominates the scored period.
    result = baselines(
        y_train=np.array([0, 0, 0, 1]),
        y_scored=np.array([1, 1, 0, 1]),
        previous_direction=np.array([0, 1, 1, 0]),
        y_pred=np.array([1, 0, 1, 1]),
    )

    assert result.majority_class == 0.25
    assert result.always_up == 0.75
    assert result.best_name == "always_up"


def test_baselines_training_tie_counts_as_up():
    result = baselines(
        y_train=np.array([0, 1, 0, 1]),
        y_scored=np.array([1, 1, 0]),
        previous_direction=np.array([0, 0, 1]),
        y_pred=np.array([1, 0, 1]),
    )

    assert result.majority_class == pytest.approx(2 / 3)


def _coin_flip_baselines(n_correct: int):
    y_scored = np.tile([0, 1], 500)
    y_pred = np.where(np.arange(1000) < n_correct, y_scored, 1 - y_scored)
    return baselines(
        y_train=np.tile([0, 1], 500),
        y_scored=y_scored,
        previous_direction=1 - y_scored,
        y_pred=y_pred,
    )


def test_baselines_p_value_small_for_600_of_1000_against_half():
    result = _coin_flip_baselines(600)

    assert result.best_accuracy == 0.5
    assert result.p_value < 1e-9


def test_baselines_p_value_large_for_500_of_1000_against_half():
    result = _coin_flip_baselines(500)

    assert 0.5 < result.p_value < 0.53


def test_baselines_perfect_baseline_gives_p_value_one():
    y_scored = np.ones(10, dtype=int)

    result = baselines(np.ones(20, dtype=int), y_scored, y_scored, y_scored)

    assert result.best_accuracy == 1.0
    assert result.p_value == pytest.approx(1.0)
    assert result.mcnemar_p_value == 1.0  # never disagree: no evidence either way


def test_baselines_mcnemar_counts_only_the_days_they_disagree():
    # Always-up is the best baseline (7 of 10). The model is right on 2 of the 3 down days and
    # wrong on 1 up day: b = 2 (model only), c = 1 (baseline only). P(X >= 2), X ~ Bin(3, 1/2).
    y_scored = np.array([1, 1, 1, 1, 1, 1, 1, 0, 0, 0])
    y_pred = np.array([1, 1, 1, 1, 1, 1, 0, 0, 0, 1])

    result = baselines(np.zeros(5, dtype=int), y_scored, np.zeros(10, dtype=int), y_pred)

    assert result.best_name == "always_up"
    assert result.mcnemar_p_value == pytest.approx(0.5)


def test_baselines_with_longer_horizon_test_every_horizon_th_day_only():
    y_scored = np.tile([1, 0, 1], 20)
    y_pred = y_scored.copy()

    result = baselines(np.ones(5, dtype=int), y_scored, 1 - y_scored, y_pred, horizon=3)

    assert result.tested_days == 20
    # On days 0, 3, 6, ... every label is up: always-up is right on all of them too.
    assert result.mcnemar_p_value == 1.0


def test_baselines_refuses_predictions_of_another_length():
    with pytest.raises(ValueError, match=r"y_pred \(4\) and previous_direction \(5\)"):
        baselines(
            np.array([0, 1]), np.array([0, 1, 1, 0, 1]), np.array([0, 1, 1, 0, 1]), np.ones(4)
        )


def test_baselines_refuses_an_empty_scored_period():
    with pytest.raises(ValueError, match="need scored rows"):
        baselines(np.array([0, 1]), np.array([], dtype=int), np.array([], dtype=int), np.array([]))


# --- strategy_stats ---------------------------------------------------------------------------


def test_strategy_stats_annual_return_is_geometric():
    stats = strategy_stats(np.array([0.10, -0.05]), None, periods_per_year=4)

    # (1.10 * 0.95) ** (4 / 2) - 1
    assert stats.annual_return == pytest.approx(0.092025)


def test_strategy_stats_sharpe_uses_sample_std():
    stats = strategy_stats(np.array([0.01, -0.01, 0.02, 0.0]), None)

    # mean 0.005; squared deviations sum to 5e-4 over 3 degrees of freedom.
    assert stats.sharpe == pytest.approx(0.005 / np.sqrt(5e-4 / 3) * np.sqrt(252))
    assert stats.sharpe == pytest.approx(6.1482, abs=1e-4)


def test_strategy_stats_sharpe_zero_for_constant_returns():
    stats = strategy_stats(np.full(10, 0.001), None)

    assert stats.sharpe == 0.0


def test_strategy_stats_max_drawdown_of_known_equity_path():
    # equity 1.0 -> 1.5 -> 0.75 -> 0.9: the fall from 1.5 to 0.75 is half the peak.
    stats = strategy_stats(np.array([0.5, -0.5, 0.2]), None)

    assert stats.max_drawdown == pytest.approx(-0.5)


def test_strategy_stats_first_bar_loss_is_a_drawdown():
    stats = strategy_stats(np.array([-0.1, 0.05]), None)

    assert stats.max_drawdown == pytest.approx(-0.1)


def test_strategy_stats_no_drawdown_when_equity_only_rises():
    stats = strategy_stats(np.array([0.01, 0.02, 0.0]), None)

    assert stats.max_drawdown == 0.0


def test_strategy_stats_total_loss():
    stats = strategy_stats(np.array([-1.0, 0.1]), None)

    assert stats.annual_return == -1.0
    assert stats.max_drawdown == -1.0


def test_strategy_stats_turnover_is_mean_position_change_per_bar():
    stats = strategy_stats(np.zeros(4), np.array([1.0, 0.0, 1.0, 1.0]))

    # changes 1 + 1 + 0 over 4 bars
    assert stats.turnover == 0.5


def test_strategy_stats_buy_and_hold_has_zero_turnover():
    stats = strategy_stats(np.zeros(5), np.ones(5))

    assert stats.turnover == 0.0


def test_strategy_stats_refuses_mismatched_positions():
    with pytest.raises(ValueError, match="positions has 2 bars but daily_returns has 3"):
        strategy_stats(np.zeros(3), np.ones(2))


def test_strategy_stats_refuses_empty_returns():
    with pytest.raises(ValueError, match="empty series"):
        strategy_stats(np.array([]), None)


# --- backtest ---------------------------------------------------------------------------------

PREDICTIONS = np.array([1, 0, 0, 1])
NEXT_RETURNS = np.array([0.01, -0.02, 0.03, 0.01])


def test_costed_returns_entering_from_flat_pays_a_cost():
    returns = costed_returns(np.array([1.0, 0.0, 0.0, 1.0]), NEXT_RETURNS, cost_bps=10)

    assert_allclose(returns, [0.009, -0.001, 0.0, 0.009])


def test_costed_returns_reversal_pays_twice():
    returns = costed_returns(np.array([1.0, -1.0, -1.0, 1.0]), NEXT_RETURNS, cost_bps=10)

    assert_allclose(returns, [0.009, 0.018, -0.03, 0.008])


def test_costs_reduce_returns_by_exactly_cost_times_position_change():
    positions = np.array([1.0, -1.0, 0.0, 0.0])

    gross = costed_returns(positions, NEXT_RETURNS, cost_bps=0)
    net = costed_returns(positions, NEXT_RETURNS, cost_bps=25)

    # changes 1, 2, 1, 0 at 25 bps each
    assert_allclose(gross - net, [0.0025, 0.005, 0.0025, 0.0])


def test_backtest_scores_each_strategy_on_its_costed_returns():
    result = backtest(PREDICTIONS, NEXT_RETURNS, cost_bps=10)

    assert result.cost_bps == 10
    expected = {
        "long_flat": strategy_stats(np.array([0.009, -0.001, 0.0, 0.009]), np.array([1, 0, 0, 1])),
        "long_short": strategy_stats(
            np.array([0.009, 0.018, -0.03, 0.008]), np.array([1, -1, -1, 1])
        ),
        "buy_and_hold": strategy_stats(np.array([0.009, -0.02, 0.03, 0.01]), np.ones(4)),
    }
    for name, stats in expected.items():
        assert getattr(result, name).model_dump() == pytest.approx(stats.model_dump())


def test_backtest_turnover_per_strategy():
    result = backtest(PREDICTIONS, NEXT_RETURNS, cost_bps=10)

    # long/flat changes 1 + 0 + 1, long/short 2 + 0 + 2, over 4 bars; the entry is not turnover.
    assert result.long_flat.turnover == 0.5
    assert result.long_short.turnover == 1.0
    assert result.buy_and_hold.turnover == 0.0


def test_backtest_buy_and_hold_pays_one_entry_cost_over_a_flat_year():
    result = backtest(np.ones(252, dtype=int), np.zeros(252), cost_bps=10)

    assert result.buy_and_hold.annual_return == pytest.approx(-0.001)
    assert result.long_flat.annual_return == pytest.approx(-0.001)


def test_backtest_switching_every_bar_pays_every_bar():
    predictions = np.tile([1, 0], 126)

    result = backtest(predictions, np.zeros(252), cost_bps=10)

    assert result.long_flat.annual_return == pytest.approx(0.999**252 - 1)
    assert result.long_short.annual_return == pytest.approx(0.999 * 0.998**251 - 1)
    assert result.buy_and_hold.annual_return == pytest.approx(-0.001)


def test_backtest_without_costs_long_flat_earns_the_up_days():
    result = backtest(np.array([1, 1, 0]), np.array([0.1, -0.5, -0.5]), cost_bps=0)

    # long on bars 0 and 1: 1.1 * 0.5 = 0.55 of the start
    assert result.long_flat.max_drawdown == pytest.approx(-0.5)
    assert result.long_flat.annual_return == pytest.approx(0.55 ** (252 / 3) - 1)


def test_backtest_refuses_mismatched_lengths():
    with pytest.raises(ValueError, match="got 3 predictions and 2 next_returns"):
        backtest(np.array([1, 0, 1]), np.array([0.01, 0.02]), cost_bps=2)


def test_backtest_refuses_negative_costs():
    with pytest.raises(ValueError, match=r"cost_bps=-1.0 must be >= 0"):
        backtest(PREDICTIONS, NEXT_RETURNS, cost_bps=-1.0)
