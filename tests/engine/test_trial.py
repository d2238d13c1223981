"""A trial's configuration (symbol or universe, for the target it names) and what its results
say about failure: an expected exception becomes an `ErrorResult` naming what failed, and an
error with no exception behind it has no `error_type` in its JSON."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mltrainer.engine.errors import ConfigError
from mltrainer.engine.trial import ErrorResult, TrialConfig


def test_an_expected_exception_is_an_error_result_naming_its_class():
    error = ErrorResult.of(ConfigError("no recorded trial '42'"), "evaluate_failed")

    assert error.model_dump() == {
        "status": "error",
        "type": "evaluate_failed",
        "error": "no recorded trial '42'",
        "error_type": "ConfigError",
    }


def test_a_validation_error_reads_one_line_per_problem():
    try:
        TrialConfig(symbol="SPX", lookback=1, horizon=0)
    except ValidationError as raised:
        error = ErrorResult.of(raised)

    assert error.type == "training_failed"
    assert error.error == (
        "lookback: Input should be greater than or equal to 2 (got 1); "
        "horizon: Input should be greater than or equal to 1 (got 0)"
    )


def test_an_error_without_an_exception_has_no_error_type_in_its_json():
    error = ErrorResult(type="budget", error="the session's tool-call budget is spent")

    assert error.model_dump(mode="json") == {
        "status": "error",
        "type": "budget",
        "error": "the session's tool-call budget is spent",
    }


# --- targets and universes ---------------------------------------------------------------------


def test_a_rank_trial_names_a_universe_whose_label_stands_for_the_symbol() -> None:
    named = TrialConfig(target="rank", universe="SP20")
    listed = TrialConfig(target="rank", universe=["aapl", "msft", "jpm", "ko", "xom"])

    assert (named.universe, named.symbol) == ("sp20", "SP20")
    assert listed.universe == ["AAPL", "MSFT", "JPM", "KO", "XOM"]
    assert listed.symbol.startswith("LIST")
    assert TrialConfig.model_validate(named.model_dump(mode="json")) == named


def test_a_direction_configuration_reads_as_before_without_a_universe() -> None:
    assert TrialConfig(symbol="SPX").model_dump(mode="json").keys() >= {"symbol", "model"}
    assert "universe" not in TrialConfig(symbol="SPX").model_dump(mode="json")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "Field required: a ticker such as MSFT or SPX"),
        ({"target": "rank"}, "target 'rank' ranks a universe each date: give universe"),
        ({"symbol": "SPX", "universe": "sp20"}, "universe is for a target that ranks stocks"),
        ({"target": "rank", "universe": "sp500"}, "Input should be 'sp20'"),
        ({"target": "rank", "universe": ["AAPL", "MSFT"]}, "needs 5 to 500 symbols to rank; got 2"),
        (
            {"target": "rank", "universe": ["AAPL", "AAPL", "MSFT", "KO", "JPM"]},
            r"lists \['AAPL'\] more than once",
        ),
        (
            {"target": "rank", "universe": "sp20", "symbol": "AAPL"},
            "ranks the universe SP20, not the symbol AAPL",
        ),
        (
            {"target": "rank", "universe": "sp20", "macro": ["VIXCLS"]},
            "macro series are the same for every stock on a date",
        ),
    ],
)
def test_a_trial_that_mixes_up_symbol_and_universe_is_refused(fields, message) -> None:
    with pytest.raises(ValidationError, match=message):
        TrialConfig.model_validate(fields)


def test_a_config_without_a_file_leaves_path_out_of_its_json():
    assert "path" not in TrialConfig(symbol="SPX").model_dump(mode="json")


def test_a_file_path_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    config = TrialConfig(symbol="MINE", source="csv", path="mine.csv")

    assert config.path == str(tmp_path / "mine.csv")


def test_a_file_source_needs_a_path_and_a_path_needs_a_file_source():
    with pytest.raises(ValidationError, match="source 'csv' reads bars from a file: give its path"):
        TrialConfig(symbol="MINE", source="csv")
    with pytest.raises(ValidationError, match=r"path names a file for a source that reads files"):
        TrialConfig(symbol="SPX", path="/data/spx.csv")


def test_a_path_that_is_not_a_bars_file_is_refused():
    with pytest.raises(ValidationError, match=r"path\n.*must name a bars file ending in .csv"):
        TrialConfig(symbol="MINE", source="csv", path="/home/me/.env")
