"""The model registry: every estimator the engine trains, its aliases and its parameter bounds.

Aliases ("RF", "random forest", "logit", "lgbm") resolve here and nowhere else; names of
models the engine does not have ("xgboost") are refused here, never mapped to a neighbour.
Models that are sensitive to feature scale get a `StandardScaler` inside their `Pipeline`, so
the scaler is fitted on each training window only.
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from mltrainer.engine import costs
from mltrainer.engine.costs import TrialCost
from mltrainer.engine.errors import ConfigError, ModelUnavailableError

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline


@dataclass(frozen=True)
class ParamBound:
    """One hyper-parameter: its type, inclusive bounds or allowed choices, and default."""

    kind: type
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()
    description: str = ""

    def check(self, model: str, name: str, value: Any) -> Any:
        if self.choices:
            if value not in self.choices:
                raise ConfigError(
                    f"{model}.{name}={value!r} is not allowed; choose one of {list(self.choices)}"
                )
            return value
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{model}.{name} must be a finite number, got {value!r}")
        if self.kind is int:
            if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
                raise ConfigError(f"{model}.{name} must be an integer, got {value!r}")
            value = int(value)
        elif self.kind is float:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{model}.{name} must be a number, got {value!r}")
            value = float(value)
        if (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        ):
            raise ConfigError(
                f"{model}.{name}={value} is out of bounds; allowed {self.low} to {self.high}"
            )
        return value


EstimatorKind = Literal["classifier", "regressor"]
Builder = Callable[[dict[str, Any], int], Any]


@dataclass(frozen=True)
class ModelSpec:
    """One model: `build(params, seed)` makes its classifier (0/1 targets such as direction)
    and `regressor(params, seed)` its regressor (return, rank), from the same checked
    hyper-parameters; a model with only one of them serves only those targets."""

    name: str
    family: str
    description: str
    build: Builder | None
    params: Mapping[str, ParamBound]
    aliases: tuple[str, ...] = ()
    scaled: bool = False
    needs_torch: bool = False
    sequence: bool = field(default=False)
    cost: TrialCost | None = None
    regressor: Builder | None = None

    @property
    def kinds(self) -> tuple[EstimatorKind, ...]:
        """What this model can be: a classifier, a regressor, or both."""
        kinds: list[EstimatorKind] = []
        if self.build is not None:
            kinds.append("classifier")
        if self.regressor is not None:
            kinds.append("regressor")
        return tuple(kinds)

    def validate_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults filled in, aliases of parameter names applied, every value bounds-checked."""
        checked = {name: bound.default for name, bound in self.params.items()}
        by_lower = {name.lower(): name for name in self.params}
        for raw_name, value in params.items():
            lowered = PARAM_ALIASES.get(raw_name.lower(), raw_name.lower())
            name = by_lower.get(lowered.lower(), lowered)
            if name not in self.params:
                raise ConfigError(
                    f"{self.name} has no parameter '{raw_name}'; its parameters are "
                    f"{', '.join(sorted(self.params)) or 'none'}"
                )
            checked[name] = self.params[name].check(self.name, name, value)
        return checked

    def cost_inputs(self, checked: Mapping[str, Any], lookback: int) -> dict[str, Any]:
        """What the cost formula reads: the checked parameters, and the window for sequences."""
        return {**checked, "lookback": lookback}

    def check_cost(
        self, params: Mapping[str, Any], *, folds: int, rows: int, lookback: int
    ) -> None:
        """Refuse (`ConfigError`) a configuration estimated over the per-trial time limit."""
        if self.cost is not None:
            inputs = self.cost_inputs(self.validate_params(params), lookback)
            self.cost.check(self.name, inputs, folds=folds, rows=rows)

    def make_estimator(
        self, params: Mapping[str, Any], seed: int, *, kind: EstimatorKind = "classifier"
    ) -> Pipeline:
        """The model as a `Pipeline` (a scaler first when it is scale-sensitive), as the
        classifier or the regressor the target needs; refused when it has no such kind."""
        build = self.build if kind == "classifier" else self.regressor
        if build is None:
            serving = [m.name for m in MODELS.values() if kind in m.kinds]
            raise ConfigError(
                f"{self.name} has no {kind}, and this target needs one; models with a "
                f"{kind}: {', '.join(serving)}"
            )
        from sklearn.pipeline import Pipeline
        from sklearn.preprocessing import StandardScaler

        checked = self.validate_params(params)
        if self.needs_torch:
            ensure_torch(self.name)
        estimator = build(checked, seed)
        steps: list[tuple[str, Any]] = []
        if self.scaled:
            steps.append(("scale", StandardScaler()))
        steps.append(("model", estimator))
        return Pipeline(steps)


