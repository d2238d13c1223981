"""The vocabulary: word tables from prompts/vocabulary.yaml joined with the engine's registries."""

from __future__ import annotations

import pytest

from mltrainer.agent.bridge.vocabulary import (
    Bounds,
    _feature_table,
    phrase_key,
    setting_bounds,
    squash,
    vocabulary,
)
from mltrainer.engine.data.catalog import bar_source_names
from mltrainer.engine.features import ALL_FEATURES, LAG_FEATURES
from mltrainer.engine.models import MODELS


def test_every_registry_model_is_named_by_its_own_name():
    words = vocabulary()

    assert {name: words.model_named(name) for name in MODELS} == {name: name for name in MODELS}
    assert words.model_names == tuple(MODELS)


@pytest.mark.parametrize(
    ("written", "model"),
    [("RF", "random_forest"), ("Random-Forest", "random_forest"), ("logit", "logistic_regression")],
)
def test_aliases_resolve_whatever_the_separators(written: str, model: str):
    assert vocabulary().model_named(written) == model


@pytest.mark.parametrize("written", ["xgboost", "XGBoost", "xgb", "XGBClassifier"])
def test_xgboost_is_not_a_model_the_bridge_will_train(written: str):
    words = vocabulary()

    assert words.model_named(written) is None
    assert words.unavailable_model(written) == "xgboost is not installed (it is not a dependency)"


def test_no_unavailable_model_resolves_to_a_registry_model():
    words = vocabulary()

    assert [name for name in words.unavailable_models if words.model_named(name)] == []


def test_trial_sources_are_the_trial_configs():
    assert vocabulary().trial_sources == bar_source_names()


def test_every_feature_phrase_names_engine_features():
    features = vocabulary().features

    assert {name for names in features.values() for name in names} <= set(ALL_FEATURES)
    assert features[phrase_key("lagged returns")] == LAG_FEATURES
    assert features[phrase_key("RSI(14)")] == ("rsi",)


def test_a_feature_table_naming_an_unknown_feature_is_refused_when_loaded():
    with pytest.raises(ValueError, match="'macd line' names unknown features \\['macd'\\]"):
        _feature_table({"macd line": "macd"})


def test_numbers_and_bars_per_unit():
    words = vocabulary()

    assert [words.numbers[w] for w in ("zero", "seven", "nineteen", "ninety")] == [0, 7, 19, 90]
    assert dict(words.bars_per) == {
        "day": 1,
        "bar": 1,
        "session": 1,
        "week": 5,
        "month": 21,
        "year": 252,
    }


@pytest.mark.parametrize(
    ("written", "name"),
    [
        ("a 2% stop-loss", "stop loss"),
        ("take profit at 5%", "take profit"),
        ("k-fold", "shuffled validation"),
        ("shuffled splits", "shuffled validation"),
        ("rolling window validation", "rolling-window validation"),
        ("hourly", "intraday bars"),
        ("2x leverage", "leverage"),
        ("grid search", "hyper-parameter search"),
    ],
)
def test_unsupported_settings_are_recognised_with_a_reason(written: str, name: str):
    matching = [u for u in vocabulary().unsupported if u.pattern.search(written)]

    assert [u.name for u in matching] == [name]
    assert matching[0].reason


@pytest.mark.parametrize(
    ("name", "model", "bounds"),
    [
        ("train_ratio", None, Bounds(0.5, 0.95)),
        ("lookback", None, Bounds(2, 250)),
        ("days", None, Bounds(100, 20000)),
        ("max_depth", "gradient_boosting", Bounds(1, 16)),
        ("max_depth", "random_forest", Bounds(1, 64)),
        ("kernel", "svm", None),
    ],
)
def test_setting_bounds_come_from_the_trial_config_and_the_model_registry(
    name: str, model: str | None, bounds: Bounds | None
):
    assert setting_bounds(name, model) == bounds


@pytest.mark.parametrize(
    ("name", "share"),
    [("train_ratio", True), ("dropout", True), ("subsample", True), ("lookback", False)],
)
def test_shares_are_settings_bounded_by_one(name: str, share: bool):
    assert vocabulary().is_share(name) is share


def test_phrase_keys_and_squashing():
    assert phrase_key("  Close-to_SMA (20) ") == "close to sma 20"
    assert squash("k-Nearest Neighbors") == "knearestneighbors"
