"""The rows a model sees: features and the target's labels on the bars where both are known,
sequence windows that look only backwards, and a model of the kind the target needs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge

from mltrainer.engine.design import check_estimator, design_rows, labelled_frame
from mltrainer.engine.errors import ConfigError
from mltrainer.engine.models import MODELS, ModelSpec
from mltrainer.engine.targets import get_target
from mltrainer.engine.trial import TrialConfig

DIRECTION = get_target("direction")


def frame_of_five_days() -> tuple[pd.DataFrame, pd.DataFrame]:
    index = pd.date_range("2024-01-01", periods=5, freq="B", name="date")
    features = pd.DataFrame(
        {"a": [1.0, 2.0, 3.0, 4.0, 5.0], "b": [10.0, 20.0, 30.0, 40.0, 50.0]}, index=index
    )
    labels = pd.DataFrame(
        {
            "target": [1.0, 0.0, 1.0, 1.0, 0.0],
            "next_return": [0.01, -0.02, 0.03, 0.04, -0.05],
            "previous_direction": [0.0, 1.0, 0.0, 1.0, 1.0],
        },
        index=index,
    )
    return features, labels


def test_sequence_rows_are_the_last_lookback_bars_ending_at_the_row_date() -> None:
    features, labels = frame_of_five_days()
    design = design_rows(features, labels, MODELS["lstm"], 3, DIRECTION)

    # Oldest bar first, each bar's features together: (a, b) at t-2, t-1, t.
    np.testing.assert_array_equal(
        design.X,
        [
            [1.0, 10.0, 2.0, 20.0, 3.0, 30.0],
            [2.0, 20.0, 3.0, 30.0, 4.0, 40.0],
            [3.0, 30.0, 4.0, 40.0, 5.0, 50.0],
        ],
    )
    assert list(design.dates) == list(pd.DatetimeIndex(["2024-01-03", "2024-01-04", "2024-01-05"]))
    np.testing.assert_array_equal(design.y, [1, 1, 0])
    np.testing.assert_array_equal(design.labels["next_return"], [0.03, 0.04, -0.05])
    np.testing.assert_array_equal(design.labels["previous_direction"], [0, 1, 1])


def test_sequence_window_of_one_bar_is_the_row_itself() -> None:
    features, labels = frame_of_five_days()
    design = design_rows(features, labels, MODELS["lstm"], 1, DIRECTION)

    np.testing.assert_array_equal(
        design.X, [[1.0, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0], [5.0, 50.0]]
    )
    assert len(design.dates) == 5


def test_non_sequence_rows_are_the_feature_rows_unchanged() -> None:
    features, labels = frame_of_five_days()
    design = design_rows(features[["b", "a"]], labels, MODELS["logistic_regression"], 3, DIRECTION)

    np.testing.assert_array_equal(
        design.X, [[10.0, 1.0], [20.0, 2.0], [30.0, 3.0], [40.0, 4.0], [50.0, 5.0]]
    )
    assert design.y.dtype == np.int64
    np.testing.assert_array_equal(design.y, [1, 0, 1, 1, 0])
    assert list(design.dates) == list(features.index)
    assert set(design.labels) == {"next_return", "previous_direction"}


def zig_zag_bars() -> pd.DataFrame:
    """49 zig-zag warm-up bars ending at 99, then 100, 101, 100.5, 100.5, 102, 101, 103."""
    warm_up = [99.0 + 0.5 * (i % 2) for i in range(49)]
    closes = [*warm_up, 100.0, 101.0, 100.5, 100.5, 102.0, 101.0, 103.0]
    index = pd.bdate_range("2020-01-01", periods=len(closes), name="date").as_unit("ns")
    return pd.DataFrame(
        {"open": closes, "high": closes, "low": closes, "close": closes, "volume": 1e6},
        index=index,
    )


@pytest.mark.parametrize(("execution", "rows"), [("close", 6), ("next_bar", 5)])
def test_labelled_rows_start_after_the_warm_up_and_end_where_labels_end(execution, rows) -> None:
    # Features need 50 bars (the 50-bar average), so rows start at bar 49. The last bar has no
    # next close; with next_bar execution the one before it has no return to earn either.
    bars = zig_zag_bars()
    config = TrialConfig(symbol="ZZ", execution=execution)

    features, labels = labelled_frame(bars, config, macro={})

    assert list(features.index) == list(bars.index[49 : 49 + rows])
    assert list(labels.index) == list(features.index)
    assert list(labels.columns) == ["target", "next_return", "previous_direction"]
    assert not features.isna().any().any() and not labels.isna().any().any()


def test_a_classifier_is_what_direction_needs() -> None:
    spec = MODELS["naive_bayes"]

    check_estimator(spec.make_estimator({}, 0), spec, TrialConfig(symbol="SPX"))


def test_a_regressor_is_refused_for_direction_by_name() -> None:
    ridge = ModelSpec(
        name="ridge",
        family="linear",
        description="ridge regression",
        build=lambda p, s: Ridge(),
        params={},
    )

    refusal = "target 'direction' needs a classifier; model 'ridge' is a regressor"
    with pytest.raises(ConfigError, match=refusal):
        check_estimator(ridge.make_estimator({}, 0), ridge, TrialConfig(symbol="SPX"))
