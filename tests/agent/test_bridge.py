"""The bridge: the seed's Phase 2 acceptance tests, trial configs, feedback text, and fuzzing."""

from __future__ import annotations

import contextlib
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from mltrainer.agent.bridge import MLAgentBridge
from mltrainer.engine.trial import TrialConfig, TrialResult


def trial_config_kwargs(config: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in config.items() if key != "id"}


# --- the seed's Phase 2 tests, inputs and expectations unchanged --------------------------------


def test_natural_language_parsing():
    """Test AI natural language → structured command conversion"""
    bridge = MLAgentBridge()

    test_cases = [
        {
            "input": "Let's train a random forest model on AAPL with 80% train ratio",
            "expected": {"symbol": "AAPL", "model": "random_forest", "train_ratio": 0.8},
        },
        {
            "input": "Use LSTM with 60 day lookback, train for 100 epochs",
            "expected": {"model": "lstm", "lookback": 60, "epochs": 100},
        },
    ]

    for i, test in enumerate(test_cases):
        parsed = bridge.parse_mltrainer_response(test["input"])
        params = parsed["extracted_params"]

        for key, expected_value in test["expected"].items():
            if key in ["symbol", "model"]:
                assert params.get(key) == expected_value, (
                    f"Test {i}: Expected {key}={expected_value}, got {params.get(key)}"
                )
            else:
                assert params.get("parameters", {}).get(key) == expected_value, (
                    f"Test {i}: Expected {key}={expected_value}"
                )


def test_ml_feedback_formatting():
    """Test ML engine data → natural language conversion"""
    bridge = MLAgentBridge()

    ml_feedback = {
        "type": "model_performance",
        "model": "random_forest",
        "accuracy": 0.87,
        "precision": 0.85,
        "sharpe": 1.2,
    }

    question = bridge.format_ml_feedback_as_question(ml_feedback)

    assert "random_forest" in question
    assert "87" in question
    assert "continue, retrain, or switch" in question


def test_end_to_end_conduit_parse_and_config():
    """The first half of the seed's end-to-end test: AI text → bridge → trial config."""
    bridge = MLAgentBridge()
    ai_response = "Train an LSTM model on TSLA with 70% train ratio for 50 epochs"

    parsed = bridge.parse_mltrainer_response(ai_response)
    trial_config = bridge.create_trial_config(parsed)

    assert trial_config is not None
    assert trial_config["symbol"] == "TSLA"
    assert trial_config["model"] == "lstm"


def test_feedback_on_the_seed_mock_engine_result():
    bridge = MLAgentBridge()

    question = bridge.format_ml_feedback_as_question(
        {"status": "success", "model": "lstm", "accuracy": 0.9}
    )

    assert "lstm" in question
    assert "accuracy" in question.lower()
    assert "90.0%" in question


# --- the original bridge's misreadings ----------------------------------------------------------


def test_preposition_is_never_the_model():
    parsed = MLAgentBridge().parse_mltrainer_response("train a random forest model on AAPL")

    assert parsed["extracted_params"]["model"] == "random_forest"
    assert parsed["extracted_params"]["symbol"] == "AAPL"


def test_article_is_never_the_symbol():
    bridge = MLAgentBridge()

    parsed = bridge.parse_mltrainer_response("Let me analyze the market")

    assert parsed["extracted_params"]["symbol"] is None
    assert parsed["has_instruction"] is False
    assert bridge.create_trial_config(parsed) is None


# --- parse result shape -------------------------------------------------------------------------


def test_parse_result_shape():
    text = "Train a random forest on SPX using sample data"

    parsed = MLAgentBridge().parse_mltrainer_response(text)

    assert parsed["original_text"] == text
    assert parsed["has_instruction"] is True
    assert parsed["data_source"] == "sample"
    assert parsed["extracted_params"] == {
        "symbol": "SPX",
        "model": "random_forest",
        "parameters": {},
        "data_source": "sample",
        "features": [],
        "macro": [],
        "validation_strategy": None,
        "action": "train",
        "stop_loss": None,
    }


# --- create_trial_config ------------------------------------------------------------------------


def test_trial_config_without_symbol_is_none():
    bridge = MLAgentBridge()

    parsed = bridge.parse_mltrainer_response("Use LSTM with 60 day lookback")

    assert bridge.create_trial_config(parsed) is None


def test_trial_config_defaults_to_random_forest():
    bridge = MLAgentBridge()

    config = bridge.create_trial_config(bridge.parse_mltrainer_response("Predict SPX stock"))

    assert config is not None
    assert config["model"] == "random_forest"
    assert config["params"] == {}