# About 10 s of libsvm on the largest sample: enough to converge at the default C.
SVM_MAX_ITER = 200_000

PARAM_ALIASES = {
    "lr": "learning_rate",
    "trees": "n_estimators",
    "estimators": "n_estimators",
    "depth": "max_depth",
    "neighbors": "n_neighbors",
    "k": "n_neighbors",
    "leaves": "num_leaves",
    "hidden": "hidden_size",
    "units": "hidden_size",
    "max_iter": "epochs",
}


def ensure_torch(model: str) -> None:
    try:
        import torch  # noqa: F401
    except ImportError as error:
        raise ModelUnavailableError(
            f"model '{model}' needs PyTorch, which is not installed; install it with "
            "pip install 'mltrainer[deep]' (CPU build: pip install torch==2.13.0)"
        ) from error


def _int(default: int, low: int, high: int, description: str = "") -> ParamBound:
    return ParamBound(int, default, low, high, description=description)


def _float(default: float, low: float, high: float, description: str = "") -> ParamBound:
    return ParamBound(float, default, low, high, description=description)


def _choice(default: Any, *choices: Any) -> ParamBound:
    return ParamBound(type(default), default, choices=choices)


_TREE_PARAMS = {
    "n_estimators": _int(100, 1, 2000, "number of trees"),
    "max_depth": _int(6, 1, 64, "maximum tree depth"),
    "min_samples_leaf": _int(20, 1, 5000, "minimum rows in a leaf"),
    "max_features": _float(0.5, 0.05, 1.0, "share of features tried at each split"),
}


def _sklearn(module: str, name: str) -> Any:
    """An estimator class, imported when a trial builds one: reading a model's name or its
    parameter bounds (the bridge, `--help`, an instruction refused) never loads scikit-learn."""
    return getattr(importlib.import_module(f"sklearn.{module}"), name)


def _hist_gradient_boosting(kind: str, params: Mapping[str, Any], seed: int) -> Any:
    """scikit-learn's histogram gradient boosting (`kind` Classifier or Regressor) from the
    model's parameters. early_stopping would hold out a random (shuffled) validation set, so it
    stays off."""
    return _sklearn("ensemble", f"HistGradientBoosting{kind}")(
        max_iter=params["n_estimators"],
        learning_rate=params["learning_rate"],
        max_depth=params["max_depth"],
        min_samples_leaf=params["min_samples_leaf"],
        early_stopping=False,
        random_state=seed,
    )


def _lstm_factory(params: dict[str, Any], seed: int, *, regressor: bool = False) -> Any:
    from mltrainer.engine.lstm import LSTMClassifier, LSTMRegressor

    estimator = LSTMRegressor if regressor else LSTMClassifier
    return estimator(
        hidden_size=params["hidden_size"],
        num_layers=params["num_layers"],
        epochs=params["epochs"],
        learning_rate=params["learning_rate"],
        batch_size=params["batch_size"],
        dropout=params["dropout"],
        random_state=seed,
    )


