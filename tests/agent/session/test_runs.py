"""Resuming a killed session from its transcript, and replaying a recorded one offline.

A kill is simulated by a scripted provider that raises a `BaseException` (as a signal would) at a
given turn: the loop does not catch it, so the transcript ends where the process died and the
ledger holds exactly the trials that ran before it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from mltrainer.agent.messages import AssistantTurn, Message, ToolCall, ToolSpec
from mltrainer.agent.providers import ProviderConfigError, ScriptedProvider
from mltrainer.agent.session.runs import ReplayReport, replay_session, resume_session, start_session
from mltrainer.agent.session.transcript import Transcript, TranscriptError, read_events
from mltrainer.engine.ledger import Ledger
from mltrainer.engine.settings import load_settings

GOAL = "Does anything beat the baseline on SPX?"
SCRIPT = """\
- tool_calls:
    - name: list_symbols
      arguments: {source: sample}
- tool_calls:
    - name: train_model
      arguments: {symbol: SPX, model: logistic_regression, days: 1500, save_model: false}
- tool_calls:
    - name: train_model
      arguments: {symbol: SPX, model: naive_bayes, days: 1500, save_model: false}
- tool_calls:
    - name: finish
      arguments: {conclusion: "Neither model beats the baseline.", best_trial: 1}
