"""The rows a model sees: features computed from the past and the research target's labels,
aligned by date, as windows of rows for sequence models; and the check that the model is the
kind of estimator the target's labels need.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.pipeline import Pipeline
from sklearn.utils import get_tags

from mltrainer.engine.data.base import SeriesSet
from mltrainer.engine.errors import ConfigError, InsufficientDataError
from mltrainer.engine.features import (
    DEFAULT_FEATURES,
    build_features,
    select_features,
    unavailable_features,
)
from mltrainer.engine.models import ModelSpec
from mltrainer.engine.panel.design import panel_design
from mltrainer.engine.targets import LABEL, ResearchTarget, get_target
from mltrainer.engine.targets.registry import cross_sectional
from mltrainer.engine.trial import TrialConfig

# Enough for a chronological split with a purge gap and at least two small walk-forward folds.
MIN_ROWS = 120


@dataclass(frozen=True)
class Design:
    """The rows a model sees: inputs, labels, and the target's other label columns (what its
    scoring needs, such as the return a position earns), aligned by date. One row per date,
    or for a universe one per stock and date (`symbols` names each row's stock), sorted by
    date: trials split by date, so a date's stocks are never on both sides of a split."""

    X: np.ndarray
    y: np.ndarray
    labels: Mapping[str, np.ndarray]
    dates: pd.DatetimeIndex
    symbols: np.ndarray | None = None

    @cached_property
    def days(self) -> pd.DatetimeIndex:
        """The distinct dates, oldest first: what splits, folds, purge and embargo count."""
        return self.dates if self.symbols is None else self.dates.unique()

    @cached_property
    def day(self) -> np.ndarray:
        """Each row's position in `days`."""
        if self.symbols is None:
            return np.arange(len(self.dates))
        return np.searchsorted(self.days, self.dates)

    def rows_of(self, days: np.ndarray) -> np.ndarray:
        """The rows of the dates at positions `days` (sorted), in row order."""
        if self.symbols is None:
            return days
        return np.flatnonzero(np.isin(self.day, days))


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
    """Features and labels of `frame` as the model sees them; refuses too little data. For a
    cross-sectional target `frame` holds the universe's closes, a column per stock."""
    if cross_sectional(config.target):
        rows, names = panel_design(config, frame, spec, MIN_ROWS)
        return Design(rows.X, rows.y, rows.labels, rows.dates, rows.symbols), names
    fields = [c for c in frame.columns if c != "date"]
    columns = select_features(config.features, list(macro), fields, symbol=config.symbol)
    features, labels = labelled_frame(frame, config, macro)
    needed = MIN_ROWS + (config.lookback if spec.sequence else 0)
    if len(features) < needed:
        raise InsufficientDataError(
            f"{len(features)} usable rows for {config.symbol} after warm-up (days={config.days}, "
            f"lookback={config.lookback}, horizon={config.horizon}); {spec.name} needs at least "
            f"{needed}. Use more history (days, start/end) or a shorter lookback"
        )
    target = get_target(config.target)
    return design_rows(features[columns], labels, spec, config.lookback, target), columns


def left_out_note(config: TrialConfig, frame: pd.DataFrame) -> str | None:
    """What the default features went without because the bars lack their inputs: said in
    the trial's notes, never silently dropped."""
    if config.features is not None or cross_sectional(config.target):
        return None
    lacking = {
        name: needs
        for name, needs in unavailable_features(list(frame.columns)).items()
        if name in DEFAULT_FEATURES
    }
    if not lacking:
        return None
    needs = ", ".join(f"{name} (needs {' and '.join(cols)})" for name, cols in lacking.items())
    return (
        f"{config.symbol}'s bars have only {', '.join(frame.columns)}: the default features "
        f"go without {needs}"
    )


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