def test_trial_config_id_is_trial_and_eight_hex_digits():
    bridge = MLAgentBridge()

    config = bridge.create_trial_config(bridge.parse_mltrainer_response("RF on AAPL"))

    assert config is not None
    assert re.fullmatch(r"trial_[0-9a-f]{8}", config["id"])


def test_trial_config_splits_trial_settings_from_model_parameters():
    bridge = MLAgentBridge()
    text = (
        "Train an LSTM on SPX with a 70/30 split, lookback of 60 days, 5 day horizon, 4 folds, "
        "10 bps costs, seed 7, 30 epochs, learning rate 0.001 and dropout 0.2, "
        "using sample data, with VIXCLS macro, features: [rsi, sma_20]"
    )

    config = bridge.create_trial_config(bridge.parse_mltrainer_response(text))

    assert config is not None
    assert trial_config_kwargs(config) == {
        "symbol": "SPX",
        "model": "lstm",
        "params": {"epochs": 30, "learning_rate": 0.001, "dropout": 0.2},
        "train_ratio": 0.7,
        "lookback": 60,
        "horizon": 5,
        "folds": 4,
        "cost_bps": 10.0,
        "seed": 7,
        "source": "sample",
        "macro": ["VIXCLS"],
        "features": ["rsi", "sma_20"],
    }


def test_trial_config_leaves_out_settings_that_were_not_asked_for():
    bridge = MLAgentBridge()

    config = bridge.create_trial_config(bridge.parse_mltrainer_response("Fit logit on MSFT"))

    assert config is not None
    assert set(config) == {"id", "symbol", "model", "params"}
    assert config.get("lookback", 100) == 100


def test_trial_config_source_only_for_engine_sources():
    bridge = MLAgentBridge()

    parsed = bridge.parse_mltrainer_response("use data from yahoo for a random forest on MSFT")
    config = bridge.create_trial_config(parsed)

    assert parsed["data_source"] == "yahoo"
    assert config is not None
    assert "source" not in config


@pytest.mark.parametrize(
    "text",
    [
        "Let's train a random forest model on AAPL with 80% train ratio",
        "Train an LSTM model on TSLA with 70% train ratio for 50 epochs",
        "symbol: SPX\nmodel: lightgbm\ntrain_ratio: 0.7\nlookback: 30",
        "Use XGBoost on MSFT with 500 trees, max depth 3, 5-fold walk-forward, 10 bps costs",
        "k-NN on IXIC with k=15, seed 3, predict 5 days ahead, using synthetic data",
        "Add DGS10 as a feature and train logit on SPX with an 80/20 split",
        "SVM on BRK.B with C=0.5 and a linear kernel, embargo of 10 days",
    ],
)
def test_trial_config_validates_as_trial_config(text: str):
    bridge = MLAgentBridge()

    config = bridge.create_trial_config(bridge.parse_mltrainer_response(text))

    assert config is not None
    trial = TrialConfig(**trial_config_kwargs(config))
    assert trial.symbol == config["symbol"]
    assert trial.model == config["model"]


def test_trial_config_passes_out_of_bounds_values_on_for_validation_to_report():
    bridge = MLAgentBridge()

    config = bridge.create_trial_config(
        bridge.parse_mltrainer_response("Random forest on SPX with a lookback of 900 days")
    )

    assert config is not None
    assert config["lookback"] == 900
    with pytest.raises(ValidationError, match="lookback"):
        TrialConfig(**trial_config_kwargs(config))


@pytest.mark.parametrize("parsed", [{}, {"extracted_params": None}, {"symbol": "not a ticker"}])
def test_trial_config_of_malformed_input_is_none(parsed: dict[str, Any]):
    assert MLAgentBridge().create_trial_config(parsed) is None


# --- feedback -----------------------------------------------------------------------------------


