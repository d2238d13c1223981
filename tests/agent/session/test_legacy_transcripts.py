"""Transcripts written before the agent was reorganised (typed results, registries, the target
seam) still replay and resume. The fixtures in `tests/fixtures/transcripts_v1/` were recorded
at 91524db: `mltrainer demo`, and a scripted session (`all_tools.yaml`) that calls every
built-in tool, makes three bad calls and asks for a model that does not exist."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mltrainer.agent.session.resume import ProviderRequest
from mltrainer.agent.session.runs import replay_session, resume_session
from mltrainer.agent.session.transcript import read_events, recorded_output
from mltrainer.engine.results import BarsSummary, Comparison, Evaluation, SeriesSummary
from mltrainer.engine.settings import load_settings
from mltrainer.engine.trial import ErrorResult, FinalResult, TrialResult
from mltrainer.tools.results import Conclusion, ModelList, SourceList, SweepResult, SymbolList, dump

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "transcripts_v1"
RECORDED_CLASSES = {
    "demo.jsonl": [
        ("call_1", SymbolList),
        ("text_2", TrialResult),
        ("call_2", TrialResult),
        ("call_3", TrialResult),
        ("call_4", ErrorResult),
        ("text_5", TrialResult),
        ("call_5", Comparison),
        ("call_6", FinalResult),
        ("call_7", Conclusion),
    ],
    "all_tools.jsonl": [
        ("call_1", SourceList),
        ("call_2", SymbolList),
        ("call_3", ModelList),
        ("call_5", SeriesSummary),
        ("call_4", BarsSummary),
        ("text_3", TrialResult),
        ("text_4", TrialResult),
        ("call_6", SweepResult),
        ("call_7", ErrorResult),
        ("call_8", ErrorResult),
        ("call_9", ErrorResult),
        ("call_10", Evaluation),
        ("call_11", Comparison),
        ("call_12", FinalResult),
        ("call_13", Conclusion),
    ],
}


@pytest.mark.parametrize("name", sorted(RECORDED_CLASSES))
def test_every_recorded_result_reads_back_as_its_class(name):
    runs = [e for e in read_events(FIXTURES / name) if e["event"] == "tool_run"]

    read = [(run["call_id"], type(recorded_output(run))) for run in runs]

    assert read == RECORDED_CLASSES[name]


@pytest.mark.parametrize("name", sorted(RECORDED_CLASSES))
def test_every_recorded_result_dumps_back_to_the_json_it_was_read_from(name):
    # Key order included: a transcript written now has the shape of one written then.
    for run in (e for e in read_events(FIXTURES / name) if e["event"] == "tool_run"):
        dumped = json.dumps(dump(recorded_output(run)))

        assert dumped == json.dumps(run["payload"]), run["call_id"]


@pytest.mark.parametrize(
    ("name", "trials", "finalized", "tool_calls"),
    [("demo.jsonl", 4, 1, 9), ("all_tools.jsonl", 4, 1, 15)],
)
async def test_a_transcript_from_before_replays_with_its_recorded_results(
    name, trials, finalized, tool_calls
):
    report = await replay_session(FIXTURES / name, settings=load_settings())

    assert report.summary.finished
    assert report.summary.tool_calls == tool_calls
    assert [t.trial for t in report.summary.trials] == list(range(1, trials + 1))
    assert len(report.summary.finalized) == finalized
    assert report.summary.finalized[0].trial == 1
    assert report.summary.finalized[0].untouched is True


def _cut_after_tool_runs(source: Path, target: Path, runs: int) -> None:
    """The transcript as a kill would leave it: everything up to the `runs`-th tool run."""
    kept, seen = [], 0
    for line in source.read_text(encoding="utf-8").splitlines(keepends=True):
        kept.append(line)
        seen += '"event": "tool_run"' in line
        if seen == runs:
            break
    target.write_text("".join(kept), encoding="utf-8")


async def test_a_transcript_from_before_resumes_after_a_kill(tmp_path):
    # Killed after the second fetch_data run was recorded, before its turn was answered: the
    # resumed session answers that turn from the recording and plays the rest of the script,
    # training again in this (empty) data home.
    transcript = tmp_path / "killed.jsonl"
    _cut_after_tool_runs(FIXTURES / "all_tools.jsonl", transcript, runs=5)
    script = tmp_path / "all_tools.yaml"
    shutil.copy(FIXTURES / "all_tools.yaml", script)

    summary = await resume_session(
        transcript, settings=load_settings(), request=ProviderRequest(script=script)
    )

    assert summary.finished, summary.reason
    assert summary.conclusion == "Nothing beat the baseline on the holdout."
    events = read_events(transcript)
    runs = [e for e in events if e["event"] == "tool_run"]
    assert [(r["name"], r["is_error"]) for r in runs[5:]] == [
        ("train_model", False),
        ("train_model", False),
        ("sweep", False),
        ("train_model", True),
        ("train_model", True),
        ("no_such_tool", True),
        ("evaluate_trial", False),
        ("compare_trials", False),
        ("finalize", False),
        ("finish", False),
    ]
    # The sweep's two trials are numbered as their parallel fits finish.
    assert sorted(t.trial for t in summary.trials) == [1, 2, 3, 4]
    assert events[-1]["event"] == "session_end"
