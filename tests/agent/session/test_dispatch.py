"""Tool dispatch: bad calls become error results that say what to fix, good calls run for real on
the engine (in parallel), and only a tool that keeps failing exhausts its retry budget."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mltrainer.agent.messages import ToolCall
from mltrainer.agent.session.dispatch import LiveExecutor, stable_payload
from mltrainer.agent.session.progress import ToolEnded, ToolEvent, ToolProgress, ToolStarted
from mltrainer.engine.ledger import Ledger
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import load_settings
from mltrainer.engine.trial import ErrorResult, TrialResult
from mltrainer.tools.research import ListSymbols
from mltrainer.tools.results import Conclusion, SourceList, dump

FAST_TRIAL = {"symbol": "SPX", "model": "naive_bayes", "days": 1500, "save_model": False}


@pytest.fixture
def engine() -> ResearchService:
    return ResearchService(load_settings(), session="dispatch-test")


@pytest.fixture
def executor(engine: ResearchService) -> LiveExecutor:
    return LiveExecutor(engine, retries_per_tool=3)


def call(name: str, arguments: dict[str, Any] | str, call_id: str = "call_1") -> ToolCall:
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return ToolCall(call_id, name, raw)


# --- bad calls become error results -------------------------------------------------------------


async def test_malformed_json_is_an_error_result_saying_what_to_fix(executor: LiveExecutor):
    report = await executor.execute([call("train_model", '{"symbol": "SPX", ')])

    result = report.runs[0].result
    assert result.is_error is True
    assert result.call_id == "call_1"
    assert result.content == (
        "ERROR: train_model: arguments are not valid JSON (Expecting property name enclosed in "
        'double quotes at position 18); send one JSON object, e.g. {"symbol": "..."}. '
        "Fix the call and try again (3 retries left)."
    )
    assert report.runs[0].output == ErrorResult(
        type="invalid_call",
        error="train_model: arguments are not valid JSON (Expecting property name enclosed in "
        'double quotes at position 18); send one JSON object, e.g. {"symbol": "..."}',
    )
    assert report.exhausted is None


async def test_unknown_tool_is_an_error_result_listing_the_tools(executor: LiveExecutor):
    report = await executor.execute([call("train", {"symbol": "SPX"})])

    result = report.runs[0].result
    assert result.is_error is True
    assert result.content == (
        "ERROR: unknown tool 'train'; tools are list_sources, list_symbols, list_models, "
        "fetch_data, train_model, sweep, evaluate_trial, compare_trials, finalize, finish. "
        "Fix the call and try again (3 retries left)."
    )


async def test_wrong_type_is_an_error_result_naming_the_field(executor: LiveExecutor):
    report = await executor.execute([call("train_model", {"symbol": "SPX", "lookback": "long"})])

    result = report.runs[0].result
    assert result.is_error is True
    assert "lookback: Input should be a valid integer" in result.content
    assert "(got 'long')" in result.content
    assert result.content.endswith("Fix the call and try again (3 retries left).")


async def test_out_of_bounds_value_is_an_error_result_naming_the_bound(executor: LiveExecutor):
    report = await executor.execute([call("train_model", {"symbol": "SPX", "train_ratio": 1.5})])

    result = report.runs[0].result
    assert result.is_error is True
    assert result.content == (
        "ERROR: train_model: train_ratio: Input should be less than or equal to 0.95 (got 1.5). "
        "Fix the call and try again (3 retries left)."
    )


async def test_unknown_argument_is_an_error_result(executor: LiveExecutor):
    report = await executor.execute([call("train_model", {"symbol": "SPX", "colour": "red"})])

    assert report.runs[0].result.content == (
        "ERROR: train_model: colour: Extra inputs are not permitted (got 'red'). "
        "Fix the call and try again (3 retries left)."
    )


async def test_engine_failure_is_an_error_result_with_the_engine_message(
    executor: LiveExecutor,
):
    report = await executor.execute(
        [call("train_model", {**FAST_TRIAL, "model": "lightgbm", "params": {"n_estimators": -5}})]
    )

    result = report.runs[0].result
    assert result.is_error is True
    assert result.content == (
        "ERROR from train_model: lightgbm.n_estimators=-5 is out of bounds; allowed 1 to 2000"
    )


async def test_invalid_calls_record_no_trial(executor: LiveExecutor, engine: ResearchService):
    await executor.execute([call("train_model", {"symbol": "SPX", "train_ratio": 1.5})])

    assert engine.ledger.count() == 0


# --- retry budget -------------------------------------------------------------------------------


async def test_retries_left_count_down_with_each_failure(executor: LiveExecutor):
    contents = []
    for _ in range(3):
        report = await executor.execute([call("list_symbols", {"source": "nasdaq"})])
        contents.append(report.runs[0].result.content)

    assert [c[-len("(3 retries left).") :] for c in contents] == [
        "(3 retries left).",
        "(2 retries left).",
        "(1 retries left).",
    ]


async def test_failing_more_than_retries_per_tool_times_in_a_row_exhausts(engine: ResearchService):
    executor = LiveExecutor(engine, retries_per_tool=2)
    exhausted = []
    for _ in range(3):
        report = await executor.execute([call("list_symbols", {"source": "nasdaq"})])
        exhausted.append(report.exhausted)

    assert exhausted == [None, None, "tool 'list_symbols' failed 3 times in a row"]


async def test_a_success_resets_the_failure_count(engine: ResearchService):
    executor = LiveExecutor(engine, retries_per_tool=2)
    bad, good = {"source": "nasdaq"}, {"source": "sample"}
    exhausted = []
    for arguments in (bad, bad, good, bad, bad):
        report = await executor.execute([call("list_symbols", arguments)])
        exhausted.append(report.exhausted)

    assert exhausted == [None, None, None, None, None]


async def test_failures_count_per_tool(engine: ResearchService):
    executor = LiveExecutor(engine, retries_per_tool=2)
    exhausted = []
    for name in ("list_symbols", "fetch_data", "list_symbols", "fetch_data"):
        report = await executor.execute([call(name, {"source": "nasdaq"})])
        exhausted.append(report.exhausted)

    assert exhausted == [None, None, None, None]


# --- good calls ---------------------------------------------------------------------------------


async def test_two_parallel_train_model_calls_both_run(
    executor: LiveExecutor, engine: ResearchService
):
    report = await executor.execute(
        [
            call("train_model", FAST_TRIAL, "call_a"),
            call("train_model", {**FAST_TRIAL, "model": "logistic_regression"}, "call_b"),
        ]
    )

    assert [run.result.call_id for run in report.runs] == ["call_a", "call_b"]
    assert [run.result.is_error for run in report.runs] == [False, False]
    outputs = [run.output for run in report.runs]
    assert all(isinstance(output, TrialResult) for output in outputs)
    assert [getattr(output, "model", None) for output in outputs] == [
        "naive_bayes",
        "logistic_regression",
    ]
    assert sorted(getattr(output, "trial", 0) for output in outputs) == [1, 2]
    assert Ledger(engine.settings.db_path).count(session="dispatch-test") == 2


async def test_arguments_are_recorded_with_defaults_filled_in(executor: LiveExecutor):
    report = await executor.execute([call("list_symbols", {})])

    assert report.runs[0].arguments == ListSymbols(source="sample")
    assert report.runs[0].event()["arguments"] == {"source": "sample"}


async def test_finish_sets_the_conclusion(executor: LiveExecutor):
    report = await executor.execute(
        [call("finish", {"conclusion": "No edge after costs.", "best_trial": 2})]
    )

    assert report.conclusion == Conclusion(
        conclusion="No edge after costs.",
        best_trial=2,
        finalized=[],
        note="no trial was finalized, so this conclusion rests on selection numbers, which "
        "are optimistic after many tries",
    )
    assert report.exhausted is None


async def test_an_invalid_finish_sets_no_conclusion(executor: LiveExecutor):
    report = await executor.execute([call("finish", {"conclusion": ""})])

    assert report.conclusion is None
    assert report.runs[0].result.is_error is True


async def test_progress_hook_sees_start_and_end_of_each_call(engine: ResearchService):
    seen: list[ToolEvent] = []
    executor = LiveExecutor(engine, progress=seen.append)

    await executor.execute([call("list_sources", {})])

    started, ended = seen
    assert isinstance(started, ToolStarted)
    assert (started.name, started.call_id, started.label) == (
        "list_sources",
        "call_1",
        "running list_sources",
    )
    assert isinstance(ended, ToolEnded)
    assert (ended.name, ended.call_id) == ("list_sources", "call_1")
    assert isinstance(ended.output, SourceList)


async def test_progress_hook_hears_each_walk_forward_fold_of_a_training_call(
    engine: ResearchService,
):
    seen: list[ToolEvent] = []
    executor = LiveExecutor(engine, progress=seen.append)

    await executor.execute([call("train_model", {**FAST_TRIAL, "folds": 3})])

    steps = [
        (e.label, e.stage, e.done, e.total, e.call_id) for e in seen if isinstance(e, ToolProgress)
    ]
    assert steps == [
        ("training naive_bayes on SPX", "walk-forward fold", 1, 3, "call_1"),
        ("training naive_bayes on SPX", "walk-forward fold", 2, 3, "call_1"),
        ("training naive_bayes on SPX", "walk-forward fold", 3, 3, "call_1"),
        ("training naive_bayes on SPX", "final fit", 1, 1, "call_1"),
    ]
    assert [e.kind for e in (seen[0], seen[-1])] == ["start", "end"]


# --- what the model reads -----------------------------------------------------------------------


async def test_the_model_reads_a_trained_trial_as_its_tool_says(executor: LiveExecutor):
    report = await executor.execute([call("train_model", FAST_TRIAL)])
    trained = report.runs[0].output

    assert isinstance(trained, TrialResult)
    content = report.runs[0].result.content
    assert content.startswith(f"Trial 1 ({trained.model_id}). Ran naive_bayes on SPX: ")
    assert f"Selection accuracy {trained.selection_accuracy:.1%}" in content
    assert content.endswith("continue, retrain, or switch?")


async def test_the_transcript_line_carries_the_result_as_json(executor: LiveExecutor):
    report = await executor.execute([call("list_sources", {})])
    run = report.runs[0]

    event = run.event()
    assert event["payload"] == dump(run.output)
    assert event["payload"]["type"] == "sources"
    assert [s["name"] for s in event["payload"]["sources"]] == [
        "sample",
        "synthetic",
        "polygon",
        "fred",
        "sp20",
        "csv",
    ]


def test_stable_payload_drops_run_specific_fields_at_any_depth():
    payload = {
        "trial": 3,
        "model_id": "SPX-lightgbm-1",
        "timings": {"total": 1.0},
        "provenance": {"fetched_at": "now", "rows": 5},
        "trials": [{"trial": 1, "test_accuracy": 0.5}],
    }

    assert stable_payload(payload) == {
        "model_id": "SPX-lightgbm-1",
        "provenance": {"rows": 5},
        "trials": [{"test_accuracy": 0.5}],
    }


async def test_a_crashing_tool_becomes_an_error_result_and_counts_against_the_budget(
    engine: ResearchService,
):
    from pydantic import BaseModel

    from mltrainer.tools import Tool

    class NoArgs(BaseModel):
        """Always fails."""

    def crash(_engine: ResearchService, _args: NoArgs) -> dict[str, Any]:
        raise RuntimeError("disk on fire")

    executor = LiveExecutor(
        engine, retries_per_tool=0, tools={"crash": Tool("crash", NoArgs, crash)}
    )
    report = await executor.execute([call("crash", {})])

    result = report.runs[0].result
    assert result.is_error is True
    assert result.content == (
        "ERROR from crash: crash failed unexpectedly: RuntimeError: disk on fire"
    )
    assert report.exhausted == "tool 'crash' failed 1 times in a row"
