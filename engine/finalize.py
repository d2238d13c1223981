"""Scoring one trial's configuration on its dataset's locked holdout: refit on everything before
the holdout (the development and selection segments the trial used), then score the holdout the
same way trials score their selection segment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mltrainer.engine.data.base import BarSet, SeriesSet, content_hash
from mltrainer.engine.data.panel import PanelSet
from mltrainer.engine.design import build_design
from mltrainer.engine.errors import InsufficientDataError
from mltrainer.engine.ledger import DatasetRow, TrialPredictions
from mltrainer.engine.models import resolve_model
from mltrainer.engine.runner import (
    check_deadline,
    fit_for_prediction,
    fresh_pipeline,
    one_openmp_thread,
    score_segment,
)
from mltrainer.engine.targets import get_target
from mltrainer.engine.trial import HoldoutScore, Segment, TrialConfig
from mltrainer.engine.validation import split_at

# A holdout shorter than this cannot say much; the holdout itself is at least 250 bars by
# default, so this only bites when a dataset's history shrank.
MIN_HOLDOUT_ROWS = 20


@dataclass(frozen=True)
class HoldoutRun:
    score: HoldoutScore
    predictions: TrialPredictions
    notes: list[str]


def score_holdout(
    config: TrialConfig,
    bars: BarSet | PanelSet,
    macro: Mapping[str, SeriesSet],
    dataset: DatasetRow,
    *,
    used: Segment,
    used_hash: str,
    deadline: float | None = None,
) -> HoldoutRun:
    """Fit `config` on the bars from the start of the trial's data (`used`) up to the holdout,
    then score the holdout.

    Feature rows of the holdout use history from before it (lookback windows look back); the
    training rows whose labels reach into the holdout are purged, as between any two segments.
    """
    spec = resolve_model(config.model)
    params = spec.validate_params(config.params)
    frame = bars.frame[bars.frame.index >= pd.Timestamp(used.start)]
    boundary = pd.Timestamp(dataset.holdout_start)
    notes: list[str] = []
    seen = frame[frame.index <= pd.Timestamp(used.end)]
    if content_hash(seen) != used_hash:
        notes.append(
            "the bars before the holdout changed since the trial ran (a new adjustment or "
            "revision at the source); the holdout numbers are for the current data"
        )
    design, _ = build_design(config, frame, macro, spec)
    first_holdout_row = int(np.searchsorted(design.dates, boundary))
    if len(design.y) - first_holdout_row < MIN_HOLDOUT_ROWS:
        raise InsufficientDataError(
            f"only {len(design.y) - first_holdout_row} scorable holdout rows from "
            f"{dataset.holdout_start}; need {MIN_HOLDOUT_ROWS}"
        )
    target = get_target(config.target)
    train_idx, holdout_idx = split_at(
        len(design.y),
        first_holdout_row,
        purge=target.label_reach(config) + config.embargo,
        min_test_size=MIN_HOLDOUT_ROWS,
    )
    pipeline = fresh_pipeline(spec, params, config)
    check_deadline(deadline, "before the holdout fit")
    with one_openmp_thread():
        fit_for_prediction(pipeline, design.X[train_idx], design.y[train_idx])
        segment = score_segment(target, pipeline, design, train_idx, holdout_idx, config).segment
    train_dates, holdout_dates = design.dates[train_idx], design.dates[holdout_idx]
    score = HoldoutScore(
        accuracy=segment.headline,
        metrics=segment.metrics,
        baselines=segment.baselines,
        backtest=segment.backtest,
        period=(holdout_dates[0].date(), holdout_dates[-1].date()),
        train_period=(train_dates[0].date(), train_dates[-1].date()),
        return_test=segment.verdict.return_test,
        power=segment.verdict.power,
    )
    return HoldoutRun(score, segment.predictions, notes)
