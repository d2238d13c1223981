"""Permutation importance of a recorded trial's features on its selection segment: how much
the saved model's accuracy drops when one feature's values are shuffled across the selection
days. It asks every model the same question, so it means the same for a forest, a logistic
regression or an LSTM (impurity importances and coefficients do not).

The selection rows are rebuilt from the data and the trial's configuration, and refused
unless they are exactly what the trial saw: the bars' content hash must match the ledger's and
the loaded model must repeat the recorded calls.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from mltrainer.engine.data.base import content_hash
from mltrainer.engine.data.registry import resolve_bars, resolve_series
from mltrainer.engine.design import build_design
from mltrainer.engine.errors import ConfigError
from mltrainer.engine.ledger import Ledger
from mltrainer.engine.models import resolve_model
from mltrainer.engine.persistence import load_trial_model
from mltrainer.engine.settings import Settings
from mltrainer.engine.trial import TrialConfig


class FeatureImportance(BaseModel):
    trial: int
    model: str
    features: list[str]
    mean_drop: list[float] = Field(description="mean accuracy lost when the feature is shuffled")
    std_drop: list[float]
    accuracy: float = Field(description="the model's selection accuracy, unshuffled")
    repeats: int
    rows: int


def selection_rows(
    settings: Settings, result: dict[str, Any], dates: list[str]
) -> tuple[np.ndarray, np.ndarray, list[str], int]:
    """The selection rows the trial's model saw (inputs, labels), its feature names and the
    number of values per feature in a row (the window length for sequence models, else 1)."""
    config = TrialConfig.model_validate(result["config"])
    used = result["dataset"]["used"]
    source = result["provenance"]["source"]
    if source == "caller":
        raise ConfigError(
            f"trial {result['trial']} ran on bars passed in by a caller; they are not stored, "
            "so its selection rows cannot be rebuilt"
        )
    bars = resolve_bars(config.symbol, source, settings, start=pd.Timestamp(used["start"]).date())
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
    wanted = pd.DatetimeIndex(pd.to_datetime(dates))
    positions = design.dates.get_indexer(wanted)
    if (positions < 0).any():
        raise ConfigError(f"trial {result['trial']}'s selection days could not all be rebuilt")
    window = config.lookback if spec.sequence else 1
    return design.X[positions], design.y[positions], columns, window


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
    X, y, features, window = selection_rows(settings, result, predictions.dates)
    calls = np.asarray(model.predict(X))
    if calls.tolist() != predictions.y_pred:
        raise ConfigError(
            f"trial {trial}'s saved model does not repeat its recorded calls on the rebuilt "
            "selection rows; its importances would describe something else"
        )
    accuracy = float(np.mean(calls == y))
    n_features = len(features)
    rng = np.random.default_rng(seed)
    drops = np.zeros((n_features, repeats))
    for feature in range(n_features):
        # Row-major windows: a feature's values sit every n_features columns.
        columns = feature + n_features * np.arange(window)
        for repeat in range(repeats):
            shuffled = X.copy()
            shuffled[:, columns] = X[rng.permutation(len(X))][:, columns]
            drops[feature, repeat] = accuracy - float(np.mean(model.predict(shuffled) == y))
    return FeatureImportance(
        trial=trial,
        model=result["model"],
        features=features,
        mean_drop=drops.mean(axis=1).tolist(),
        std_drop=drops.std(axis=1).tolist(),
        accuracy=accuracy,
        repeats=repeats,
        rows=len(X),
    )