def full_result(*, synthetic: bool = False) -> dict[str, Any]:
    """A TrialResult as the engine returns it (JSON mode), written out by hand."""
    period = {"start": "2015-01-02", "end": "2018-12-31"}
    result = {
        "status": "success",
        "type": "training_complete",
        "model_id": "SPX_lstm_trial_0a1b2c3d",
        "model": "lstm",
        "symbol": "SPX",
        "train_accuracy": 0.61,
        "selection_accuracy": 0.5234,
        "overfitting_risk": 0.0866,
        "synthetic": synthetic,
        "data_label": "SYNTHETIC DATA" if synthetic else "REAL DATA",
        "config": {"symbol": "SPX", "model": "lstm"},
        "selection": {
            "accuracy": 0.5234,
            "precision": 0.54,
            "recall": 0.7,
            "auc": 0.52,
            "log_loss": 0.69,
            "n": 500,
        },
        "walk_forward": [
            {
                "fold": 0,
                "train_rows": 1000,
                "test_rows": 200,
                "test_start": "2013-01-02",
                "test_end": "2013-10-15",
                "accuracy": 0.51,
            }
        ],
        "walk_forward_accuracy": 0.51,
        "baselines": {
            "majority_class": 0.531,
            "always_up": 0.531,
            "previous_direction": 0.49,
            "best_name": "always_up",
            "best_accuracy": 0.531,
            "p_value": 0.62,
            "mcnemar_p_value": 0.7,
            "tested_days": 500,
        },
        "backtest": {
            "cost_bps": 2.0,
            "long_flat": {
                "annual_return": 0.05,
                "sharpe": 0.45,
                "max_drawdown": -0.2,
                "turnover": 0.3,
            },
            "long_short": {
                "annual_return": 0.01,
                "sharpe": 0.1,
                "max_drawdown": -0.3,
                "turnover": 0.6,
            },
            "buy_and_hold": {
                "annual_return": 0.07,
                "sharpe": 0.6,
                "max_drawdown": -0.5,
                "turnover": 0.0,
            },
        },
        "features": ["returns", "rsi"],
        "train_period": ["1999-01-04", "2014-12-31"],
        "selection_period": [period["start"], period["end"]],
        "dataset": {
            "key": "sample:SPX:bars",
            "holdout": {"start": "2015-01-02", "end": "2018-12-31", "rows": 1000},
            "used": {"start": "1999-01-04", "end": "2014-12-31", "rows": 4000},
            "used_hash": "0123456789abcdef",
        },
        "provenance": {
            "source": "synthetic" if synthetic else "sample",
            "kind": "synthetic" if synthetic else "real",
            "symbol": "SPX",
            "rows": 5000,
            "start": "1999-01-04",
            "end": "2018-12-31",
            "content_hash": "0123456789abcdef",
        },
        "timings": {"total": 1.5},
        "seed": 42,
        "code_version": "0.1.0",
    }
    TrialResult.model_validate(result)  # the hand-written keys must stay TrialResult's keys
    return result


def test_feedback_on_a_full_trial_result():
    question = MLAgentBridge().format_ml_feedback_as_question(full_result())

    assert question == (
        "lstm on SPX: selection accuracy 52.3%, walk-forward 51.0%, train-selection gap 8.7 pts. "
        "Best baseline (always up) 53.1%, p-value 0.620: no significant edge. "
        "Long-flat Sharpe 0.45 vs buy-and-hold 0.60 after 2 bps costs. "
        "Should we continue, retrain, or switch?"
    )


def test_feedback_reports_a_significant_edge():
    result = full_result()
    result["baselines"]["p_value"] = 0.0004

    question = MLAgentBridge().format_ml_feedback_as_question(result)

    assert "p-value <0.001: a significant edge" in question


def test_feedback_flags_synthetic_data_first():
    question = MLAgentBridge().format_ml_feedback_as_question(full_result(synthetic=True))

    assert question.startswith("SYNTHETIC DATA")


def test_feedback_accepts_the_trial_result_model():
    bridge = MLAgentBridge()
    result = TrialResult.model_validate(full_result())

    assert bridge.format_ml_feedback_as_question(result) == (
        bridge.format_ml_feedback_as_question(full_result())
    )


def test_feedback_on_an_error_result():
    question = MLAgentBridge().format_ml_feedback_as_question(
        {
            "status": "error",
            "error": "lookback=500 is out of bounds; allowed 2 to 250",
            "error_type": "ConfigError",
        }
    )

    assert question == (
        "The trial failed (ConfigError): lookback=500 is out of bounds; allowed 2 to 250. "
        "What should we change (symbol, model, data source or parameters) before trying again?"
    )


def test_feedback_on_an_error_with_only_a_message():
    question = MLAgentBridge().format_ml_feedback_as_question(
        {"status": "error", "message": "Unknown action: explode"}
    )

    assert "failed" in question
    assert "Unknown action: explode" in question
    assert "What should we change" in question


@pytest.mark.parametrize(
    "result",
    [
        full_result(),
        full_result(synthetic=True),
        {"status": "error", "error": "no data " * 200, "error_type": "DataSourceError"},
        {f"metric_{i}": i for i in range(100)},
    ],
    ids=["full", "synthetic", "long-error", "many-fields"],
)
def test_feedback_stays_under_90_words(result: dict[str, Any]):
    question = MLAgentBridge().format_ml_feedback_as_question(result)

    assert len(question.split()) < 90