_SPECS: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="random_forest",
        family="bagged trees",
        description="random forest of decision trees",
        build=lambda p, s: _sklearn("ensemble", "RandomForestClassifier")(
            **p, random_state=s, n_jobs=-1
        ),
        regressor=lambda p, s: _sklearn("ensemble", "RandomForestRegressor")(
            **p, random_state=s, n_jobs=-1
        ),
        params=_TREE_PARAMS,
        aliases=(
            "rf",
            "random forest",
            "randomforest",
            "random_forests",
            "forest",
            "randomforestclassifier",
        ),
        cost=costs.forest(1.7e-3),
    ),
    ModelSpec(
        name="extra_trees",
        family="bagged trees",
        description="extremely randomised trees",
        build=lambda p, s: _sklearn("ensemble", "ExtraTreesClassifier")(
            **p, random_state=s, n_jobs=-1
        ),
        regressor=lambda p, s: _sklearn("ensemble", "ExtraTreesRegressor")(
            **p, random_state=s, n_jobs=-1
        ),
        params=_TREE_PARAMS,
        aliases=(
            "et",
            "extra trees",
            "extratrees",
            "extremely randomized trees",
            "extratreesclassifier",
        ),
        cost=costs.forest(4.5e-4),
    ),
    ModelSpec(
        name="decision_tree",
        family="single tree",
        description="one decision tree",
        build=lambda p, s: _sklearn("tree", "DecisionTreeClassifier")(**p, random_state=s),
        regressor=lambda p, s: _sklearn("tree", "DecisionTreeRegressor")(**p, random_state=s),
        params={
            "max_depth": _int(5, 1, 64, "maximum tree depth"),
            "min_samples_leaf": _int(50, 1, 5000, "minimum rows in a leaf"),
        },
        aliases=("dt", "tree", "decision tree", "cart", "decisiontreeclassifier"),
        cost=costs.single_tree(5e-3),
    ),
    ModelSpec(
        name="gradient_boosting",
        family="boosted trees",
        description=(
            "scikit-learn histogram gradient boosting (xgboost is not installed, and asking for it "
            "is refused rather than mapped here)"
        ),
        build=lambda p, s: _hist_gradient_boosting("Classifier", p, s),
        regressor=lambda p, s: _hist_gradient_boosting("Regressor", p, s),
        params={
            "n_estimators": _int(100, 1, 2000, "boosting rounds"),
            "learning_rate": _float(0.05, 1e-4, 1.0, "shrinkage per round"),
            "max_depth": _int(3, 1, 16, "depth of each tree"),
            "min_samples_leaf": _int(50, 1, 5000, "minimum rows in a leaf"),
        },
        aliases=(
            "gb",
            "gbm",
            "gbdt",
            "gbt",
            "gradient boosting",
            "boosting",
            "gradient boosted trees",
            "gradient boosted",
            "boosted trees",
            "gradientboostingclassifier",
            "histgradientboostingclassifier",
        ),
        cost=costs.histogram_boosting(1.5e-4, leaf_cap=31),
    ),
    ModelSpec(
        name="lightgbm",
        family="boosted trees",
        description="LightGBM gradient boosting",
        build=lambda p, s: _lightgbm(p, s),
        regressor=lambda p, s: _lightgbm(p, s, regressor=True),
        params={
            "n_estimators": _int(200, 1, 2000, "boosting rounds"),
            "learning_rate": _float(0.05, 1e-4, 1.0, "shrinkage per round"),
            "num_leaves": _int(15, 2, 1024, "leaves per tree"),
            "max_depth": _int(-1, -1, 64, "depth limit, -1 for none"),
            "min_child_samples": _int(50, 1, 5000, "minimum rows in a leaf"),
            "subsample": _float(1.0, 0.1, 1.0, "share of rows per round"),
            "colsample_bytree": _float(1.0, 0.1, 1.0, "share of features per tree"),
        },
        aliases=("lgbm", "lgb", "light gbm", "light_gbm", "lgbmclassifier", "lgbmregressor"),
        cost=costs.leaf_boosting(5.5e-5),
    ),
    ModelSpec(
        name="logistic_regression",
        family="linear",
        description="L2-regularised logistic regression",
        build=lambda p, s: _sklearn("linear_model", "LogisticRegression")(
            C=p["C"], max_iter=p["epochs"], random_state=s
        ),
        params={
            "C": _float(1.0, 1e-6, 1e6, "inverse regularisation strength"),
            "epochs": _int(1000, 10, 1000, "maximum solver iterations"),
        },
        aliases=("logit", "logistic", "logistic regression", "logreg"),
        scaled=True,
        cost=costs.iterations(1.3e-4, "epochs"),
    ),
    ModelSpec(
        name="ridge",
        family="linear",
        description="L2-regularised linear regression (a regressor only: for return and rank)",
        build=None,
        regressor=lambda p, s: _sklearn("linear_model", "Ridge")(alpha=p["alpha"]),
        params={"alpha": _float(1.0, 0.0, 1e6, "L2 penalty; 0 is ordinary least squares")},
        aliases=(
            "linear regression",
            "ridge regression",
            "linear",
            "ols",
            "least squares",
            "linearregression",
        ),
        scaled=True,
        cost=costs.flat(0.05),
    ),
    ModelSpec(
        name="svm",
        family="kernel",
        description="support vector machine (no probabilities, so AUC and log loss are n/a)",
        # libsvm has no iteration cap by default: a linear kernel with a large C on noisy
        # returns can run for hours. At the cap the result carries a note that it stopped.
        build=lambda p, s: _sklearn("svm", "SVC")(
            C=p["C"], kernel=p["kernel"], max_iter=SVM_MAX_ITER, random_state=s
        ),
        regressor=lambda p, s: _sklearn("svm", "SVR")(
            C=p["C"], kernel=p["kernel"], max_iter=SVM_MAX_ITER
        ),
        params={
            "C": _float(1.0, 1e-4, 1e4, "inverse regularisation strength"),
            "kernel": _choice("rbf", "rbf", "linear", "poly", "sigmoid"),
        },
        aliases=("svc", "support vector machine", "support vector", "svm classifier"),
        scaled=True,
        cost=costs.kernel_machine(1.2, capped_at=5),
    ),
    ModelSpec(
        name="knn",
        family="neighbours",
        description="k nearest neighbours",
        build=lambda p, s: _sklearn("neighbors", "KNeighborsClassifier")(
            n_neighbors=p["n_neighbors"], weights=p["weights"]
        ),
        regressor=lambda p, s: _sklearn("neighbors", "KNeighborsRegressor")(
            n_neighbors=p["n_neighbors"], weights=p["weights"]
        ),
        params={
            "n_neighbors": _int(50, 1, 1000, "neighbours that vote"),
            "weights": _choice("uniform", "uniform", "distance"),
        },
        aliases=(
            "k-nn",
            "k nearest neighbors",
            "nearest neighbors",
            "k-nearest neighbors",
            "kneighbors",
            "k nearest neighbours",
            "nearest neighbours",
            "kneighborsclassifier",
        ),
        scaled=True,
        cost=costs.neighbours(0.15),
    ),
    ModelSpec(
        name="naive_bayes",
        family="probabilistic",
        description="Gaussian naive Bayes",
        build=lambda p, s: _sklearn("naive_bayes", "GaussianNB")(var_smoothing=p["var_smoothing"]),
        params={"var_smoothing": _float(1e-9, 1e-12, 1.0, "variance added for stability")},
        aliases=("nb", "gaussian nb", "naive bayes", "gaussiannb", "bayes"),
        scaled=True,
        cost=costs.flat(0.015),
    ),
    ModelSpec(
        name="mlp",
        family="neural network",
        description="multi-layer perceptron (scikit-learn), no shuffled early stopping",
        build=lambda p, s: _sklearn("neural_network", "MLPClassifier")(
            hidden_layer_sizes=(p["hidden_size"],) * p["num_layers"],
            alpha=p["alpha"],
            learning_rate_init=p["learning_rate"],
            max_iter=p["epochs"],
            early_stopping=False,
            random_state=s,
        ),
        regressor=lambda p, s: _sklearn("neural_network", "MLPRegressor")(
            hidden_layer_sizes=(p["hidden_size"],) * p["num_layers"],
            alpha=p["alpha"],
            learning_rate_init=p["learning_rate"],
            max_iter=p["epochs"],
            early_stopping=False,
            random_state=s,
        ),
        params={
            "hidden_size": _int(32, 1, 1024, "units per hidden layer"),
            "num_layers": _int(1, 1, 5, "hidden layers"),
            "alpha": _float(1e-3, 0.0, 10.0, "L2 penalty"),
            "learning_rate": _float(1e-3, 1e-5, 1.0, "Adam step size"),
            "epochs": _int(100, 1, 1000, "passes over the training data"),
        },
        aliases=(
            "neural network",
            "neural net",
            "nn",
            "perceptron",
            "multilayer perceptron",
            "multi-layer perceptron",
            "mlpclassifier",
        ),
        scaled=True,
        cost=costs.perceptron(1e-5),
    ),
    ModelSpec(
        name="lstm",
        family="recurrent neural network",
        description="LSTM over the last `lookback` bars of features (PyTorch, CPU)",
        build=_lstm_factory,
        regressor=lambda p, s: _lstm_factory(p, s, regressor=True),
        params={
            "hidden_size": _int(32, 1, 512, "LSTM units"),
            "num_layers": _int(1, 1, 4, "stacked LSTM layers"),
            "epochs": _int(10, 1, 1000, "passes over the training data"),
            "learning_rate": _float(1e-3, 1e-5, 1.0, "Adam step size"),
            "batch_size": _int(256, 1, 4096, "sequences per gradient step"),
            "dropout": _float(0.0, 0.0, 0.9, "dropout between layers"),
        },
        aliases=("long short-term memory", "long short term memory", "rnn", "recurrent"),
        scaled=True,
        needs_torch=True,
        sequence=True,
        cost=costs.recurrent(3.5e-6),
    ),
)


