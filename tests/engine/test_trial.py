"""What a trial's results say about failure: an expected exception becomes an `ErrorResult`
naming what failed, and an error with no exception behind it has no `error_type` in its JSON."""

from __future__ import annotations

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
