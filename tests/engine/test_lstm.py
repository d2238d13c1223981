from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip(
    "torch", reason="LSTM needs the 'deep' extra (pip install torch==2.13.0)"
)

from sklearn.base import clone  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from mltrainer.engine.lstm import LSTMClassifier, LSTMRegressor, load_lstm  # noqa: E402

WINDOW = 5
N_FEATURES = 2


def planted_windows(n_rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Sliding windows over random bars; up when feature 0 sums above zero over the window."""
    bars = np.random.default_rng(seed).normal(size=(n_rows + WINDOW - 1, N_FEATURES))
    windows = np.stack([bars[i : i + WINDOW] for i in range(n_rows)])
    labels = (windows[:, :, 0].sum(axis=1) > 0).astype(int)
    return windows.reshape(n_rows, WINDOW * N_FEATURES), labels


def small_model(**params: object) -> LSTMClassifier:
    settings: dict[str, object] = {
        "hidden_size": 8,
        "epochs": 3,
        "batch_size": 32,
        "learning_rate": 1e-2,
        "window": WINDOW,
    }
    settings.update(params)
    return LSTMClassifier(**settings)  # type: ignore[arg-type]


def test_learns_planted_pattern_on_later_rows() -> None:
    X, y = planted_windows(600)
    model = small_model(hidden_size=16, epochs=8, batch_size=64, learning_rate=2e-2).fit(
        X[:400], y[:400]
    )
    assert (model.predict(X[400:]) == y[400:]).mean() > 0.8


def test_predict_proba_shape_and_rows_sum_to_one() -> None:
    X, y = planted_windows(100)
    proba = small_model().fit(X, y).predict_proba(X)
    assert proba.shape == (100, 2)
    np.testing.assert_allclose(proba.sum(axis=1), np.ones(100))


def test_same_seed_gives_identical_probabilities() -> None:
    X, y = planted_windows(200)
    first = small_model(random_state=7).fit(X, y).predict_proba(X)
    second = small_model(random_state=7).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)


def test_different_seed_gives_different_probabilities() -> None:
    X, y = planted_windows(200)
    first = small_model(random_state=1).fit(X, y).predict_proba(X)
    second = small_model(random_state=2).fit(X, y).predict_proba(X)
    assert not np.array_equal(first, second)


def test_fit_leaves_global_torch_rng_untouched() -> None:
    X, y = planted_windows(50)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    small_model().fit(X, y)
    np.testing.assert_array_equal(torch.rand(3).numpy(), expected.numpy())


def test_window_that_does_not_divide_columns_raises() -> None:
    X, y = planted_windows(50)
    with pytest.raises(ValueError, match=r"X.shape\[1\]=10 .* window=3"):
        small_model(window=3).fit(X, y)


def test_missing_window_raises() -> None:
    X, y = planted_windows(50)
    with pytest.raises(ValueError, match=r"X.shape\[1\]=10 .* window=None"):
        small_model(window=None).fit(X, y)


def test_single_class_raises() -> None:
    X, _ = planted_windows(50)
    with pytest.raises(ValueError, match="exactly two classes"):
        small_model().fit(X, np.ones(50, dtype=int))


def test_save_load_round_trip_gives_identical_probabilities(tmp_path: Path) -> None:
    X, y = planted_windows(200)
    model = small_model(dropout=0.2, num_layers=2).fit(X, y)
    model.save(tmp_path / "lstm")
    loaded = LSTMClassifier.load(tmp_path / "lstm")
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.classes_, np.array([0, 1]))
    assert loaded.n_features_in_ == WINDOW * N_FEATURES
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_runs_inside_scaled_pipeline_with_window_set_by_engine() -> None:
    X, y = planted_windows(200)
    pipeline = Pipeline([("scale", StandardScaler()), ("model", small_model(window=None))])
    pipeline.set_params(model__window=WINDOW)
    pipeline.fit(X[:150], y[:150])
    assert pipeline.predict_proba(X[150:]).shape == (50, 2)
    assert set(pipeline.predict(X[150:])) <= {0, 1}


def test_clone_copies_parameters_not_fitted_state() -> None:
    X, y = planted_windows(50)
    model = small_model(hidden_size=4, random_state=3).fit(X, y)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "module_")


def test_the_regressor_learns_a_planted_number_and_saves_as_itself(tmp_path: Path) -> None:
    X, _ = planted_windows(400)
    y = X[:, ::N_FEATURES].sum(axis=1)
    settings = {"hidden_size": 8, "epochs": 20, "batch_size": 32, "learning_rate": 1e-2}
    model = LSTMRegressor(**settings, window=WINDOW).fit(X[:300], y[:300])  # type: ignore[arg-type]

    predictions = model.predict(X[300:])
    model.save(tmp_path / "lstm")
    loaded = load_lstm(tmp_path / "lstm")

    assert np.corrcoef(predictions, y[300:])[0, 1] > 0.8
    assert isinstance(loaded, LSTMRegressor)
    np.testing.assert_array_equal(loaded.predict(X[300:]), predictions)


def test_a_classifier_saved_before_there_were_two_loads_as_a_classifier(tmp_path: Path) -> None:
    X, y = planted_windows(100)
    small_model().fit(X, y).save(tmp_path / "lstm")
    settings = json.loads((tmp_path / "lstm" / "config.json").read_text())
    del settings["estimator"]
    (tmp_path / "lstm" / "config.json").write_text(json.dumps(settings))

    assert isinstance(load_lstm(tmp_path / "lstm"), LSTMClassifier)
