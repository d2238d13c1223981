"""Feedback: an engine result (full, partial, seed-shaped or an error) to the short text that
becomes the LLM's next turn, starting with the configuration that ran in one line."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mltrainer.engine.trial import TrialConfig, TrialResult
from mltrainer.tools.feedback import (
    comparison_feedback,
    config_line,
    format_feedback,
    holdout_feedback,
)

RETURN_TEST = {
    "strategy": "long_flat",
    "baseline": "buy_and_hold",
    "execution": "next_bar",
    "cost_bps": 2.0,
    "days": 500,
    "excess_return": -0.021,
    "excess_sharpe": -0.35,
    "t_stat": -0.7,
    "lags": 5,
    "p_value": 0.758,
}


def full_result(*, synthetic: bool = False, verdict: bool = True) -> dict[str, Any]:
    """A TrialResult as the engine returns it (JSON mode), written out by hand; without the
    verdict, as one recorded before the return test."""
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
        "config": {"symbol": "SPX", "model": "lstm", "lookback": 60, "params": {"epochs": 30}},
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
    if verdict:
        result["return_test"] = dict(RETURN_TEST)
    TrialResult.model_validate(result)  # the hand-written keys must stay TrialResult's keys
    return result


def test_feedback_on_a_full_trial_result_leads_with_the_return_test():
    question = format_feedback(full_result())

    assert question == (
        "Ran lstm on SPX: source=auto, dates=all, train_ratio=0.8, lookback=60, horizon=1, "
        "folds=5, embargo=5, cost_bps=2, seed=42, execution=next_bar, features=default, "
        "macro=none, params=epochs:30. "
        "Long/flat, filled next bar, after 2 bps: excess Sharpe -0.35 over the best baseline "
        "strategy (buy and hold), t -0.70, p-value 0.758: no significant edge. "
        "Selection accuracy 52.3%, walk-forward 51.0%, train-selection gap 8.7 pts. "
        "Accuracy vs best baseline (always up) 53.1%, p-value 0.620. "
        "Should we continue, retrain, or switch?"
    )


def test_feedback_judges_by_the_return_test_adjusted_for_the_tries():
    result = {
        **full_result(),
        "return_test": {**RETURN_TEST, "excess_sharpe": 1.9, "t_stat": 2.2, "p_value": 0.014},
        "return_p_value_adjusted": 0.168,
        "tries": 12,
    }

    question = format_feedback(result)

    assert (
        "excess Sharpe 1.90 over the best baseline strategy (buy and hold), t 2.20, p-value "
        "0.014, 0.168 adjusted for 12 tries: no significant edge."
    ) in question


def test_a_significant_accuracy_is_no_verdict_when_the_return_test_says_otherwise():
    result = full_result()
    result["baselines"]["p_value"] = 0.0004

    question = format_feedback(result)

    assert "Accuracy vs best baseline (always up) 53.1%, p-value <0.001." in question
    assert "a significant edge" not in question


def test_feedback_on_a_result_recorded_before_the_return_test_leads_with_accuracy():
    question = format_feedback(full_result(verdict=False))

    assert question.endswith(
        "Selection accuracy 52.3%, walk-forward 51.0%, train-selection gap 8.7 pts. "
        "Best baseline (always up) 53.1%, p-value 0.620: no significant edge. "
        "Long-flat Sharpe 0.45 vs buy-and-hold 0.60 after 2 bps costs. "
        "Should we continue, retrain, or switch?"
    )


def test_feedback_reads_selection_accuracy_before_test_accuracy():
    result = {**full_result(), "selection_accuracy": 0.61, "test_accuracy": 0.40}

    assert "Selection accuracy 61.0%," in format_feedback(result)


def test_feedback_reads_the_seeds_accuracy_when_there_is_nothing_else():
    question = format_feedback({"model": "random_forest", "accuracy": 0.87})

    assert question == "random_forest: accuracy 87.0%. Should we continue, retrain, or switch?"


def test_feedback_reports_a_significant_edge():
    result = full_result()
    result["return_test"]["p_value"] = 0.0004

    question = format_feedback(result)

    assert "p-value <0.001: a significant edge" in question


def test_feedback_flags_synthetic_data_right_after_the_configuration():
    question = format_feedback(full_result(synthetic=True))

    head, label = question.split(". ", 1)
    assert head.startswith("Ran lstm on SPX: ")
    assert label.startswith("SYNTHETIC DATA: these numbers say nothing about real markets.")


def test_feedback_accepts_the_trial_result_model():
    result = TrialResult.model_validate(full_result())

    assert format_feedback(result) == format_feedback(full_result())


def test_feedback_on_an_error_result():
    question = format_feedback(
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
    question = format_feedback({"status": "error", "message": "Unknown action: explode"})

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
    question = format_feedback(result)

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
    question = format_feedback(result)

    assert question.endswith("Should we continue, retrain, or switch?")


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
    question = format_feedback(result)

    assert len(question.split()) < 90


# --- the configuration line -----------------------------------------------------------------


def test_config_line_shows_every_setting_with_its_default():
    line = config_line(TrialConfig(symbol="SPX").model_dump(mode="json"))

    assert line == (
        "random_forest on SPX: source=auto, dates=all, train_ratio=0.8, lookback=20, horizon=1, "
        "folds=5, embargo=5, cost_bps=2, seed=42, execution=next_bar, features=default, "
        "macro=none, params=default"
    )


def test_config_line_shows_dates_days_features_macro_and_chosen_parameters():
    config = TrialConfig(
        symbol="IXIC",
        model="lightgbm",
        source="sample",
        start="2005-01-01",
        end="2012-12-31",
        days=1000,
        features=["rsi", "momentum"],
        macro=["VIXCLS"],
        params={"n_estimators": 300, "num_leaves": 15},
    ).model_dump(mode="json")

    line = config_line(config)

    assert line.startswith("lightgbm on IXIC: source=sample, dates=2005-01-01..2012-12-31, ")
    assert "days=1000, train_ratio=0.8" in line
    # num_leaves=15 is lightgbm's default: only the parameter chosen on purpose is listed.
    assert line.endswith("features=rsi,momentum, macro=VIXCLS, params=n_estimators:300")


def test_config_line_is_one_line_of_few_words():
    config = TrialConfig(symbol="SPX", features=["rsi"] * 5).model_dump(mode="json")

    line = config_line(config)

    assert "\n" not in line
    assert len(line.split()) <= 16


def test_config_line_names_a_target_other_than_direction():
    line = config_line({"symbol": "SPX", "target": "large_move"})

    assert line.startswith(
        "random_forest on SPX: source=auto, dates=all, train_ratio=0.8, lookback=20, "
        "target=large_move, horizon=1, "
    )


def test_config_line_of_an_open_ended_date_range():
    line = config_line({"symbol": "SPX", "start": "2010-01-01"})

    assert "dates=2010-01-01..last," in line


def test_feedback_says_the_engines_notes_except_the_synthetic_label_it_already_gave():
    result = {
        **full_result(synthetic=True),
        "notes": [
            "SYNTHETIC DATA: TSLA is not in the offline sample data",
            "'xgboost' is not installed; trained gradient_boosting (same family)",
        ],
    }

    question = format_feedback(result)

    assert question.count("SYNTHETIC DATA") == 1
    assert question.endswith(
        "Note: 'xgboost' is not installed; trained gradient_boosting (same family). "
        "Should we continue, retrain, or switch?"
    )


# --- holdouts and comparisons lead with the verdict ----------------------------------------


def test_a_holdout_reads_its_verdict_and_what_it_could_have_detected():
    final = {
        "look": 1,
        "untouched": True,
        "holdout": {
            "return_test": RETURN_TEST,
            "power": {
                "excess_sharpe": 2.31,
                "excess_return": 0.3,
                "accuracy_points": 7.24,
                "days": 298,
                "tested_days": 298,
            },
        },
    }

    assert holdout_feedback(final) == (
        "Holdout, look 1 (untouched): Long/flat, filled next bar, after 2 bps: excess Sharpe "
        "-0.35 over the best baseline strategy (buy and hold), t -0.70, p-value 0.758: no "
        "significant edge. At 80% power this holdout detects an excess Sharpe of 2.31 or 7.2 "
        "accuracy points; smaller edges cannot be told from luck here."
    )


def test_a_holdout_scored_before_the_return_test_has_no_lead():
    assert holdout_feedback({"look": 1, "untouched": True, "holdout": {"accuracy": 0.52}}) == ""


def test_a_comparison_reads_its_best_trials_verdict_over_every_try():
    comparison = {
        "rank_by": "return_test",
        "compared": 4,
        "tries": 12,
        "best": {"trial": 3, "excess_sharpe": 0.8, "return_t": 1.2, "return_baseline": "cash"},
        "best_return_p_value": 0.115,
        "best_return_p_value_adjusted": 1.0,
    }

    assert comparison_feedback(comparison) == (
        "Best of 4 by return test: trial 3, excess Sharpe 0.80 over the best baseline strategy "
        "(cash) after costs, t 1.20, p-value 0.115, 1.000 adjusted for 12 tries: no "
        "significant edge."
    )


def rank_result() -> dict[str, Any]:
    """The fields of a rank trial's result feedback reads, written out by hand."""
    return {
        "status": "success",
        "model": "lightgbm",
        "symbol": "SP20",
        "selection_accuracy": 0.024,
        "walk_forward_accuracy": 0.027,
        "config": {"symbol": "SP20", "model": "lightgbm", "target": "rank", "universe": "sp20"},
        "baselines": {"best_name": "momentum_12_1", "best_score": 0.039, "p_value": 0.769},
        "return_test": {**RETURN_TEST, "baseline": "momentum_12_1", "excess_sharpe": -0.16},
    }