"""


class SimulatedKill(BaseException):
    """What a SIGKILL looks like from inside: nothing in the loop handles it."""


class KilledAtTurn(ScriptedProvider):
    """Plays a script, and dies when asked for turn `kill_at` (1-based)."""

    def __init__(self, turns: Sequence[AssistantTurn], kill_at: int) -> None:
        super().__init__(turns)
        self.kill_at = kill_at

    async def complete(
        self,
        *,
        system: str,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        timeout: float | None = None,
    ) -> AssistantTurn:
        if self._next + 1 == self.kill_at:
            raise SimulatedKill
        return await super().complete(system=system, messages=messages, tools=tools)


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "script.yaml"
    path.write_text(SCRIPT, encoding="utf-8")
    return path


async def killed_session(
    script: Path, transcript: Path, kill_at: int, *, name_the_script: bool = True
) -> None:
    provider = KilledAtTurn(ScriptedProvider.from_file(script).turns, kill_at)
    with pytest.raises(SimulatedKill):
        await start_session(
            provider,
            GOAL,
            settings=load_settings(),
            transcript_path=transcript,
            provider_options={"script": str(script)} if name_the_script else None,
        )


def event_names(path: Path) -> list[str]:
    return [e["event"] for e in read_events(path)]


def ledger_models() -> list[str]:
    rows = Ledger(load_settings().db_path).rows()
    return sorted(row.model for row in rows)


# --- resume -------------------------------------------------------------------------------------


async def test_a_killed_transcript_ends_after_the_second_turns_results(
    script: Path, tmp_path: Path
):
    transcript = tmp_path / "s.jsonl"

    await killed_session(script, transcript, kill_at=3)

    assert event_names(transcript) == [
        "session_start",
        "user",
        "assistant",
        "tool_run",
        "tool_results",
        "assistant",
        "tool_run",
        "tool_results",
    ]
    assert ledger_models() == ["logistic_regression"]


async def test_resume_completes_a_killed_session(script: Path, tmp_path: Path):
    transcript = tmp_path / "s.jsonl"
    await killed_session(script, transcript, kill_at=3)

    summary = await resume_session(transcript, settings=load_settings())

    assert summary.reason == "finished"
    assert summary.conclusion == "Neither model beats the baseline."
    assert summary.best_trial == 1
    assert summary.turns == 4
    assert summary.tool_calls == 4


async def test_resume_does_not_rerun_recorded_trials(script: Path, tmp_path: Path):
    transcript = tmp_path / "s.jsonl"
    await killed_session(script, transcript, kill_at=3)

    await resume_session(transcript, settings=load_settings())

    assert ledger_models() == ["logistic_regression", "naive_bayes"]


async def test_resume_summary_includes_trials_from_before_the_kill(script: Path, tmp_path: Path):
    transcript = tmp_path / "s.jsonl"
    await killed_session(script, transcript, kill_at=3)

    summary = await resume_session(transcript, settings=load_settings())

    assert [(t.trial, t.model) for t in summary.trials] == [
        (1, "logistic_regression"),
        (2, "naive_bayes"),
    ]


async def test_resumed_transcript_has_one_session_start_and_a_resumed_event(
    script: Path, tmp_path: Path
):
    transcript = tmp_path / "s.jsonl"
    await killed_session(script, transcript, kill_at=3)

    await resume_session(transcript, settings=load_settings())

    events = read_events(transcript)
    names = [e["event"] for e in events]
    assert names.count("session_start") == 1
    assert names.count("session_end") == 1
    assert names[8:] == [
        "resumed",
        "assistant",
        "tool_run",
        "tool_results",
        "assistant",
        "tool_run",
        "tool_results",
        "session_end",
    ]
    assert events[8]["after_turns"] == 2


async def test_resumed_trials_keep_the_session_id(script: Path, tmp_path: Path):
    transcript = tmp_path / "s.jsonl"
    await killed_session(script, transcript, kill_at=3)

    await resume_session(transcript, settings=load_settings())

    session_id = read_events(transcript)[0]["session_id"]
    assert Ledger(load_settings().db_path).count(session=session_id) == 2


async def test_resume_runs_the_tool_calls_of_a_turn_cut_before_its_results(
    script: Path, tmp_path: Path
):
    transcript = tmp_path / "s.jsonl"
    await killed_session(script, transcript, kill_at=3)
    third_turn = ScriptedProvider.from_file(script).turns[2]
    with Transcript(transcript) as recording:
        recording.write_message(third_turn)

    summary = await resume_session(transcript, settings=load_settings())

    assert summary.reason == "finished"
    assert ledger_models() == ["logistic_regression", "naive_bayes"]
    names = event_names(transcript)
    assert names.count("assistant") == 4
    assert names[8:] == [
        "assistant",
        "resumed",
        "tool_run",
        "tool_results",
        "assistant",
        "tool_run",
        "tool_results",
        "session_end",
    ]


async def test_resume_after_a_torn_last_line_completes(script: Path, tmp_path: Path):
    transcript = tmp_path / "s.jsonl"
    await killed_session(script, transcript, kill_at=3)
    with transcript.open("a", encoding="utf-8") as file:
        file.write('{"v": 1, "ts": "2025-01-01T00:00:00+00:00", "event": "assis')

    summary = await resume_session(transcript, settings=load_settings())

    assert summary.reason == "finished"
    assert ledger_models() == ["logistic_regression", "naive_bayes"]


async def test_resume_after_a_torn_last_line_leaves_a_readable_transcript(
    script: Path, tmp_path: Path
):
    transcript = tmp_path / "s.jsonl"
    await killed_session(script, transcript, kill_at=3)
    with transcript.open("a", encoding="utf-8") as file:
        file.write('{"v": 1, "ts": "2025-01-01T00:00:00+00:00", "event": "assis')

    await resume_session(transcript, settings=load_settings())

    names = event_names(transcript)
    assert names[8] == "resumed"
    assert names[-1] == "session_end"


async def test_resuming_an_ended_session_raises(script: Path, tmp_path: Path):
    transcript = tmp_path / "s.jsonl"
    await start_session(
        ScriptedProvider.from_file(script),
        GOAL,
        settings=load_settings(),
        transcript_path=transcript,
        provider_options={"script": str(script)},
    )

    with pytest.raises(
        TranscriptError, match=r"already ended; start a new session with `mltrainer run`"
    ):
        await resume_session(transcript, settings=load_settings())


async def test_resuming_a_scripted_session_without_its_script_raises(script: Path, tmp_path: Path):
    transcript = tmp_path / "s.jsonl"
    await killed_session(script, transcript, kill_at=3, name_the_script=False)

    with pytest.raises(
        ProviderConfigError, match="the transcript does not name the script it ran from"
    ):
        await resume_session(transcript, settings=load_settings())


async def test_resuming_a_missing_transcript_raises(tmp_path: Path):
    with pytest.raises(TranscriptError, match="no transcript at"):
        await resume_session(tmp_path / "gone.jsonl", settings=load_settings())


# --- replay -------------------------------------------------------------------------------------

CONCLUSION = "Nothing beats the majority-class baseline after adjusting for three tries."


def turn(text: str = "", *calls: tuple[str, str, dict[str, Any]]) -> AssistantTurn:
    tool_calls = tuple(ToolCall(i, name, json.dumps(args)) for i, name, args in calls)
    return AssistantTurn(text, tool_calls, stop_reason="tool_use" if calls else "end_turn")


def demo_like_turns() -> list[AssistantTurn]:
    """Free text and structured calls, parallel training, a bad call, a comparison, finish."""
    fast = {"symbol": "SPX", "days": 1500, "save_model": False}
    return [
        turn("Which data is there?", ("c_symbols", "list_symbols", {"source": "sample"})),
        turn("Train a logistic regression on SPX with an 80/20 split."),
        turn(
            "Two more in parallel.",
            ("c_bayes", "train_model", {**fast, "model": "naive_bayes"}),
            ("c_gbm", "train_model", {**fast, "model": "lightgbm", "params": {"n_estimators": 20}}),
        ),
        turn("A mistake.", ("c_bad", "train_model", {"symbol": "SPX", "train_ratio": 1.5})),
        turn("", ("c_compare", "compare_trials", {})),
        turn("", ("c_finish", "finish", {"conclusion": CONCLUSION, "best_trial": 1})),
    ]


@pytest.fixture
async def recorded(tmp_path: Path) -> Path:
    path = tmp_path / "recorded.jsonl"
    summary = await start_session(
        ScriptedProvider(demo_like_turns()), GOAL, settings=load_settings(), transcript_path=path
    )
    assert summary.reason == "finished"
    return path


def tamper(path: Path, change: Callable[[dict[str, Any]], bool]) -> None:
    """Rewrite the first event for which `change` (editing it in place) returns True."""
    events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert any(change(event) for event in events)
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")


def summary_fields(report: ReplayReport) -> dict[str, Any]:
    s = report.summary
    return {
        "reason": s.reason,
        "finished": s.finished,
        "conclusion": s.conclusion,
        "best_trial": s.best_trial,
        "turns": s.turns,
        "tool_calls": s.tool_calls,
        "trials": [trial.model_dump(mode="json") for trial in s.trials],
    }


async def test_replay_reproduces_the_recorded_summary(recorded: Path):
    end = read_events(recorded)[-1]

    report = await replay_session(recorded, settings=load_settings())

    assert summary_fields(report) == {
        "reason": "finished",
        "finished": True,
        "conclusion": CONCLUSION,
        "best_trial": 1,
        "turns": end["turns"],
        "tool_calls": end["tool_calls"],
        "trials": end["trials"],
    }
    assert (end["turns"], end["tool_calls"], len(end["trials"])) == (6, 7, 3)


async def test_replay_without_check_trains_nothing(recorded: Path):
    report = await replay_session(recorded, settings=load_settings())

    assert report.checked == 0
    assert report.differences == []
    assert Ledger(load_settings().db_path).count() == 3


async def test_replay_writes_a_new_transcript_and_leaves_the_recording_alone(recorded: Path):
    before = recorded.read_text(encoding="utf-8")

    report = await replay_session(recorded, settings=load_settings())

    assert recorded.read_text(encoding="utf-8") == before
    out = report.summary.transcript
    assert out is not None and out != recorded
    assert out.name.startswith("replay-")
    assert read_events(out)[0]["replay_of"] == str(recorded)


async def test_replay_check_reexecutes_every_call_and_finds_no_difference(recorded: Path):
    report = await replay_session(recorded, settings=load_settings(), check=True)

    assert report.summary.reason == "finished"
    assert report.checked == 7
    assert report.differences == []
    assert Ledger(load_settings().db_path).count() == 6


async def test_replay_check_reports_a_tampered_result(recorded: Path):
    def raise_accuracy(event: dict[str, Any]) -> bool:
        if event["event"] == "tool_run" and event["call_id"] == "c_bayes":
            event["payload"]["selection_accuracy"] = 0.99
            return True
        return False

    tamper(recorded, raise_accuracy)

    report = await replay_session(recorded, settings=load_settings(), check=True)

    assert report.differences == ["train_model (c_bayes): differs in selection_accuracy"]


async def test_replay_of_a_tampered_assistant_turn_ends_with_a_provider_error(recorded: Path):
    def change_instruction(event: dict[str, Any]) -> bool:
        if event["event"] == "assistant" and event["text"].startswith("Train a logistic"):
            event["text"] = "Train a naive bayes on SPX with an 80/20 split."
            return True
        return False

    tamper(recorded, change_instruction)

    report = await replay_session(recorded, settings=load_settings())

    assert report.summary.reason.startswith("provider error: replay diverged at turn 3")
    assert report.summary.finished is False


async def test_replay_of_a_resumed_session_finishes(script: Path, tmp_path: Path):
    transcript = tmp_path / "s.jsonl"
    await killed_session(script, transcript, kill_at=3)
    await resume_session(transcript, settings=load_settings())

    report = await replay_session(transcript, settings=load_settings())

    assert report.summary.reason == "finished"
    assert [t.model for t in report.summary.trials] == ["logistic_regression", "naive_bayes"]


async def test_replay_of_a_free_text_instruction_that_failed_validation(tmp_path: Path):
    path = tmp_path / "recorded.jsonl"
    await start_session(
        ScriptedProvider(
            [
                turn("Train a logistic regression on SPX with a 99% train ratio."),
                turn("", ("c_finish", "finish", {"conclusion": CONCLUSION})),
            ]
        ),
        GOAL,
        settings=load_settings(),
        transcript_path=path,
    )

    report = await replay_session(path, settings=load_settings())

    assert report.summary.reason == "finished"


async def test_replaying_a_missing_transcript_raises(tmp_path: Path):
    with pytest.raises(TranscriptError, match="no transcript at"):
        await replay_session(tmp_path / "gone.jsonl", settings=load_settings())


async def test_resume_replays_recorded_runs_of_a_turn_cut_before_its_results(
    script: Path, tmp_path: Path
):
    transcript = tmp_path / "s.jsonl"
    await killed_session(script, transcript, kill_at=3)
    lines = transcript.read_text(encoding="utf-8").splitlines(keepends=True)
    # Drop the second turn's results message but keep its recorded run: killed in between.
    assert json.loads(lines[-1])["event"] == "tool_results"
    transcript.write_text("".join(lines[:-1]), encoding="utf-8")

    summary = await resume_session(transcript, settings=load_settings())

    assert summary.reason == "finished"
    assert ledger_models() == ["logistic_regression", "naive_bayes"]
    names = event_names(transcript)
    assert names[7:10] == ["resumed", "tool_results", "assistant"]
    assert names.count("tool_run") == 4


async def test_a_session_id_that_is_not_a_safe_name_is_refused_before_anything_is_written():
    from mltrainer.engine.paths import UnsafeNameError

    settings = load_settings()
    provider = ScriptedProvider([AssistantTurn(text="done")])

    with pytest.raises(UnsafeNameError, match=r"session id '\.\./escaped' is not a safe name"):
        await start_session(provider, "g", settings=settings, session_id="../escaped")

    assert not (settings.home / "escaped.jsonl").exists()