@pytest.mark.parametrize(
    "result",
    [
        {},
        {"status": "success"},
        {"model": "svm"},
        {"accuracy": "not a number", "model": ["odd"]},
        {"baselines": {"best_accuracy": 0.5}},
        {"backtest": {"long_flat": None}},
        {"baselines": "none", "backtest": 3},
        {"test_accuracy": float("nan")},
    ],
)
def test_feedback_never_raises_on_missing_or_odd_keys(result: dict[str, Any]):
    question = MLAgentBridge().format_ml_feedback_as_question(result)

    assert question.endswith("Should we continue, retrain, or switch?")


# --- fuzzing ------------------------------------------------------------------------------------

SYMBOL_SHAPE = re.compile(r"^[A-Z][A-Z0-9.\-]{0,9}$")
VOCABULARY = [
    "AAPL",
    "$TSLA",
    "SPX",
    "BRK.B",
    "BF-B",
    "DGS10",
    "VIXCLS",
    "THE",
    "I",
    "A",
    "LSTM",
    "RSI",
    "random",
    "forest",
    "RF",
    "XGBoost",
    "logit",
    "k-NN",
    "naive",
    "bayes",
    "trees",
    "tree",
    "on",
    "for",
    "with",
    "train",
    "use",
    "instead of",
    "symbol:",
    "ticker",
    "model:",
    "80%",
    "80/20",
    "0.7",
    "1e-3",
    "-1",
    "60",
    "day",
    "lookback",
    "horizon",
    "folds",
    "bps",
    "seed",
    "epochs",
    "lr=",
    "k=",
    "C=",
    "split",
    "stop loss",
    "%",
    "**",
    "-",
    "\n",
    ":",
    ",",
    ".",
    "features: [",
    "]",
    "add",
    "as a feature",
    "macro",
    "data from",
    "polygon",
    "synthetic",
    "validation:",
    "walk-forward",
    "S&P 500",
    "1" * 30,
    "9" * 400,
    "ä",
    "\u2019",
]


def assert_parse_and_config_never_raise(text: str) -> None:
    bridge = MLAgentBridge()

    parsed = bridge.parse_mltrainer_response(text)
    config = bridge.create_trial_config(parsed)

    symbol = parsed["extracted_params"]["symbol"]
    assert symbol is None or SYMBOL_SHAPE.match(symbol)
    if config is not None:
        # Out-of-bounds values are the validator's to report, not the bridge's.
        with contextlib.suppress(ValidationError):
            TrialConfig(**trial_config_kwargs(config))


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_fuzz_any_text(text: str):
    assert_parse_and_config_never_raise(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(VOCABULARY), max_size=40).map(" ".join))
def test_fuzz_instruction_vocabulary(text: str):
    assert_parse_and_config_never_raise(text)


PARAMETER_WORDS = [
    "80%",
    "80/20",
    "split",
    "train",
    "training",
    "test",
    "60",
    "day",
    "lookback",
    "window",
    "of",
    "horizon",
    "ahead",
    "5-fold",
    "bps",
    "costs",
    "seed",
    "epochs",
    "lr=0.01",
    "learning rate",
    "300",
    "trees",
    "depth",
    "k=15",
    "neighbours",
    "hidden",
    "units",
    "layers",
    "batch",
    "dropout",
    "leaves",
    "embargo",
    "rbf kernel",
    "distance weights",
    "C=0.5",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PARAMETER_WORDS + VOCABULARY), max_size=30).map(" ".join))
def test_parameter_hints_only_skip_patterns_that_cannot_match(text: str):
    import mltrainer.agent.bridge as bridge_module

    hinted = bridge_module.extract_parameters(text)
    everything = {name: ("",) for name in bridge_module._PARAM_HINTS}
    original = bridge_module._PARAM_HINTS
    bridge_module._PARAM_HINTS = everything
    try:
        assert bridge_module.extract_parameters(text) == hinted
    finally:
        bridge_module._PARAM_HINTS = original


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.text(max_size=20),
        st.recursive(
            st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=30),
            lambda children: (
                st.lists(children, max_size=3)
                | st.dictionaries(st.text(max_size=10), children, max_size=3)
            ),
            max_leaves=10,
        ),
    )
)
def test_fuzz_feedback_never_raises(result: dict[str, Any]):
    question = MLAgentBridge().format_ml_feedback_as_question(result)

    assert len(question.split()) < 90
