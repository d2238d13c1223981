"""Chronological train/test splits: a model only trains on rows older than those it is scored on.

There is deliberately no shuffled split here. Shuffling market rows lets a model learn from
the days around each test day, and its accuracy then says nothing about the future.
"""

from __future__ import annotations

from collections.abc import Iterator, Sized

import numpy as np
from sklearn.model_selection import BaseCrossValidator

from mltrainer.engine.errors import ConfigError, InsufficientDataError


def split_at(
    n_samples: int,
    first_test_row: int,
    *,
    purge: int,
    min_train_size: int = 50,
    min_test_size: int = 20,
    detail: str = "",
) -> tuple[np.ndarray, np.ndarray]:
    """Train `[0, first_test_row - purge)`, test `[first_test_row, n_samples)`.

    The last `purge` training rows are dropped because their labels look ahead into the test
    period; set `purge` to the label horizon (plus any embargo). The boundary is a row, found
    from a date (the first bar of the selection segment or the holdout), so trials with
    different warm-ups still score on the same days. The minimum sizes refuse splits too small
    to fit a model on or to score it with any confidence.
    """
    if purge < 0:
        raise ConfigError(f"purge={purge} must be >= 0.")
    cut = min(max(first_test_row, 0), n_samples)
    train_end = max(cut - purge, 0)
    n_test = n_samples - cut
    if train_end < min_train_size or n_test < min_test_size:
        raise InsufficientDataError(
            f"Chronological split of n_samples={n_samples}{detail} and purge={purge} gives "
            f"{train_end} train rows and {n_test} test rows; need at least "
            f"min_train_size={min_train_size} and min_test_size={min_test_size}. "
            "Use more history or a different train_ratio."
        )
    return np.arange(train_end), np.arange(cut, n_samples)


class WalkForwardSplit(BaseCrossValidator):
    """Expanding-window walk-forward cross-validator with a purge and an embargo.

    Like scikit-learn's `TimeSeriesSplit`, the test blocks are the last `n_splits` blocks of
    `test_size` rows and each fold trains on everything before its test block. Unlike it, the
    gap before each test block has two named parts, because they leak in different ways:

    - `purge` rows: training labels look ahead by the label horizon, so the last `horizon`
      training rows are labelled with prices inside the test block. Set it to the horizon.
    - `embargo` rows on top: rolling features (momentum, volatility) computed just before the
      boundary are serially correlated with those just after it.

    Fold k trains on `[0, test_start_k - purge - embargo)` and tests on
    `[test_start_k, test_start_k + test_size)`.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds (test blocks).
    purge : int, default=1
        Training rows dropped before each test block because their labels overlap it.
    embargo : int, default=0
        Extra training rows dropped after the purge.
    test_size : int, default=None
        Rows per test block; defaults to `n_samples // (n_splits + 1)`.
    min_train_size : int, default=50
        Fewest training rows any fold may have; the first fold is the smallest.
    """

    def __init__(
        self,
        *,
        n_splits: int = 5,
        purge: int = 1,
        embargo: int = 0,
        test_size: int | None = None,
        min_train_size: int = 50,
    ) -> None:
        self.n_splits = n_splits
        self.purge = purge
        self.embargo = embargo
        self.test_size = test_size
        self.min_train_size = min_train_size

    def get_n_splits(self, X: object = None, y: object = None, groups: object = None) -> int:
        """Return the number of folds; the arguments exist for scikit-learn compatibility."""
        return self.n_splits

    def split(
        self, X: Sized, y: object = None, groups: object = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield `(train_idx, test_idx)` for each fold, oldest test block first.

        `X` only supplies the number of rows; `y` and `groups` are ignored and exist for
        scikit-learn compatibility. Raises `ValueError` before yielding anything when any fold
        would be too small, so a caller never trains on part of the folds.
        """
        n_samples = len(X)
        self._check_params()
        test_size = (
            self.test_size if self.test_size is not None else n_samples // (self.n_splits + 1)
        )
        first_test_start = n_samples - self.n_splits * test_size
        first_train_size = first_test_start - self.purge - self.embargo
        if test_size < 1 or first_train_size < self.min_train_size:
            raise InsufficientDataError(
                f"Walk-forward split of n_samples={n_samples} into n_splits={self.n_splits} "
                f"with purge={self.purge}, embargo={self.embargo} and test_size={test_size} "
                f"leaves {max(first_train_size, 0)} train rows in the first fold; need at "
                f"least min_train_size={self.min_train_size} and test_size >= 1. "
                "Use more history, fewer folds or a smaller gap."
            )
        return self._folds(first_test_start, test_size)

    def _folds(
        self, first_test_start: int, test_size: int
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        gap = self.purge + self.embargo
        for fold in range(self.n_splits):
            test_start = first_test_start + fold * test_size
            yield np.arange(test_start - gap), np.arange(test_start, test_start + test_size)

    def _check_params(self) -> None:
        if self.n_splits < 1:
            raise ConfigError(f"n_splits={self.n_splits} must be >= 1.")
        if self.purge < 0 or self.embargo < 0:
            raise ConfigError(f"purge={self.purge} and embargo={self.embargo} must be >= 0.")
        if self.test_size is not None and self.test_size < 1:
            raise ConfigError(f"test_size={self.test_size} must be >= 1 or None.")
        if self.min_train_size < 1:
            raise ConfigError(f"min_train_size={self.min_train_size} must be >= 1.")
