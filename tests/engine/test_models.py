from __future__ import annotations

import sys

import numpy as np
import pytest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import get_tags

from mltrainer.engine.errors import ConfigError, ModelUnavailableError
from mltrainer.engine.models import MODELS, ensure_torch, known_model_names, resolve_model
from mltrainer.engine.runner import fit_for_prediction

REGISTERED = [
    "random_forest",
    "extra_trees",
    "decision_tree",
    "gradient_boosting",
    "lightgbm",
    "logistic_regression",
    "ridge",
    "svm",
    "knn",
    "naive_bayes",
    "mlp",
    "lstm",
]
NON_TORCH = [
    name
    for name in REGISTERED
    if not MODELS[name].needs_torch and "classifier" in MODELS[name].kinds
]
REGRESSORS = [
    name
    for name in REGISTERED
    if not MODELS[name].needs_torch and "regressor" in MODELS[name].kinds
]
# Enough to learn a one-feature rule, few enough to keep every fit well under a second.
SMALL_PARAMS: dict[str, dict[str, object]] = {
    "random_forest": {"n_estimators": 20},
    "extra_trees": {"n_estimators": 20},
    "gradient_boosting": {"n_estimators": 30},
    "lightgbm": {"n_estimators": 30, "min_child_samples": 10},
    "knn": {"n_neighbors": 15},
    "mlp": {"epochs": 300},
    "svm": {"kernel": "linear"},
}