def _lightgbm(params: dict[str, Any], seed: int, *, regressor: bool = False) -> Any:
    from lightgbm import LGBMClassifier, LGBMRegressor

    estimator = LGBMRegressor if regressor else LGBMClassifier
    return estimator(
        **params,
        subsample_freq=1 if params["subsample"] < 1.0 else 0,
        random_state=seed,
        deterministic=True,
        force_row_wise=True,
        n_jobs=1,
        verbose=-1,
    )


MODELS: dict[str, ModelSpec] = {}
_ALIASES: dict[str, str] = {}


def _normalise(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name.strip().lower())


def register_model(spec: ModelSpec, *, replace: bool = False) -> ModelSpec:
    """Add a model to the registry: trials, `list_models` and aliases resolve it like the
    built-ins. `spec.build(params, seed)` returns a scikit-learn classifier (fit, predict,
    predict_proba) and `spec.regressor(params, seed)` a regressor (fit, predict), either may be
    None; `params` holds the checked hyper-parameters. A name or alias already taken
    by another model is refused unless `replace` is set."""
    if not isinstance(spec, ModelSpec):
        raise TypeError(f"register_model takes a ModelSpec, got {type(spec).__name__}")
    taken = [
        alias
        for alias in (spec.name, *spec.aliases)
        if _ALIASES.get(_normalise(alias), spec.name) != spec.name
    ]
    if (taken or (spec.name in MODELS and MODELS[spec.name] != spec)) and not replace:
        clash = ", ".join(taken) or spec.name
        raise ValueError(f"model name or alias already taken: {clash}; pass replace=True")
    MODELS[spec.name] = spec
    for alias in (spec.name, *spec.aliases):
        _ALIASES[_normalise(alias)] = spec.name
    return spec


