"""The rows a pooled model sees for a universe: one per stock and date, in date order, with the
universe's features normalised across each date's stocks and the target's labels; dates
where a feature or a label is not known yet (warm-up, the last `horizon` bars) are left out."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mltrainer.engine.errors import ConfigError, InsufficientDataError
from mltrainer.engine.models import ModelSpec
from mltrainer.engine.panel.features import panel_features, select_panel_features
from mltrainer.engine.targets import LABEL, get_target
from mltrainer.engine.trial import TrialConfig


@dataclass(frozen=True)
class PanelRows:
    """What `engine.design.Design` holds for a universe: a row per stock and date."""

    X: np.ndarray
    y: np.ndarray
    labels: dict[str, np.ndarray]
    dates: pd.DatetimeIndex
    symbols: np.ndarray


def panel_design(
    config: TrialConfig, closes: pd.DataFrame, spec: ModelSpec, min_dates: int
) -> tuple[PanelRows, list[str]]:
    """Features and labels of the universe's `closes` (dates x stocks) as rows; refuses a
    sequence model (it reads one symbol's bars in order, and these rows pool stocks) and too
    few dates."""
    if spec.sequence:
        raise ConfigError(
            f"{spec.name} reads one symbol's bars in sequence; target '{config.target}' pools "
            "every stock of a date into one model: choose a model that is not a sequence model"
        )
    names = select_panel_features(config.features)
    values = panel_features(closes.to_numpy(dtype=float), names)
    dates, stocks = closes.shape
    labels = get_target(config.target).labels(closes, config)
    expected = pd.MultiIndex.from_product([closes.index, closes.columns])
    if not labels.index.equals(expected):
        raise ValueError("a cross-sectional target's labels must be one row per date and stock")
    X = values.reshape(dates * stocks, len(names))
    columns = {name: labels[name].to_numpy(dtype=np.float64) for name in labels.columns}
    keep = np.isfinite(X).all(axis=1)
    for column in columns.values():
        keep &= np.isfinite(column)
    row_dates = pd.DatetimeIndex(np.repeat(closes.index.to_numpy(), stocks)[keep])
    usable = row_dates.nunique()
    if usable < min_dates:
        raise InsufficientDataError(
            f"{usable} usable dates for {config.symbol} after warm-up (features look back up "
            f"to 60 bars, the momentum baseline 252; horizon={config.horizon}); ranking needs "
            f"at least {min_dates}. Use more history (days, start/end)"
        )
    return (
        PanelRows(
            X=np.ascontiguousarray(X[keep]),
            y=columns[LABEL][keep],
            labels={name: column[keep] for name, column in columns.items() if name != LABEL},
            dates=row_dates,
            symbols=np.tile(closes.columns.to_numpy(dtype=str), dates)[keep],
        ),
        names,
    )