def planted_problem(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """400 rows of 4 features; the label is the sign of feature 0 plus a little noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(400, 4))
    y = (X[:, 0] + 0.3 * rng.normal(size=400) > 0).astype(int)
    return X, y


# --- names -------------------------------------------------------------------------------------


def test_registry_holds_every_model_from_the_design() -> None:
    assert list(MODELS) == REGISTERED


@pytest.mark.parametrize("name", ["xgboost", "XGB", "XGBClassifier"])
def test_a_model_that_is_not_installed_is_refused_by_name(name: str) -> None:
    with pytest.raises(ConfigError, match="xgboost is not installed; ask for lightgbm"):
        resolve_model(name)


@pytest.mark.parametrize(
    ("alias", "name"),
    [
        ("rf", "random_forest"),
        ("Random Forest", "random_forest"),
        ("RANDOM-FOREST", "random_forest"),
        ("logit", "logistic_regression"),
        ("Logistic Regression", "logistic_regression"),
        ("lgbm", "lightgbm"),
        ("LSTM", "lstm"),
        ("k-NN", "knn"),
        ("naive bayes", "naive_bayes"),
        ("extra_trees", "extra_trees"),
    ],
)
def test_aliases_resolve_to_canonical_names(alias: str, name: str) -> None:
    assert resolve_model(alias).name == name


def test_every_known_name_resolves() -> None:
    for phrase in known_model_names():
        assert resolve_model(phrase).name in MODELS


def test_unknown_model_lists_valid_names() -> None:
    with pytest.raises(
        ConfigError,
        match=(
            "unknown model 'deep forest'; available models are random_forest, extra_trees, "
            "decision_tree, gradient_boosting, lightgbm, logistic_regression, ridge, svm, knn, "
            "naive_bayes, mlp, lstm"
        ),
    ):
        resolve_model("deep forest")


# --- parameters --------------------------------------------------------------------------------


def test_defaults_fill_missing_params() -> None:
    assert MODELS["random_forest"].validate_params({"n_estimators": 50}) == {
        "n_estimators": 50,
        "max_depth": 6,
        "min_samples_leaf": 20,
        "max_features": 0.5,
    }


@pytest.mark.parametrize(
    ("model", "params", "message"),
    [
        (
            "random_forest",
            {"n_estimators": 2001},
            r"random_forest.n_estimators=2001 is out of bounds; allowed 1 to 2000",
        ),
        ("lightgbm", {"n_estimators": 0}, r"lightgbm.n_estimators=0 is out of bounds"),
        ("lstm", {"epochs": 1001}, r"lstm.epochs=1001 is out of bounds; allowed 1 to 1000"),
        ("lightgbm", {"learning_rate": 1.5}, r"lightgbm.learning_rate=1.5 is out of bounds"),
    ],
)
def test_out_of_bounds_params_are_refused(
    model: str, params: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        MODELS[model].validate_params(params)


@pytest.mark.parametrize(
    ("model", "params", "message"),
    [
        ("random_forest", {"n_estimators": "ten"}, r"n_estimators must be an integer, got 'ten'"),
        ("random_forest", {"n_estimators": 10.5}, r"n_estimators must be an integer, got 10.5"),
        ("random_forest", {"n_estimators": True}, r"n_estimators must be an integer, got True"),
        ("lightgbm", {"learning_rate": "fast"}, r"learning_rate must be a number, got 'fast'"),
        (
            "svm",
            {"kernel": "cubic"},
            r"svm.kernel='cubic' is not allowed; "
            r"choose one of \['rbf', 'linear', 'poly', 'sigmoid'\]",
        ),
    ],
)
def test_wrong_types_are_refused(model: str, params: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        MODELS[model].validate_params(params)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("n_estimators", float("nan")),
        ("n_estimators", float("inf")),
        ("learning_rate", float("nan")),
    ],
)
def test_non_finite_params_are_refused(name: str, value: float) -> None:
    with pytest.raises(ConfigError, match=rf"lightgbm\.{name}"):
        MODELS["lightgbm"].validate_params({name: value})


def test_integral_float_is_accepted_as_int() -> None:
    checked = MODELS["random_forest"].validate_params({"n_estimators": 50.0})

    assert checked["n_estimators"] == 50
    assert type(checked["n_estimators"]) is int


def test_unknown_param_lists_the_model_params() -> None:
    with pytest.raises(
        ConfigError,
        match=(
            "random_forest has no parameter 'learning_rate'; its parameters are max_depth, "
            "max_features, min_samples_leaf, n_estimators"
        ),
    ):
        MODELS["random_forest"].validate_params({"learning_rate": 0.1})


@pytest.mark.parametrize(
    ("model", "given", "expected"),
    [
        ("lightgbm", {"lr": 0.1}, {"learning_rate": 0.1}),
        ("lightgbm", {"trees": 50, "LEAVES": 7}, {"n_estimators": 50, "num_leaves": 7}),
        ("knn", {"k": 5}, {"n_neighbors": 5}),
        ("logistic_regression", {"c": 2, "max_iter": 50}, {"C": 2.0, "epochs": 50}),
        ("mlp", {"hidden": 8}, {"hidden_size": 8}),
    ],
)
def test_param_name_aliases(
    model: str, given: dict[str, object], expected: dict[str, object]
) -> None:
    checked = MODELS[model].validate_params(given)

    assert {name: checked[name] for name in expected} == expected


# --- estimators --------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", NON_TORCH)
def test_every_model_learns_a_planted_rule(name: str) -> None:
    X, y = planted_problem()
    pipeline = MODELS[name].make_estimator(SMALL_PARAMS.get(name, {}), seed=0)

    pipeline.fit(X[:300], y[:300])
    predictions = pipeline.predict(X[300:])

    assert isinstance(pipeline, Pipeline)
    assert set(np.unique(predictions)) <= {0, 1}
    assert np.mean(predictions == y[300:]) > 0.75


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", NON_TORCH)
def test_same_seed_gives_same_predictions(name: str) -> None:
    X, y = planted_problem(seed=1)
    params = SMALL_PARAMS.get(name, {})

    first = MODELS[name].make_estimator(params, seed=5).fit(X[:300], y[:300])
    second = MODELS[name].make_estimator(params, seed=5).fit(X[:300], y[:300])

    np.testing.assert_array_equal(first.predict(X[300:]), second.predict(X[300:]))


def planted_numbers(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """400 rows of 4 features; the label is feature 0 plus a little noise."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(400, 4))
    return X, X[:, 0] + 0.3 * rng.normal(size=400)


def test_which_models_are_classifiers_and_which_regressors() -> None:
    kinds = {name: MODELS[name].kinds for name in REGISTERED}

    assert [name for name, k in kinds.items() if k == ("classifier",)] == [
        "logistic_regression",
        "naive_bayes",
    ]
    assert [name for name, k in kinds.items() if k == ("regressor",)] == ["ridge"]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", REGRESSORS)
def test_every_regressor_learns_a_planted_number(name: str) -> None:
    X, y = planted_numbers()
    pipeline = MODELS[name].make_estimator(SMALL_PARAMS.get(name, {}), seed=0, kind="regressor")

    pipeline.fit(X[:300], y[:300])
    predictions = pipeline.predict(X[300:])

    assert get_tags(pipeline).estimator_type == "regressor"
    assert np.corrcoef(predictions, y[300:])[0, 1] > 0.8


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", REGRESSORS)
def test_a_regressors_seed_gives_the_same_predictions(name: str) -> None:
    X, y = planted_numbers(seed=1)
    params = SMALL_PARAMS.get(name, {})

    first, second = (
        fit_for_prediction(
            MODELS[name].make_estimator(params, seed=5, kind="regressor"), X[:300], y[:300]
        )
        for _ in range(2)
    )

    np.testing.assert_array_equal(first.predict(X[300:]), second.predict(X[300:]))


def test_a_model_without_the_kind_a_target_needs_is_refused_naming_those_with_it() -> None:
    with pytest.raises(
        ConfigError,
        match="naive_bayes has no regressor, and this target needs one; models with a "
        "regressor: random_forest, extra_trees, decision_tree, gradient_boosting, lightgbm, "
        "ridge, svm, knn, mlp, lstm",
    ):
        MODELS["naive_bayes"].make_estimator({}, seed=0, kind="regressor")
    with pytest.raises(ConfigError, match="ridge has no classifier"):
        MODELS["ridge"].make_estimator({}, seed=0)


@pytest.mark.parametrize("name", NON_TORCH)
def test_scale_sensitive_models_scale_inside_the_pipeline(name: str) -> None:
    pipeline = MODELS[name].make_estimator({}, seed=0)

    scaled = isinstance(pipeline.steps[0][1], StandardScaler)
    assert scaled == (name in {"logistic_regression", "svm", "knn", "naive_bayes", "mlp"})
    assert pipeline.steps[-1][0] == "model"


def test_lstm_without_torch_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry makes `import torch` raise ImportError, as on a machine without the extra.
    monkeypatch.setitem(sys.modules, "torch", None)

    with pytest.raises(ModelUnavailableError, match=r"pip install 'mltrainer\[deep\]'"):
        ensure_torch("lstm")


def test_lstm_estimator_without_torch_is_refused_not_substituted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)

    with pytest.raises(ModelUnavailableError, match="model 'lstm' needs PyTorch"):
        MODELS["lstm"].make_estimator({}, seed=0)