# The built-in models go through the door a plugin uses, so they obey the same checks.
for _spec in _SPECS:
    register_model(_spec)


def known_model_names() -> list[str]:
    """Every phrase that resolves, longest first so the bridge matches "random forest" before
    "forest" in text."""
    return sorted(_ALIASES, key=len, reverse=True)


# Names people use for models this engine does not have; refused by name, never replaced.
NOT_INSTALLED = {
    "xgboost": "xgboost is not installed; ask for lightgbm or gradient_boosting by name",
    "xgb": "xgboost is not installed; ask for lightgbm or gradient_boosting by name",
    "xgbclassifier": "xgboost is not installed; ask for lightgbm or gradient_boosting by name",
}


def resolve_model(name: str) -> ModelSpec:
    """Canonical spec for a name or alias, case- and separator-insensitive."""
    key = _normalise(name)
    if key in _ALIASES:
        return MODELS[_ALIASES[key]]
    if refusal := NOT_INSTALLED.get(key):
        raise ConfigError(refusal)
    raise ConfigError(
        f"unknown model '{name}'; available models are {', '.join(MODELS)} "
        "(aliases such as 'rf', 'logit', 'lgbm' also work)"
    )


def largest_allowed(
    model: str, fixed: Mapping[str, Any] | None = None, folds: int = 5
) -> tuple[dict[str, Any], int]:
    """The largest value of `model`'s first cost knob that the per-trial limit still allows at
    `folds`, with the `fixed` parameters: for `benchmarks/trial_cost.py`."""
    spec = resolve_model(model)
    fixed = dict(fixed or {})
    if spec.cost is None or not spec.cost.knobs:
        return fixed, folds
    knob = spec.cost.knobs[0]
    bound = spec.params[knob]
    low, high = int(bound.low or 1), int(bound.high or 1)
    while low < high:
        middle = (low + high + 1) // 2
        try:
            spec.check_cost(
                {**fixed, knob: middle}, folds=folds, rows=costs.REFERENCE_ROWS, lookback=20
            )
        except ConfigError:
            high = middle - 1
        else:
            low = middle
    return {**fixed, knob: low}, folds
