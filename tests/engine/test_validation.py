from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

from mltrainer.engine.errors import ConfigError, InsufficientDataError
from mltrainer.engine.validation import WalkForwardSplit, split_at


def test_walk_forward_exact_indices_small_case():
    cv = WalkForwardSplit(n_splits=3, purge=2, embargo=1, min_train_size=1)

    folds = list(cv.split(np.zeros((20, 2))))

    assert len(folds) == 3
    assert_array_equal(folds[0][0], [0, 1])
    assert_array_equal(folds[0][1], [5, 6, 7, 8, 9])
    assert_array_equal(folds[1][0], [0, 1, 2, 3, 4, 5, 6])
    assert_array_equal(folds[1][1], [10, 11, 12, 13, 14])
    assert_array_equal(folds[2][0], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
    assert_array_equal(folds[2][1], [15, 16, 17, 18, 19])


def test_walk_forward_explicit_test_size():
    cv = WalkForwardSplit(n_splits=2, purge=1, embargo=0, test_size=3, min_train_size=1)

    folds = list(cv.split(np.zeros(12)))

    assert_array_equal(folds[0][0], [0, 1, 2, 3, 4])
    assert_array_equal(folds[0][1], [6, 7, 8])
    assert_array_equal(folds[1][0], [0, 1, 2, 3, 4, 5, 6, 7])
    assert_array_equal(folds[1][1], [9, 10, 11])


def test_walk_forward_stores_params_as_given():
    cv = WalkForwardSplit(n_splits=4, purge=3, embargo=2, test_size=7, min_train_size=9)

    assert (cv.n_splits, cv.purge, cv.embargo, cv.test_size, cv.min_train_size) == (4, 3, 2, 7, 9)


def test_walk_forward_repr_lists_params_like_sklearn():
    cv = WalkForwardSplit(n_splits=4, purge=3, embargo=2, test_size=7, min_train_size=9)

    assert " ".join(repr(cv).split()) == (
        "WalkForwardSplit(embargo=2, min_train_size=9, n_splits=4, purge=3, test_size=7)"
    )


def test_walk_forward_get_n_splits():
    assert WalkForwardSplit(n_splits=4).get_n_splits() == 4


def test_walk_forward_train_ends_purge_plus_embargo_before_test():
    cv = WalkForwardSplit(n_splits=5, purge=3, embargo=4, min_train_size=10)

    for train, test in cv.split(np.zeros(300)):
        assert train.max() < test.min() - 3 - 4
        assert train.max() == test.min() - 3 - 4 - 1


def test_walk_forward_train_starts_at_zero_and_expands():
    cv = WalkForwardSplit(n_splits=4, purge=2, embargo=1)

    train_sizes = [train.size for train, _ in cv.split(np.zeros(500))]

    assert [train[0] for train, _ in cv.split(np.zeros(500))] == [0, 0, 0, 0]
    assert train_sizes == [97, 197, 297, 397]


def test_walk_forward_test_blocks_are_disjoint_consecutive_and_cover_the_tail():
    cv = WalkForwardSplit(n_splits=4, purge=1, min_train_size=10)

    tests = [test for _, test in cv.split(np.zeros(103))]

    assert [test.size for test in tests] == [20, 20, 20, 20]
    assert_array_equal(np.concatenate(tests), np.arange(23, 103))


def test_walk_forward_takes_row_count_from_a_dataframe():
    cv = WalkForwardSplit(n_splits=2, purge=0, min_train_size=1)

    folds = list(cv.split(pd.DataFrame({"close": range(6)})))

    assert_array_equal(folds[0][0], [0, 1])
    assert_array_equal(folds[1][1], [4, 5])


def test_walk_forward_too_few_samples_names_every_value():
    cv = WalkForwardSplit(n_splits=5, purge=2, embargo=3, min_train_size=50)

    with pytest.raises(
        InsufficientDataError,
        match=r"n_samples=120 into n_splits=5 with purge=2, embargo=3 and test_size=20 "
        r"leaves 15 train rows.*min_train_size=50",
    ):
        cv.split(np.zeros(120))


def test_walk_forward_error_is_a_value_error():
    cv = WalkForwardSplit(n_splits=3, min_train_size=50)

    with pytest.raises(ValueError, match="n_samples=40"):
        list(cv.split(np.zeros(40)))


def test_walk_forward_empty_test_block():
    cv = WalkForwardSplit(n_splits=5, purge=0, min_train_size=1)

    with pytest.raises(InsufficientDataError, match=r"test_size=0 .*test_size >= 1"):
        cv.split(np.zeros(5))


def test_walk_forward_test_size_too_large_for_samples():
    cv = WalkForwardSplit(n_splits=3, purge=1, test_size=40, min_train_size=1)

    with pytest.raises(InsufficientDataError, match="test_size=40 leaves 0 train rows"):
        cv.split(np.zeros(100))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_splits": 0}, "n_splits=0 must be >= 1"),
        ({"purge": -1}, "purge=-1 and embargo=0 must be >= 0"),
        ({"embargo": -2}, "purge=1 and embargo=-2 must be >= 0"),
        ({"test_size": 0}, "test_size=0 must be >= 1 or None"),
        ({"min_train_size": 0}, "min_train_size=0 must be >= 1"),
    ],
)
def test_walk_forward_invalid_params_raise_in_split(params, message):
    cv = WalkForwardSplit(**params)

    with pytest.raises(ConfigError, match=message):
        cv.split(np.zeros(1000))


