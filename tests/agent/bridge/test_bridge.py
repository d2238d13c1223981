"""The bridge facade: the seed's Phase 2 acceptance tests, trial configs, the conversation's
memory through the seed's names, what is said back, and fuzzing. Reading, feedback and the
vocabulary have their own test files."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mltrainer.agent.bridge import Bridge
from mltrainer.agent.seed import MLAgentBridge
from mltrainer.agent.session.transcript import read_events, recorded_output
from mltrainer.engine.trial import ErrorResult, TrialConfig, TrialResult
from mltrainer.tools.research import ListSymbols, TrainModel
from mltrainer.tools.results import SymbolList

LEGACY_DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "transcripts_v1" / "demo.jsonl"


def trial_config_kwargs(config: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in config.items() if key != "id"}


def recorded_trial() -> TrialResult:
    """A trial `mltrainer demo` trained (lightgbm on SPX), as its transcript recorded it."""
    (trained,) = [
        recorded_output(e)
        for e in read_events(LEGACY_DEMO)
        if e["event"] == "tool_run" and e["call_id"] == "call_2"
    ]
    assert isinstance(trained, TrialResult)
    return trained


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
        "action": "train",
        "trials": [],
        "rank_by": None,
        "target": None,
        "universe": None,
        "start": None,
        "end": None,
        "features_only": False,
        "features_removed": [],
        "macro_only": False,
        "macro_removed": [],
        "other_symbols": [],
        "excluded_symbols": [],
        "excluded_models": [],
        "unavailable_model": None,
        "model_directed": True,
        "said": {},
        "continues": False,
        "reset": False,
        "reported_only": False,
        "not_done": [],
    }


def test_parse_reads_the_text_alone_not_the_conversation():
    bridge = MLAgentBridge()
    bridge.create_trial_config(bridge.parse_mltrainer_response("RF on SPX, 30 day lookback"))

    parsed = bridge.parse_mltrainer_response("switch to SVM")

    assert parsed["extracted_params"]["symbol"] is None
    assert parsed["extracted_params"]["parameters"] == {}
    assert parsed["extracted_params"]["model"] == "svm"


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


def test_trial_config_with_a_source_trials_cannot_use_is_none_and_says_why():
    bridge = MLAgentBridge()

    parsed = bridge.parse_mltrainer_response("use data from yahoo for a random forest on MSFT")
    config = bridge.create_trial_config(parsed)

    assert parsed["data_source"] == "yahoo"
    assert config is None
    assert bridge.describe(bridge.resolve(parsed)) == (
        "Not done, nothing was run: data source 'yahoo': trials cannot use it "
        "(allowed: auto, sample, synthetic, polygon, sp20, csv)."
    )


@pytest.mark.parametrize(
    "text",
    [
        "Let's train a random forest model on AAPL with 80% train ratio",
        "Train an LSTM model on TSLA with 70% train ratio for 50 epochs",
        "symbol: SPX\nmodel: lightgbm\ntrain_ratio: 0.7\nlookback: 30",
        "Use gradient boosting on MSFT with 500 trees, max depth 3, 5-fold walk-forward, 10 bps",
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


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (
            "Random forest on SPX with a lookback of 900 days",
            "'lookback of 900': lookback 900 is out of range (allowed: 2 to 250)",
        ),
        (
            "Random forest on SPX with lookback -3",
            "'lookback -3': lookback -3 is out of range (allowed: 2 to 250)",
        ),
        (
            "Random forest on SPX with train ratio 1.5",
            "'train ratio 1.5': train_ratio 1.5 is out of range "
            "(allowed: 0.5 to 0.95 (a share: 0.8 or 80%))",
        ),
        (
            "Random forest on SPX with a lookback of 2.5",
            "'lookback of 2.5': lookback must be a whole number (allowed: 2 to 250)",
        ),
        (
            "SVM on SPX with 300 trees",
            "'300 trees': svm has no parameter n_estimators (allowed: C, kernel)",
        ),
    ],
    ids=["too-big", "negative", "ratio-not-a-percentage", "not-whole", "not-this-models"],
)
def test_impossible_values_are_refused_quoting_what_was_written(text: str, said: str):
    bridge = MLAgentBridge()
    parsed = bridge.parse_mltrainer_response(text)

    resolution = bridge.resolve(parsed)

    assert resolution.config is None
    assert bridge.create_trial_config(parsed) is None
    assert bridge.describe(resolution) == f"Not done, nothing was run: {said}."


def test_an_unknown_model_is_refused_not_replaced():
    bridge = MLAgentBridge()

    resolution = bridge.resolve(bridge.parse_mltrainer_response("Train a transformer on SPX"))

    assert resolution.config is None
    assert bridge.describe(resolution) == (
        "Not done, nothing was run: model 'transformer': there is no transformer model "
        "(allowed: random_forest, extra_trees, decision_tree, gradient_boosting, lightgbm, "
        "logistic_regression, svm, knn, naive_bayes, mlp, lstm)."
    )


def test_xgboost_is_refused_not_trained_as_gradient_boosting():
    bridge = MLAgentBridge()

    parsed = bridge.parse_mltrainer_response("Use XGBoost on SPX with 300 trees")

    assert bridge.create_trial_config(parsed) is None
    assert "model 'XGBoost': xgboost is not installed" in bridge.describe(bridge.resolve(parsed))


def test_every_problem_of_a_reply_is_named_at_once():
    bridge = MLAgentBridge()

    text = bridge.describe(
        bridge.resolve(
            bridge.parse_mltrainer_response(
                "a transformer on SPX and IXIC with lookback -3, stop loss of 2%, add MACD"
            )
        )
    )

    for part in ("transformer", "symbols SPX, IXIC", "'lookback -3'", "stop loss", "'MACD'"):
        assert part in text


@pytest.mark.parametrize("parsed", [{}, {"extracted_params": None}, {"symbol": "not a ticker"}])
def test_trial_config_of_malformed_input_is_none(parsed: dict[str, Any]):
    assert MLAgentBridge().create_trial_config(parsed) is None


# --- the conversation's memory through the seed's names ----------------------------------------


def configure(bridge: MLAgentBridge, text: str) -> dict[str, Any] | None:
    return bridge.create_trial_config(bridge.parse_mltrainer_response(text))


def test_a_reply_that_builds_on_the_last_trial_is_a_whole_configuration():
    bridge = MLAgentBridge()
    configure(bridge, "Train a logistic regression on SPX with an 80/20 split, 30 day lookback")

    config = configure(bridge, "retrain with a 0.9 ratio")

    assert config is not None
    assert trial_config_kwargs(config) == {
        "symbol": "SPX",
        "model": "logistic_regression",
        "params": {},
        "train_ratio": 0.9,
        "lookback": 30,
    }


def test_switching_models_keeps_the_settings_and_drops_parameters_the_new_model_lacks():
    bridge = MLAgentBridge()
    configure(bridge, "random forest on SPX with 300 trees and a 60 day lookback")

    resolution = bridge.resolve(bridge.parse_mltrainer_response("switch to SVM"))

    assert resolution.config == TrialConfig(symbol="SPX", model="svm", lookback=60)
    assert bridge.describe(resolution) == (
        "Read from your text: model=svm; the rest as in the last trial; "
        "not carried over to svm: n_estimators=300."
    )


def test_continue_runs_the_last_configuration_again_and_says_so():
    bridge = MLAgentBridge()
    first = configure(bridge, "LightGBM on IXIC since 2010, seed 7")

    resolution = bridge.resolve(bridge.parse_mltrainer_response("Continue."))

    assert first is not None
    assert resolution.config == TrialConfig(**trial_config_kwargs(first))
    assert bridge.describe(resolution) == (
        "Read from your text: nothing new, so the last trial's configuration again."
    )


def test_a_refused_reply_leaves_the_memory_alone():
    bridge = MLAgentBridge()
    configure(bridge, "RF on SPX with a 30 day lookback")

    assert configure(bridge, "switch to a transformer") is None
    config = configure(bridge, "same on IXIC")

    assert config is not None
    assert (config["symbol"], config["model"], config["lookback"]) == ("IXIC", "random_forest", 30)


def test_observe_trial_makes_a_tool_call_trial_the_base():
    bridge = MLAgentBridge()
    bridge.observe_trial(TrialConfig(symbol="MSFT", model="lightgbm", train_ratio=0.7))

    config = configure(bridge, "switch to logistic regression")

    assert config is not None
    trial = TrialConfig(**trial_config_kwargs(config))
    assert (trial.symbol, trial.model, trial.train_ratio) == ("MSFT", "logistic_regression", 0.7)


def test_observe_tool_run_keeps_what_ran_and_ignores_other_results_and_invalid_calls():
    bridge = MLAgentBridge()
    trained = recorded_trial()

    bridge.observe_tool_run(trained, TrainModel(symbol="SPX", model="lightgbm"))
    bridge.observe_tool_run(ErrorResult(type="invalid_call", error="train_ratio: ..."), None)
    bridge.observe_tool_run(SymbolList(symbols=[]), ListSymbols(source="sample"))

    assert bridge.last_trial == trained.config


def test_a_train_model_call_the_engine_refused_moves_the_memory_to_its_arguments():
    bridge = MLAgentBridge()
    bridge.observe_tool_run(recorded_trial(), TrainModel(symbol="SPX"))

    tried = TrainModel(symbol="MSFT", model="svm", lookback=30)
    bridge.observe_tool_run(ErrorResult(type="training_failed", error="too few rows"), tried)

    assert bridge.last_trial == TrialConfig(symbol="MSFT", model="svm", lookback=30)


def test_a_fresh_start_ignores_the_last_trial():
    bridge = MLAgentBridge()
    configure(bridge, "RF on SPX with a 30 day lookback and seed 9")

    config = configure(bridge, "Start over: logistic regression on IXIC")

    assert config is not None
    assert trial_config_kwargs(config) == {
        "symbol": "IXIC",
        "model": "logistic_regression",
        "params": {},
    }


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
        # The bridge refuses what TrialConfig would refuse, so what it makes always validates.
        TrialConfig(**trial_config_kwargs(config))


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_fuzz_any_text(text: str):
    assert_parse_and_config_never_raise(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(VOCABULARY), max_size=40).map(" ".join))
def test_fuzz_instruction_vocabulary(text: str):
    assert_parse_and_config_never_raise(text)


def test_a_bridge_reads_the_symbols_it_is_given_in_lower_case():
    bridge = Bridge(known_symbols=lambda: {"tsla"})

    assert bridge.read("rf on tsla").symbol == "TSLA"


def test_the_last_trials_symbol_reads_in_lower_case():
    bridge = Bridge(known_symbols=frozenset)
    bridge.observe_trial(TrialConfig(symbol="NFLX", model="random_forest"))

    assert bridge.read("now lgbm on nflx").symbol == "NFLX"


def test_a_bridge_asks_for_its_known_symbols_once():
    asked: list[int] = []

    def known() -> set[str]:
        asked.append(1)
        return {"SPX"}

    bridge = Bridge(known_symbols=known)
    bridge.read("rf on spx")
    bridge.read("lgbm on spx")

    assert asked == [1]
