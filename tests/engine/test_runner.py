"""Runner-level honesty: the gap between the last training row and the first test row, walk-forward
folds inside the training period, the deadline, and model ids."""

from __future__ import annotations

import time
from datetime import date
from itertools import pairwise

import numpy as np
import pandas as pd
import pytest

from mltrainer.engine.data.base import BarSet, content_hash
from mltrainer.engine.data.sample import SampleSource
from mltrainer.engine.design import labelled_frame
from mltrainer.engine.errors import DeadlineError
from mltrainer.engine.models import MODELS
from mltrainer.engine.runner import model_id_for, run_trial
from mltrainer.engine.trial import DatasetInfo, Segment, TrialConfig, TrialResult

DAYS = 600


@pytest.fixture(scope="module")
def bars() -> BarSet:
    return SampleSource().bars("IXIC")


def window(bars: BarSet) -> BarSet:
    """The last DAYS bars, as the service hands them to the runner (before any holdout)."""
    return BarSet(bars.frame.iloc[-DAYS:], bars.provenance)


def dataset_info(bars: BarSet) -> DatasetInfo:
    frame = bars.frame
    return DatasetInfo(
        key="sample:IXIC:bars",
        holdout=Segment(start=date(2019, 1, 2), end=date(2019, 12, 31), rows=250),
        used=Segment(start=frame.index[0].date(), end=frame.index[-1].date(), rows=len(frame)),
        used_hash=content_hash(frame),
    )


def trial(bars: BarSet, **settings: object) -> TrialResult:
    config = TrialConfig.model_validate(
        {"symbol": "IXIC", "source": "sample", "model": "naive_bayes", "save_model": False}
        | settings
    )
    used = window(bars)
    return run_trial(config, used, dataset=dataset_info(used)).result


def feature_dates(bars: BarSet, *, horizon: int, execution: str = "next_bar") -> pd.DatetimeIndex:
    """The dates of the rows a non-sequence model sees, as the runner builds them."""
    config = TrialConfig.model_validate(
        {"symbol": "IXIC", "horizon": horizon, "execution": execution}
    )
    features, _ = labelled_frame(bars.frame.iloc[-DAYS:], config, macro={})
    return pd.DatetimeIndex(features.index)


def rows_between(dates: pd.DatetimeIndex, first: date, last: date) -> int:
    """Rows strictly after `first` and strictly before `last`."""
    return int(np.sum((dates > pd.Timestamp(first)) & (dates < pd.Timestamp(last))))


@pytest.mark.parametrize(
    ("horizon", "embargo", "execution", "reach"),
    [
        (1, 5, "next_bar", 2),
        (5, 0, "next_bar", 6),
        (3, 10, "next_bar", 4),
        (1, 0, "next_bar", 2),
        (1, 5, "close", 1),
        (3, 0, "close", 3),
    ],
)
def test_final_training_ends_label_reach_plus_embargo_rows_before_the_test(
    bars: BarSet, horizon: int, embargo: int, execution: str, reach: int
) -> None:
    # A label looks `horizon` bars past where the execution enters: the next bar's close under
    # next_bar, so its last `horizon + 1` rows see prices of the test period.
    result = trial(bars, horizon=horizon, embargo=embargo, execution=execution)
    dates = feature_dates(bars, horizon=horizon, execution=execution)
    train_end, selection_start = result.train_period[1], result.selection_period[0]

    assert rows_between(dates, train_end, selection_start) == reach + embargo
    assert result.train_period[0] == dates[0].date()
    assert result.selection_period[1] == dates[-1].date()
    # The selection segment starts at the bar int(n_bars * train_ratio), whatever the warm-up;
    # only the training side loses rows.
    assert selection_start == window(bars).frame.index[int(DAYS * 0.8)].date()


def test_selection_segment_is_the_same_days_for_any_lookback(bars: BarSet) -> None:
    short = trial(bars, lookback=5)
    long = trial(bars, lookback=60)

    assert short.selection_period == long.selection_period
    assert short.selection.n == long.selection.n


