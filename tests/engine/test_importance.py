"""Permutation importance on the selection segment: the saved model, the rows rebuilt from the
data and config (refused unless they are exactly what the trial saw), and the same numbers as
scikit-learn's definition."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from sklearn.inspection import permutation_importance as sklearn_importance

from mltrainer.engine.errors import ConfigError
from mltrainer.engine.importance import permutation_importance, selection_rows
from mltrainer.engine.persistence import UntrustedModelError, load_model
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import load_settings
from mltrainer.engine.trial import TrialConfig

FOREST = {
    "symbol": "SPX",
    "model": "random_forest",
    "days": 1500,
    "params": {"n_estimators": 30, "max_depth": 4},
}


@pytest.fixture
def service() -> ResearchService:
    return ResearchService(load_settings(), session="importance-test")


def test_importances_cover_every_feature_of_the_trial(service: ResearchService):
    trained = service.train(TrialConfig.model_validate(FOREST))
    trial = trained.result.trial
    assert trial is not None

    importance = permutation_importance(service.ledger, service.settings, trial, repeats=3)

    assert importance.features == trained.result.features
    assert len(importance.mean_drop) == len(importance.features)
    assert importance.accuracy == pytest.approx(trained.result.selection_accuracy)
    assert importance.rows == trained.result.selection.n
    assert all(s >= 0 for s in importance.std_drop)


def test_agrees_with_scikit_learn_on_a_tabular_model(service: ResearchService):
    trained = service.train(TrialConfig.model_validate(FOREST))
    result = service.ledger.result(1)
    predictions = service.ledger.predictions(1)
    assert result is not None and predictions is not None and trained.result.model_path
    design, rows, _, window = selection_rows(service.settings, result, predictions.dates, None)
    X, y = design.X[rows], design.y[rows]
    assert trained.result.model_sha256 is not None
    model = load_model(Path(trained.result.model_path), sha256=trained.result.model_sha256)

    ours = permutation_importance(service.ledger, service.settings, 1, repeats=40, seed=1)
    theirs = sklearn_importance(model, X, y, scoring="accuracy", n_repeats=40, random_state=2)

    assert window == 1
    np.testing.assert_allclose(ours.mean_drop, theirs.importances_mean, atol=0.012)


def test_a_trial_without_a_saved_model_is_refused(service: ResearchService):
    service.train(TrialConfig.model_validate({**FOREST, "save_model": False}))

    with pytest.raises(ConfigError, match="save_model=false: there is no model file"):
        permutation_importance(service.ledger, service.settings, 1)


def test_a_model_file_that_changed_since_it_was_saved_is_refused(service: ResearchService):
    trained = service.train(TrialConfig.model_validate(FOREST))
    assert trained.result.model_path is not None
    with open(trained.result.model_path, "ab") as handle:
        handle.write(b"\0")

    with pytest.raises(UntrustedModelError, match="is not the model file that was saved"):
        permutation_importance(service.ledger, service.settings, 1)


def test_rows_of_other_bars_than_the_trials_are_refused(service: ResearchService):
    service.train(TrialConfig.model_validate(FOREST))
    result = service.ledger.result(1)
    predictions = service.ledger.predictions(1)
    assert result is not None and predictions is not None
    result["dataset"]["used_hash"] = "0" * 16

    with pytest.raises(ConfigError, match="content hash differs"):
        selection_rows(service.settings, result, predictions.dates, None)


@pytest.mark.skipif(
    importlib.util.find_spec("torch") is None,
    reason="the lstm model needs PyTorch (mltrainer[deep])",
)
def test_a_sequence_model_gets_one_importance_per_feature_not_per_window_column(
    service: ResearchService,
):
    config = {
        "symbol": "SPX",
        "model": "lstm",
        "days": 600,
        "lookback": 5,
        "folds": 2,
        "params": {"epochs": 2, "hidden_size": 8},
    }
    trained = service.train(TrialConfig.model_validate(config))
    result = service.ledger.result(1)
    predictions = service.ledger.predictions(1)
    assert result is not None and predictions is not None

    design, _, features, window = selection_rows(service.settings, result, predictions.dates, None)
    importance = permutation_importance(service.ledger, service.settings, 1, repeats=2)

    assert window == 5
    assert design.X.shape[1] == 5 * len(features)
    assert importance.features == trained.result.features
    assert len(importance.mean_drop) == len(features)
