"""The tools' results: one adapter reads any recorded payload back as its class (a plugin's dict
as a plain result), `dump` writes it out as it was, and what the rest of the package asks of a
result (did it fail, which trials it reports, what it concluded) is answered by its class."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from mltrainer.engine.results import TrialSummary
from mltrainer.engine.trial import ErrorResult, FinalResult, TrialResult
from mltrainer.tools.results import (
    Conclusion,
    GridFailure,
    PlainResult,
    PluginResult,
    SweepFailed,
    SweepResult,
    SymbolList,
    ToolOutput,
    as_output,
    conclusion_of,
    dump,
    error_message,
    failed,
    read_output,
    trials_in,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "transcripts_v1"


def recorded(name: str, call_id: str) -> dict[str, Any]:
    """The payload a transcript of `tests/fixtures/transcripts_v1` recorded for `call_id`."""
    for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if event["event"] == "tool_run" and event["call_id"] == call_id:
            payload: dict[str, Any] = event["payload"]
            return payload
    raise AssertionError(f"no tool run {call_id} in {name}")


TRIAL = recorded("demo.jsonl", "call_2")
SWEEP = recorded("all_tools.jsonl", "call_6")
FINAL = recorded("demo.jsonl", "call_6")
FINISHED = recorded("all_tools.jsonl", "call_13")


# --- reading JSON back -----------------------------------------------------------------------


def test_a_recorded_trial_reads_back_as_a_trial_result():
    trial = read_output(TRIAL)

    assert isinstance(trial, TrialResult)
    assert (trial.trial, trial.model, trial.symbol) == (2, "lightgbm", "SPX")


def test_a_plugins_dict_reads_as_a_plain_result_and_dumps_as_it_was():
    payload = {"status": "success", "type": "cost_drag", "yearly_drag": 0.05}

    output = read_output(payload)

    assert isinstance(output, PlainResult)
    assert json.dumps(dump(output)) == json.dumps(payload)


def test_an_error_of_the_engines_shape_is_an_error_result():
    payload = {"status": "error", "type": "fetch_failed", "error": "no ZZZ", "error_type": "E"}

    assert read_output(payload) == ErrorResult(type="fetch_failed", error="no ZZZ", error_type="E")


def test_an_error_without_an_exception_behind_it_dumps_without_error_type():
    payload = {"status": "error", "type": "invalid_call", "error": "train_model: symbol: missing"}

    output = read_output(payload)

    assert isinstance(output, ErrorResult)
    assert dump(output) == payload


def test_an_error_with_keys_of_its_own_stays_a_plugins_plain_result():
    payload = {"status": "error", "type": "roll_failed", "error": "no die", "hint": "add one"}

    output = read_output(payload)

    assert isinstance(output, PlainResult)
    assert dump(output) == payload
    assert failed(output) is True


def test_a_sweep_of_which_nothing_trained_is_a_sweep_failure_with_its_grid_points():
    payload = {
        "status": "error",
        "type": "sweep_failed",
        "error": "no configuration of the grid could be trained: too few rows",
        "errors": [{"days": 100, "error": "too few rows"}],
    }

    output = read_output(payload)

    assert output == SweepFailed(
        error="no configuration of the grid could be trained: too few rows",
        errors=[GridFailure(varied={"days": 100}, error="too few rows")],
    )
    assert dump(output) == payload


def test_a_built_in_kind_with_a_wrong_shape_is_refused_naming_the_field():
    with pytest.raises(ValidationError, match=r"symbols\.0\.symbol"):
        read_output({"status": "success", "type": "symbols", "symbols": [{"source": "sample"}]})


def test_a_payload_that_is_not_an_object_is_refused():
    with pytest.raises(ValidationError, match="Unable to extract tag"):
        read_output([1, 2])  # type: ignore[arg-type]


def test_a_handlers_model_is_kept_and_its_dict_is_read():
    listed = SymbolList(symbols=[])

    assert as_output(listed) is listed
    assert as_output({"status": "success", "value": 5}) == PlainResult(status="success", value=5)


# --- writing JSON out ------------------------------------------------------------------------


def test_a_sweeps_rows_lead_with_the_values_the_grid_varied():
    sweep = read_output(SWEEP)
    assert isinstance(sweep, SweepResult)
    row = sweep.rows[0].model_copy(update={"varied": {"model": "naive_bayes", "lookback": 10}})

    dumped = row.model_dump()

    assert list(dumped)[:4] == ["model", "lookback", "trial", "model_id"]
    assert dumped["model"] == row.model


def test_a_conclusion_without_a_note_has_none_in_its_json():
    conclusion = Conclusion(conclusion="No edge.", best_trial=None, finalized=[])

    assert dump(conclusion) == {
        "status": "success",
        "type": "finished",
        "conclusion": "No edge.",
        "best_trial": None,
        "finalized": [],
    }


# --- what a result says ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (ErrorResult(type="budget", error="spent"), True),
        (PlainResult(status="error", error="boom"), True),
        (PlainResult(value=1), False),
        (SymbolList(symbols=[]), False),
    ],
)
def test_failed_is_true_for_errors_only(output: ToolOutput, expected: bool):
    assert failed(output) is expected


def test_an_errors_message_is_what_it_says_went_wrong():
    assert error_message(ErrorResult(type="budget", error="spent")) == "spent"
    assert error_message(PlainResult(status="error")) is None


def test_a_trial_reports_itself_as_one_row():
    trial = read_output(TRIAL)
    assert isinstance(trial, TrialResult)

    assert trials_in(trial) == [TrialSummary.of(trial)]


def test_a_sweep_reports_its_rows_and_other_results_report_none():
    sweep = read_output(SWEEP)
    assert isinstance(sweep, SweepResult)

    assert [row.trial for row in trials_in(sweep)] == [3, 4]
    assert trials_in(read_output(FINAL)) == []
    assert trials_in(PlainResult(trial=9)) == []


def test_a_conclusion_is_read_from_finish_or_from_a_plugins_result():
    class Verdict(PluginResult):
        conclusion: str
        best_trial: int | None = None

    assert conclusion_of(read_output(FINISHED)) == (
        "Nothing beat the baseline on the holdout.",
        1,
    )
    assert conclusion_of(PlainResult(conclusion="no edge", best_trial=2)) == ("no edge", 2)
    assert conclusion_of(Verdict(conclusion="edge", best_trial=3)) == ("edge", 3)
    assert conclusion_of(read_output(FINAL)) == ("", None)


def test_a_finalized_result_keeps_its_holdout_look():
    final = read_output(FINAL)

    assert isinstance(final, FinalResult)
    assert (final.trial, final.look, final.untouched) == (1, 1, True)