@given(
    n_samples=st.integers(min_value=0, max_value=400),
    n_splits=st.integers(min_value=1, max_value=12),
    purge=st.integers(min_value=0, max_value=20),
    embargo=st.integers(min_value=0, max_value=20),
    min_train_size=st.integers(min_value=1, max_value=60),
)
def test_walk_forward_property_raises_or_respects_gap(
    n_samples, n_splits, purge, embargo, min_train_size
):
    cv = WalkForwardSplit(
        n_splits=n_splits, purge=purge, embargo=embargo, min_train_size=min_train_size
    )
    try:
        folds = list(cv.split(np.zeros(n_samples)))
    except ValueError:
        return

    assert len(folds) == n_splits
    for train, test in folds:
        assert train.size >= min_train_size
        assert test.size >= 1
        assert train.max() < test.min() - purge - embargo
        assert test.max() < n_samples
    assert folds[-1][1][-1] == n_samples - 1


def test_split_at_exact_indices():
    train, test = split_at(100, 70, purge=3, min_train_size=10, min_test_size=10)

    assert_array_equal(train, np.arange(0, 67))
    assert_array_equal(test, np.arange(70, 100))


def test_split_at_zero_purge_touches_the_cut():
    train, test = split_at(200, 150, purge=0)

    assert (train[0], train[-1], train.size) == (0, 149, 150)
    assert (test[0], test[-1], test.size) == (150, 199, 50)


def test_split_at_too_few_train_rows():
    with pytest.raises(
        InsufficientDataError,
        match=r"n_samples=60 with train_ratio=0.8 and purge=5 gives 43 train rows and 12 test "
        r"rows; need at least min_train_size=50 and min_test_size=20",
    ):
        split_at(60, 48, purge=5, detail=" with train_ratio=0.8")


def test_split_at_too_few_test_rows():
    with pytest.raises(ValueError, match="gives 94 train rows and 5 test rows"):
        split_at(100, 95, purge=1)


def test_split_at_empty_input():
    with pytest.raises(ValueError, match=r"n_samples=0 .*gives 0 train rows and 0 test rows"):
        split_at(0, 0, purge=1)


def test_split_at_negative_purge():
    with pytest.raises(ConfigError, match="purge=-1 must be >= 0"):
        split_at(1000, 800, purge=-1)