def test_next_bar_execution_earns_the_return_one_bar_after_the_signal(bars: BarSet) -> None:
    used = window(bars)
    close = used.frame["close"]
    delayed = trial(bars)
    on_close = trial(bars, execution="close")
    day = pd.Timestamp(delayed.selection_period[0])
    at = close.index.get_loc(day)

    assert delayed.backtest.execution == "next_bar"
    assert on_close.backtest.execution == "close"
    # Buy and hold over the same days: the delayed one starts and ends a bar later.
    assert delayed.backtest.buy_and_hold.total_return != on_close.backtest.buy_and_hold.total_return
    _, labels = labelled_frame(used.frame, TrialConfig(symbol="IXIC"), macro={})
    assert labels.loc[day, "next_return"] == pytest.approx(
        close.iloc[at + 2] / close.iloc[at + 1] - 1
    )


def test_runner_stops_at_its_deadline_before_fitting(bars: BarSet) -> None:
    config = TrialConfig(symbol="IXIC", model="naive_bayes", save_model=False)
    used = window(bars)

    with pytest.raises(DeadlineError, match="before walk-forward fold 1 of 5"):
        run_trial(config, used, dataset=dataset_info(used), deadline=time.time() - 1)


@pytest.mark.parametrize(("horizon", "embargo"), [(1, 5), (3, 10)])
def test_walk_forward_test_windows_lie_inside_the_training_period_in_order(
    bars: BarSet, horizon: int, embargo: int
) -> None:
    result = trial(bars, horizon=horizon, embargo=embargo, folds=4)
    first_train, last_train = result.train_period
    folds = result.walk_forward

    assert [f.fold for f in folds] == [1, 2, 3, 4]
    assert all(first_train < f.test_start <= f.test_end <= last_train for f in folds)
    assert all(a.test_end < b.test_start for a, b in pairwise(folds))
    # The test blocks are the last four blocks of the training period.
    assert folds[-1].test_end == last_train


@pytest.mark.parametrize(("horizon", "embargo"), [(1, 5), (3, 10)])
def test_walk_forward_folds_train_only_on_rows_before_their_gap(
    bars: BarSet, horizon: int, embargo: int
) -> None:
    result = trial(bars, horizon=horizon, embargo=embargo, folds=4)
    dates = feature_dates(bars, horizon=horizon)
    n_train = int(np.sum(dates <= pd.Timestamp(result.train_period[1])))

    for fold in result.walk_forward:
        last_fold_train = dates[fold.train_rows - 1].date()
        # The label reach under next_bar: the horizon from the next bar's close.
        assert rows_between(dates, last_fold_train, fold.test_start) == horizon + 1 + embargo
        assert fold.test_rows == n_train // 5


def decision_tree_id(**settings: object) -> str:
    config = TrialConfig.model_validate({"symbol": "IXIC", "model": "decision_tree", **settings})
    return model_id_for(config, MODELS["decision_tree"], ["data-hash"])


def test_model_id_is_the_same_for_no_params_and_the_defaults_written_out() -> None:
    assert decision_tree_id(params={}) == decision_tree_id(
        params={"max_depth": 5, "min_samples_leaf": 50}
    )


def test_model_id_is_the_same_for_an_alias_of_the_model() -> None:
    assert decision_tree_id(model="dt") == decision_tree_id(model="decision_tree")


def test_model_id_names_symbol_and_model() -> None:
    assert decision_tree_id().startswith("IXIC-decision_tree-")


def test_model_id_differs_for_another_seed() -> None:
    assert decision_tree_id(seed=42) != decision_tree_id(seed=43)


def test_model_id_differs_for_a_non_default_param() -> None:
    assert decision_tree_id(params={}) != decision_tree_id(params={"max_depth": 6})


def test_model_id_differs_for_other_data() -> None:
    config = TrialConfig(symbol="IXIC", model="decision_tree")
    spec = MODELS["decision_tree"]

    assert model_id_for(config, spec, ["data-hash"]) != model_id_for(config, spec, ["other"])


def test_model_id_of_the_default_target_is_the_id_recorded_before_there_were_targets() -> None:
    # The demo's first trial at 91524db: its configuration, the hash of the bars it used, its id.
    config = TrialConfig(symbol="SPX", model="logistic_regression", params={"C": 1.0})

    model_id = model_id_for(config, MODELS["logistic_regression"], ["60669b46390b93f4"])

    assert model_id == "SPX-logistic_regression-f18f278861"


def test_model_id_ignores_whether_the_model_is_saved() -> None:
    assert decision_tree_id(save_model=True) == decision_tree_id(save_model=False)
