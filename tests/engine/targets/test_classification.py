"""What classification targets share: a classifier's calls and probabilities, metrics of 0/1
calls (from arrays or from a record), the model against the best of a target's rules (binomial
and McNemar), and two trials against each other."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.pipeline import Pipeline

from mltrainer.engine.ledger import TrialPredictions
from mltrainer.engine.targets.classification import (
    against_rules,
    classification_metrics,
    classifier_forecast,
    paired_mcnemar,
    recorded_metrics,
)

# --- classifier_forecast ----------------------------------------------------------------------

X = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]])
Y = np.array([0, 0, 0, 1, 1, 1])


def test_the_forecast_is_the_most_probable_class_and_its_probability():
    pipeline = Pipeline([("model", LogisticRegression())]).fit(X, Y)

    forecast = classifier_forecast(pipeline, X)

    proba = pipeline.predict_proba(X)[:, 1]
    np.testing.assert_array_equal(forecast.values, pipeline.predict(X))
    np.testing.assert_array_equal(forecast.probability, proba)


def test_a_model_without_probabilities_forecasts_calls_only():
    pipeline = Pipeline([("model", RidgeClassifier())]).fit(X, Y)

    forecast = classifier_forecast(pipeline, X)

    assert forecast.values.dtype == np.int64
    assert forecast.probability is None


def test_a_model_that_never_saw_class_1_gives_it_probability_zero():
    pipeline = Pipeline([("model", DummyClassifier())]).fit(X, np.zeros(6, dtype=int))

    forecast = classifier_forecast(pipeline, X)

    assert forecast.values.tolist() == [0] * 6
    assert forecast.probability.tolist() == [0.0] * 6


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


# --- against_rules ------------------------------------------------------------------------------


def test_against_rules_hand_computed():
    result = against_rules(
        y_scored=np.array([0, 0, 0, 1, 1]),
        y_pred=np.array([0, 0, 0, 1, 0]),
        rules={
            "majority_class": np.array([1, 1, 1, 1, 1]),
            "always_up": np.array([1, 1, 1, 1, 1]),
            "previous_direction": np.array([0, 0, 1, 1, 1]),
        },
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


def test_against_rules_keeps_a_targets_own_rule_names():
    result = against_rules(
        np.array([1, 0, 0, 1]),
        np.array([1, 0, 0, 0]),
        {"always_calm": np.zeros(4, dtype=int), "previous_large": np.array([0, 1, 0, 0])},
    )

    assert result.model_dump(include={"always_calm", "previous_large", "best_name"}) == {
        "always_calm": 0.5,
        "previous_large": 0.25,
        "best_name": "always_calm",
    }


def _coin_flip_rules(n_correct: int):
    y_scored = np.tile([0, 1], 500)
    y_pred = np.where(np.arange(1000) < n_correct, y_scored, 1 - y_scored)
    return against_rules(y_scored, y_pred, {"always_up": np.ones(1000, dtype=int)})


def test_against_rules_p_value_small_for_600_of_1000_against_half():
    result = _coin_flip_rules(600)

    assert result.best_accuracy == 0.5
    assert result.p_value < 1e-9


def test_against_rules_p_value_large_for_500_of_1000_against_half():
    result = _coin_flip_rules(500)

    assert 0.5 < result.p_value < 0.53


def test_against_a_perfect_rule_the_p_value_is_one():
    y_scored = np.ones(10, dtype=int)

    result = against_rules(y_scored, y_scored, {"always_up": y_scored})

    assert result.best_accuracy == 1.0
    assert result.p_value == pytest.approx(1.0)
    assert result.mcnemar_p_value == 1.0  # never disagree: no evidence either way


def test_mcnemar_counts_only_the_days_model_and_rule_disagree():
    # Always-up is the best rule (7 of 10). The model is right on 2 of the 3 down days and
    # wrong on 1 up day: b = 2 (model only), c = 1 (rule only). P(X >= 2), X ~ Bin(3, 1/2).
    y_scored = np.array([1, 1, 1, 1, 1, 1, 1, 0, 0, 0])
    y_pred = np.array([1, 1, 1, 1, 1, 1, 0, 0, 0, 1])

    result = against_rules(
        y_scored, y_pred, {"majority_class": np.zeros(10), "always_up": np.ones(10)}
    )

    assert result.best_name == "always_up"
    assert result.mcnemar_p_value == pytest.approx(0.5)


def test_with_a_longer_horizon_only_every_horizon_th_day_is_tested():
    y_scored = np.tile([1, 0, 1], 20)

    result = against_rules(y_scored, y_scored.copy(), {"always_up": np.ones(60)}, horizon=3)

    assert result.tested_days == 20
    # On days 0, 3, 6, ... every label is up: always-up is right on all of them too.
    assert result.mcnemar_p_value == 1.0


def test_against_rules_refuses_calls_of_another_length():
    with pytest.raises(
        ValueError, match=r"y_pred \(4\) and previous_direction \(5\) must have one value per"
    ):
        against_rules(np.array([0, 1, 1, 0, 1]), np.ones(4), {"previous_direction": np.ones(5)})


def test_against_rules_refuses_an_empty_scored_period():
    with pytest.raises(ValueError, match="need scored rows"):
        against_rules(np.array([], dtype=int), np.array([]), {"always_up": np.array([])})


# --- recorded_metrics -------------------------------------------------------------------------


def four_days() -> TrialPredictions:
    return TrialPredictions(
        dates=["d1", "d2", "d3", "d4"],
        y_true=[1, 0, 1, 0],
        y_pred=[1, 1, 1, 1],
        proba_up=[0.6, 0.7, 0.6, 0.7],
        next_return=[0.01] * 4,
    )


def test_metrics_are_recomputed_from_the_record():
    metrics = recorded_metrics(four_days())

    assert (metrics.accuracy, metrics.precision, metrics.recall, metrics.n) == (0.5, 0.5, 1.0, 4)
    # The down days were given the higher P(up): every (up, down) pair is ranked wrong.
    assert metrics.auc == 0.0


# --- paired_mcnemar ------------------------------------------------------------------------------


def recorded(dates: list[str], y_true: list[int], y_pred: list[int]) -> TrialPredictions:
    return TrialPredictions(
        dates=dates, y_true=y_true, y_pred=y_pred, proba_up=None, next_return=[0.0] * len(dates)
    )


def test_paired_mcnemar_tests_the_shared_days_only():
    first = recorded(["d1", "d2", "d3", "d4"], [1, 0, 1, 1], [1, 0, 1, 1])
    # d5 is not shared. Shared: d2 only the first is right, d3 and d4 both right.
    second = recorded(["d2", "d3", "d4", "d5"], [0, 1, 1, 0], [1, 1, 1, 1])

    paired = paired_mcnemar(first, second)

    assert paired.days == 3
    # one discordant day: two-sided P = 1.0
    assert paired.p_value == 1.0


def test_paired_mcnemar_two_sided_on_discordant_days():
    days = [f"d{i}" for i in range(8)]
    first = recorded(days, [1] * 8, [1] * 8)
    second = recorded(days, [1] * 8, [0] * 7 + [1])

    paired = paired_mcnemar(first, second)

    # 7 discordant days, all won by the first: 2 * 0.5**7
    assert paired.p_value == pytest.approx(2 * 0.5**7)


def test_paired_mcnemar_without_shared_days_has_no_p_value():
    paired = paired_mcnemar(recorded(["d1"], [1], [1]), recorded(["d2"], [1], [0]))

    assert (paired.days, paired.p_value) == (0, None)