def test_feedback_on_a_ranking_names_its_portfolio_and_its_rank_ic():
    question = format_feedback(rank_result())

    assert question == (
        "Ran lightgbm on SP20: source=auto, dates=all, train_ratio=0.8, lookback=20, "
        "target=rank, universe=sp20, horizon=1, folds=5, embargo=5, cost_bps=2, seed=42, "
        "execution=next_bar, features=default, macro=none, params=default. "
        "Top fifth long, filled next bar, after 2 bps: excess Sharpe -0.16 over the best "
        "baseline strategy (momentum 12 1), t -0.70, p-value 0.758: no significant edge. "
        "Rank IC +0.024 (walk-forward +0.027); best baseline (momentum 12 1) Rank IC +0.039, "
        "p-value 0.769. Should we continue, retrain, or switch?"
    )
    assert len(question.split()) < 90


def test_a_return_forecasts_baseline_is_read_by_its_out_of_sample_r2():
    result = {
        **rank_result(),
        "config": {"symbol": "SPX", "model": "ridge", "target": "return"},
        "baselines": {"best_name": "historical_mean", "best_score": -0.001, "p_value": 0.195},
    }

    assert "Long/flat, filled next bar" in format_feedback(result)
    assert (
        "IC +0.024 (walk-forward +0.027); best baseline (historical mean) out-of-sample R2 "
        "-0.001, p-value 0.195."
    ) in format_feedback(result)


def test_a_rankings_holdout_says_the_sharpe_it_could_detect_without_accuracy_points():
    final = {
        "look": 1,
        "untouched": True,
        "config": {"symbol": "SP20", "target": "rank", "universe": "sp20"},
        "holdout": {
            "return_test": RETURN_TEST,
            "power": {"excess_sharpe": 0.97, "excess_return": 0.1, "days": 1663, "tested_days": 1},
        },
    }

    assert holdout_feedback(final) == (
        "Holdout, look 1 (untouched): Top fifth long, filled next bar, after 2 bps: excess "
        "Sharpe -0.35 over the best baseline strategy (buy and hold), t -0.70, p-value 0.758: "
        "no significant edge. At 80% power this holdout detects an excess Sharpe of 0.97; "
        "smaller edges cannot be told from luck here."
    )
