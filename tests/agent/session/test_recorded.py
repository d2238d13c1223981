"""What a replay check compares and how it reports it: diffs of payloads, the datasets a
recording names, and trial numbers translated to the ones the re-execution made."""

from __future__ import annotations

import json

from mltrainer.agent.messages import ToolCall, ToolResult
from mltrainer.agent.session.dispatch import ToolRun
from mltrainer.agent.session.recorded import RecordedExecutor, difference, recorded_datasets
from mltrainer.tools.results import PlainResult


def run(call_id: str, **payload: object) -> ToolRun:
    return ToolRun(ToolResult(call_id, "plugin", "", False), PlainResult(**payload), 0.0)


def test_a_difference_names_the_fields_that_differ():
    found = difference(ToolCall("c1", "train_model", "{}"), {"a": 1, "b": 2}, {"a": 1, "b": 3})

    assert str(found) == "train_model (c1): differs in b"


def test_a_difference_is_a_unified_diff_of_the_payloads_recorded_first():
    found = difference(ToolCall("c1", "train_model", "{}"), {"a": 1, "b": 2}, {"a": 1, "b": 3})

    assert found.diff == (
        "--- recorded",
        "+++ re-executed",
        "@@ -1,4 +1,4 @@",
        " {",
        '   "a": 1,',
        '-  "b": 2',
        '+  "b": 3',
        " }",
    )


def test_run_specific_fields_make_no_difference():
    found = difference(
        ToolCall("c1", "train_model", "{}"), {"trial": 3, "a": 1}, {"trial": 7, "a": 2}
    )

    assert found.fields == ("a",)
    assert not any("trial" in line for line in found.diff)


def test_the_datasets_a_recording_names_are_found_at_any_depth():
    runs = {
        "c1": run("c1", dataset={"key": "sample:SPX:bars", "rows": 10}),
        "c2": run("c2", finalized=[{"dataset": "polygon:AAPL:bars"}]),
        "c3": run("c3", note="no dataset here"),
    }

    assert recorded_datasets(runs) == {"sample:SPX:bars", "polygon:AAPL:bars"}


def test_a_call_naming_recorded_trials_is_sent_with_the_re_executed_numbers():
    executor = RecordedExecutor(runs={}, results={}, trial_numbers={2: 1, 3: 2})

    compare = executor.translated(ToolCall("c1", "compare_trials", '{"trials": [2, 3, 9]}'))
    final = executor.translated(ToolCall("c2", "finalize", '{"trial": 3, "rank_by": "sharpe"}'))

    assert json.loads(compare.arguments) == {"trials": [1, 2, 9]}
    assert json.loads(final.arguments) == {"trial": 2, "rank_by": "sharpe"}


def test_a_call_naming_no_trial_is_sent_as_recorded():
    executor = RecordedExecutor(runs={}, results={}, trial_numbers={2: 1})
    call = ToolCall("c1", "finalize", "{}")

    assert executor.translated(call) is call
