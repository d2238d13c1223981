"""Permutation importance of a recorded trial's features on its selection segment: how much
the saved model's headline score (accuracy, IC, Rank IC: its target's) drops when one feature's
values are shuffled across the selection rows. It asks every model the same question, so it
means the same for a forest, a logistic regression or an LSTM (impurity importances and
coefficients do not).

The selection rows are rebuilt from the data and the trial's configuration, and refused
unless they are exactly what the trial saw: the bars' content hash must match the ledger's and
the loaded model must repeat the recorded forecasts.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from mltrainer.engine.data.base import BarSet, content_hash
from mltrainer.engine.data.panel import PanelSet, resolve_panel
from mltrainer.engine.data.registry import resolve_bars, resolve_series
from mltrainer.engine.design import Design, build_design
from mltrainer.engine.errors import ConfigError
from mltrainer.engine.ledger import Ledger
from mltrainer.engine.models import resolve_model
from mltrainer.engine.persistence import load_trial_model
from mltrainer.engine.settings import Settings
from mltrainer.engine.targets import get_target
from mltrainer.engine.trial import TrialConfig


class FeatureImportance(BaseModel):
    trial: int
    model: str
    features: list[str]
    metric: str = Field(default="accuracy", description="the score shuffling lowers")
    mean_drop: list[float] = Field(description="mean score lost when the feature is shuffled")
    std_drop: list[float]
    accuracy: float = Field(description="the model's selection score, unshuffled")
    repeats: int
    rows: int


def selection_rows(
    settings: Settings, result: dict[str, Any], dates: list[str], symbols: list[str] | None
) -> tuple[Design, np.ndarray, list[str], int]:
    """The design the trial's data makes, the positions of its selection rows in it (by date,
    and by stock for a universe), its feature names and the number of values per feature in a
    row (the window length for sequence models, else 1)."""
    config = TrialConfig.model_validate(result["config"])
    used = result["dataset"]["used"]
    source = result["provenance"]["source"]
    if source == "caller":
        raise ConfigError(
            f"trial {result['trial']} ran on bars passed in by a caller; they are not stored, "
            "so its selection rows cannot be rebuilt"
        )
    start = pd.Timestamp(used["start"]).date()
    bars: BarSet | PanelSet
    if config.universe is not None:
        bars = resolve_panel(config.universe, source, settings, start=start)
    else:
        bars = resolve_bars(config.symbol, source, settings, start=start)
    frame = bars.frame.loc[used["start"] : used["end"]]
    if content_hash(frame) != result["dataset"]["used_hash"]:
        raise ConfigError(
            f"the {source} bars of {config.symbol} from {used['start']} to {used['end']} are "
            f"not the ones trial {result['trial']} used (content hash differs); its selection "
            "rows cannot be rebuilt"
        )
    macro = {
        series_id: resolve_series(series_id, settings, start=None, end=frame.index[-1].date())
        for series_id in config.macro
    }
    spec = resolve_model(config.model)
    design, columns = build_design(config, frame, macro, spec)
    if design.symbols is None:
        positions = design.dates.get_indexer(pd.DatetimeIndex(pd.to_datetime(dates)))
    else:
        keys = pd.MultiIndex.from_arrays([design.dates, design.symbols])
        positions = keys.get_indexer(pd.MultiIndex.from_arrays([pd.to_datetime(dates), symbols]))
    if (positions < 0).any():
        raise ConfigError(f"trial {result['trial']}'s selection rows could not all be rebuilt")
    window = config.lookback if spec.sequence else 1
    return design, positions, columns, window


def permutation_importance(
    ledger: Ledger, settings: Settings, trial: int, *, repeats: int = 10, seed: int = 0
) -> FeatureImportance:
    """Mean and spread of the accuracy drop over `repeats` shuffles of each feature.

    For tabular models this is the definition of scikit-learn's `permutation_importance` with
    accuracy as the score (the tests check the two agree). Sequence models see a window of each
    feature per row; there the whole window of one feature is shuffled across rows, which
    scikit-learn's column-by-column version cannot do, hence this loop.
    """
    result = ledger.result(trial)
    predictions = ledger.predictions(trial)
    if result is None or predictions is None:
        raise ConfigError(f"no recorded trial '{trial}'; list them with `mltrainer trials list`")
    model = load_trial_model(result)
    design, rows, features, window = selection_rows(
        settings, result, predictions.dates, predictions.symbols
    )
    target = get_target(TrialConfig.model_validate(result["config"]).target)
    X = design.X[rows]
    forecasts = np.asarray(model.predict(X))
    if forecasts.tolist() != predictions.y_pred:
        raise ConfigError(
            f"trial {trial}'s saved model does not repeat its recorded forecasts on the rebuilt "
            "selection rows; its importances would describe something else"
        )
    score = target.fit_score(model, design, rows)
    n_features = len(features)
    rng = np.random.default_rng(seed)
    drops = np.zeros((n_features, repeats))
    for feature in range(n_features):
        # Row-major windows: a feature's values sit every n_features columns.
        columns = feature + n_features * np.arange(window)
        for repeat in range(repeats):
            shuffled = design.X.copy()
            shuffled[np.ix_(rows, columns)] = X[rng.permutation(len(X))][:, columns]
            drops[feature, repeat] = score - target.fit_score(
                model, replace(design, X=shuffled), rows
            )
    return FeatureImportance(
        trial=trial,
        model=result["model"],
        features=features,
        metric=target.headline.metric,
        mean_drop=drops.mean(axis=1).tolist(),
        std_drop=drops.std(axis=1).tolist(),
        accuracy=score,
        repeats=repeats,
        rows=len(X),
    )
