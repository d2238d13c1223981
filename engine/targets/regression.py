"""What targets whose model predicts a number share: the regressor's forecast and the
correlations it is scored by."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.stats import rankdata

from mltrainer.engine.targets.base import Forecast

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline


def regressor_forecast(pipeline: Pipeline, X: np.ndarray) -> Forecast:
    """The fitted regressor's number for each row."""
    return Forecast(np.asarray(pipeline.predict(X), dtype=np.float64))


def pearson(first: np.ndarray, second: np.ndarray) -> float | None:
    """Correlation of two series; None when either is constant (no correlation exists)."""
    a = np.asarray(first, dtype=float) - np.mean(first)
    b = np.asarray(second, dtype=float) - np.mean(second)
    spread = float(np.sqrt((a @ a) * (b @ b)))
    return float(a @ b) / spread if spread > 0 else None


def spearman(first: np.ndarray, second: np.ndarray) -> float | None:
    """Correlation of the two series' ranks (ties share their average rank)."""
    return pearson(rankdata(first), rankdata(second))
