"""The rows a model sees: features computed from the past and the research target's labels,
aligned by date, as windows of rows for sequence models; and the check that the model is the
kind of estimator the target's labels need.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.pipeline import Pipeline
from sklearn.utils import get_tags

from mltrainer.engine.data.base import SeriesSet
from mltrainer.engine.errors import ConfigError, InsufficientDataError
from mltrainer.engine.features import build_features, select_features
from mltrainer.engine.models import ModelSpec
from mltrainer.engine.targets import LABEL, ResearchTarget, get_target
from mltrainer.engine.trial import TrialConfig

# Enough for a chronological split with a purge gap and at least two small walk-forward folds.
MIN_ROWS = 120


@dataclass(frozen=True)
class Design:
    """The rows a model sees: inputs, labels, and the target's other label columns (what its
    scoring needs, such as the return a position earns), aligned by date."""

    X: np.ndarray
    y: np.ndarray
    labels: Mapping[str, np.ndarray]
    dates: pd.DatetimeIndex


def labelled_frame(
    bars: pd.DataFrame, config: TrialConfig, macro: Mapping[str, SeriesSet]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every feature column, and the label columns of the config's target, on the bars where
    all of them are known (warm-up rows and rows whose label lies beyond the data dropped)."""
    features = build_features(bars, lookback=config.lookback, macro=macro)
    labels = get_target(config.target).labels(bars, config)
    rows = features.join(labels, how="inner").dropna(subset=list(labels.columns))
    return rows[features.columns], rows[labels.columns]


def design_rows(
    features: pd.DataFrame,
    labels: pd.DataFrame,
    spec: ModelSpec,
    lookback: int,
    target: ResearchTarget,
) -> Design:
    """`features` (the model's input columns) and `labels` (the target's), row by row; for a
    sequence model each row becomes the last `lookback` rows of features, oldest first, all in
    the past, and the first `lookback - 1` rows, which have no full window, are dropped."""
    values = features.to_numpy(dtype=np.float64)
    offset = 0
    if spec.sequence:
        values = sliding_window_view(values, (lookback, values.shape[1]))[:, 0].reshape(
            -1, lookback * values.shape[1]
        )
        offset = lookback - 1
    label_type = np.int64 if target.estimator_type == "classifier" else np.float64
    return Design(
        X=np.ascontiguousarray(values),
        y=labels[LABEL].to_numpy(dtype=label_type)[offset:],
        labels={
            name: labels[name].to_numpy(dtype=np.float64)[offset:]
            for name in labels.columns
            if name != LABEL
        },
        dates=pd.DatetimeIndex(labels.index[offset:]),
    )


def build_design(
    config: TrialConfig, frame: pd.DataFrame, macro: Mapping[str, SeriesSet], spec: ModelSpec
) -> tuple[Design, list[str]]:
    """Features and labels of `frame` as the model sees them; refuses too little data."""
    features, labels = labelled_frame(frame, config, macro)
    columns = select_features(config.features, list(macro))
    needed = MIN_ROWS + (config.lookback if spec.sequence else 0)
    if len(features) < needed:
        raise InsufficientDataError(
            f"{len(features)} usable rows for {config.symbol} after warm-up (days={config.days}, "
            f"lookback={config.lookback}, horizon={config.horizon}); {spec.name} needs at least "
            f"{needed}. Use more history (days, start/end) or a shorter lookback"
        )
    target = get_target(config.target)
    return design_rows(features[columns], labels, spec, config.lookback, target), columns


def check_estimator(pipeline: Pipeline, spec: ModelSpec, config: TrialConfig) -> None:
    """Refuse a model that is not the kind of estimator the target's labels need (a classifier
    fitted to returns, a regressor to up/down calls) before anything is fitted."""
    needed = get_target(config.target).estimator_type
    kind = get_tags(pipeline).estimator_type
    if kind != needed:
        raise ConfigError(
            f"target '{config.target}' needs a {needed}; model '{spec.name}' is "
            f"{f'a {kind}' if kind else 'neither a classifier nor a regressor'}"
        )
