"""`direction`: labels written out by hand, its three rules, calls to positions, its score, and
the noise bar of coin flips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from mltrainer.engine.design import Design
from mltrainer.engine.ledger import TrialPredictions
from mltrainer.engine.stats import best_of_n_accuracy
from mltrainer.engine.targets import get_target, target_names
from mltrainer.engine.targets.direction import (
    Direction,
    baseline_predictions,
    baseline_strategies,
    calls_to_positions,
)
from mltrainer.engine.trial import TrialConfig

DIRECTION = Direction()


def closes(*values: float) -> pd.DataFrame:
    index = pd.bdate_range("2020-01-01", periods=len(values), name="date").as_unit("ns")
    return pd.DataFrame({"close": values}, index=index)


BARS = closes(100.0, 101.0, 100.5, 100.5, 102.0, 101.0, 103.0)


def test_direction_is_the_built_in_default_target():
    assert target_names()[0] == "direction"
    assert isinstance(get_target("direction"), Direction)
    assert Direction.estimator_type == "classifier"
    assert Direction.headline.metric == "accuracy"


def test_the_label_is_the_direction_of_the_next_close():
    labels = DIRECTION.labels(BARS, TrialConfig(symbol="X", execution="close"))

    # 100->101 up, 101->100.5 down, 100.5->100.5 flat (not up), ->102 up, ->101 down, ->103 up;
    # the last close has no next close yet.
    assert labels["target"].tolist()[:6] == [1.0, 0.0, 0.0, 1.0, 0.0, 1.0]
    assert np.isnan(labels["target"].iloc[6])
    assert labels["next_return"].tolist()[:6] == pytest.approx(
        [0.01, 100.5 / 101 - 1, 0.0, 102 / 100.5 - 1, 101 / 102 - 1, 103 / 101 - 1]
    )
    # The direction of the bar just completed (none before the first): -, up, down, flat...
    assert labels["previous_direction"].tolist() == [0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0]


def test_with_next_bar_execution_the_label_and_the_return_are_the_bar_after_the_next():
    labels = DIRECTION.labels(BARS, TrialConfig(symbol="X"))

    # A call at the close of t fills at the close of t+1 and earns t+1 -> t+2, so that is the
    # move it is labelled with: 101->100.5 down, ->100.5 flat, ->102 up, ->101 down, ->103 up.
    assert labels["target"].tolist()[:5] == [0.0, 0.0, 1.0, 0.0, 1.0]
    assert labels["target"].iloc[5:].isna().all()
    assert labels["next_return"].tolist()[:5] == pytest.approx(
        [100.5 / 101 - 1, 0.0, 102 / 100.5 - 1, 101 / 102 - 1, 103 / 101 - 1]
    )
    assert labels["next_return"].iloc[5:].isna().all()


def test_the_label_looks_horizon_bars_ahead():
    labels = DIRECTION.labels(BARS, TrialConfig(symbol="X", horizon=2, execution="close"))

    # close[t + 2] > close[t]: 100.5>100, 100.5>101, 102>100.5, 101>100.5, 103>102.
    assert labels["target"].tolist()[:5] == [1.0, 0.0, 1.0, 1.0, 1.0]
    # close[t] > close[t - 2]
    assert labels["previous_direction"].tolist()[2:] == [1.0, 0.0, 1.0, 1.0, 1.0]


def test_under_next_bar_the_horizon_counts_from_the_fill():
    labels = DIRECTION.labels(BARS, TrialConfig(symbol="X", horizon=2))

    # close[t + 3] > close[t + 1]: 100.5>101, 102>100.5, 101>100.5, 103>102.
    assert labels["target"].tolist()[:4] == [0.0, 1.0, 1.0, 1.0]
    assert labels["target"].iloc[4:].isna().all()


@pytest.mark.parametrize(("horizon", "execution", "reach"), [(1, "close", 1), (3, "next_bar", 4)])
def test_the_purge_covers_the_bars_a_label_reaches(horizon, execution, reach):
    config = TrialConfig(symbol="X", horizon=horizon, execution=execution)

    assert DIRECTION.label_reach(config) == reach


@pytest.mark.parametrize(
    ("horizon", "execution"), [(1, "close"), (1, "next_bar"), (3, "close"), (3, "next_bar")]
)
def test_a_label_never_looks_past_its_horizon_and_the_trade_it_prices(horizon, execution):
    # Changing close k may change the labels of rows k - reach .. k, and no earlier row.
    rng = np.random.default_rng(horizon)
    bars = closes(*(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 40)))))
    reach = DIRECTION.label_reach(TrialConfig(symbol="X", horizon=horizon, execution=execution))
    assert reach == horizon + (execution == "next_bar")
    config = TrialConfig(symbol="X", horizon=horizon, execution=execution)
    for k in range(5, 40, 7):
        changed = bars.copy()
        changed.iloc[k, 0] *= 1.5

        before = DIRECTION.labels(bars, config).iloc[: k - reach]
        after = DIRECTION.labels(changed, config).iloc[: k - reach]

        pd.testing.assert_frame_equal(before, after, check_exact=True)


def test_majority_class_comes_from_the_training_period():
    # Down dominates the training period, up dominates the scored period.
    rules = baseline_predictions(np.array([0, 0, 0, 1]), 4, np.array([0, 1, 1, 0]))

    assert {name: calls.tolist() for name, calls in rules.items()} == {
        "majority_class": [0, 0, 0, 0],
        "always_up": [1, 1, 1, 1],
        "previous_direction": [0, 1, 1, 0],
    }


def test_a_tie_in_the_training_period_counts_as_up():
    rules = baseline_predictions(np.array([0, 1, 0, 1]), 3, np.array([0, 0, 1]))

    assert rules["majority_class"].tolist() == [1, 1, 1]


def test_rules_need_training_labels():
    with pytest.raises(ValueError, match="baselines need training labels; got none"):
        baseline_predictions(np.array([]), 3, np.zeros(3))


def test_an_up_call_is_long_a_down_call_flat_or_short():
    positions = calls_to_positions(np.array([1, 0, 0, 1]))

    assert {name: held.tolist() for name, held in positions.items()} == {
        "long_flat": [1.0, 0.0, 0.0, 1.0],
        "long_short": [1.0, -1.0, -1.0, 1.0],
        "buy_and_hold": [1.0, 1.0, 1.0, 1.0],
    }


def test_the_baseline_strategies_are_always_long_always_flat_and_the_last_move():
    strategies = baseline_strategies(np.array([1, 0, 1]))

    assert {name: held.tolist() for name, held in strategies.items()} == {
        "buy_and_hold": [1.0, 1.0, 1.0],
        "cash": [0.0, 0.0, 0.0],
        "previous_direction": [1.0, 0.0, 1.0],
    }


X = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]])
Y = np.array([0, 0, 0, 1, 1, 1])


def test_the_fit_score_is_accuracy():
    pipeline = Pipeline([("model", LogisticRegression())]).fit(X, Y)
    design = Design(X=X, y=1 - Y, labels={}, dates=pd.date_range("2020-01-01", periods=6))

    assert DIRECTION.fit_score(pipeline, design, np.arange(6)) == pytest.approx(
        float(np.mean(pipeline.predict(X) == 1 - Y))
    )


def recorded(days: int) -> TrialPredictions:
    return TrialPredictions(
        dates=[f"2020-01-{d + 1:02d}" for d in range(days)],
        y_true=[1, 0] * (days // 2),
        y_pred=[1, 1] * (days // 2),
        proba_up=[0.6, 0.7] * (days // 2),
        next_return=[0.01] * days,
    )


def test_the_noise_bar_is_the_best_of_n_coin_flips_on_the_recorded_days():
    assert DIRECTION.noise_bar(7, recorded(20)) == best_of_n_accuracy(7, 20)


def test_positions_of_a_record_trade_its_calls():
    positions = DIRECTION.positions(recorded(4))

    assert positions["long_short"].tolist() == [1.0, 1.0, 1.0, 1.0]
