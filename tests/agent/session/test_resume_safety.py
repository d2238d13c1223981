"""Resuming after a kill at the awkward moments: between a `finish` result and the session's
end, in the middle of a turn's parallel calls, while another process holds the transcript,
and after Ctrl-C. Nothing is asked of the model or trained twice."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from mltrainer.agent.messages import AssistantTurn, Message, ToolCall, ToolSpec
from mltrainer.agent.providers import ScriptedProvider
from mltrainer.agent.session.resume import ProviderRequest
from mltrainer.agent.session.runs import resume_session, start_session
from mltrainer.agent.session.transcript import Transcript, TranscriptError, read_events
from mltrainer.engine.ledger import Ledger
from mltrainer.engine.settings import load_settings

GOAL = "Does anything beat the baseline on SPX?"
SCRIPT = """\
- tool_calls:
    - name: train_model
      arguments: {symbol: SPX, model: logistic_regression, days: 1500, save_model: false}
    - name: train_model
      arguments: {symbol: SPX, model: naive_bayes, days: 1500, save_model: false}
- tool_calls:
    - name: finish
      arguments: {conclusion: "Neither beats the baseline.", best_trial: 1}
"""


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "script.yaml"
    path.write_text(SCRIPT, encoding="utf-8")
    return path


async def finished_session(script: Path, transcript: Path) -> None:
    summary = await start_session(
        ScriptedProvider.from_file(script),
        GOAL,
        settings=load_settings(),
        transcript_path=transcript,
        provider_options={"script": str(script)},
    )
    assert summary.reason == "finished"


def cut_after(path: Path, keep: int) -> None:
    """The transcript as a kill after its first `keep` lines would leave it."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines[:keep]), encoding="utf-8")


def line_of(path: Path, event: str, nth: int = 1) -> int:
    """1-based line number of the nth `event` line."""
    seen = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if json.loads(line)["event"] == event:
            seen += 1
            if seen == nth:
                return number
    raise AssertionError(f"no {event} #{nth}")


def trials() -> int:
    return Ledger(load_settings().db_path).count()


# --- a finish that ran closes the session --------------------------------------------------------


@pytest.mark.parametrize("kill_before", ["tool_results", "session_end"])
async def test_a_session_whose_finish_ran_is_closed_without_asking_the_model(
    script: Path, tmp_path: Path, kill_before: str
) -> None:
    transcript = tmp_path / "s.jsonl"
    await finished_session(script, transcript)
    finish_run = line_of(transcript, "tool_run", 3)
    cut_after(transcript, finish_run if kill_before == "tool_results" else finish_run + 1)
    before = trials()

    summary = await resume_session(
        transcript, settings=load_settings(), request=ProviderRequest(script=script)
    )

    assert summary.reason == "finished"
    assert summary.conclusion == "Neither beats the baseline."
    assert summary.best_trial == 1
    assert trials() == before
    names = [e["event"] for e in read_events(transcript)]
    assert names[-1] == "session_end"
    assert names.count("tool_results") == 2
    assert names.count("assistant") == 2


# --- parallel calls: the ones that finished are not run again ------------------------------------


async def test_calls_recorded_before_a_kill_mid_turn_are_answered_from_the_recording(
    script: Path, tmp_path: Path
) -> None:
    transcript = tmp_path / "s.jsonl"
    await finished_session(script, transcript)
    first_run = read_events(transcript)[line_of(transcript, "tool_run") - 1]
    cut_after(transcript, line_of(transcript, "tool_run"))
    before = trials()

    summary = await resume_session(
        transcript, settings=load_settings(), request=ProviderRequest(script=script)
    )

    assert summary.reason == "finished"
    runs = [e for e in read_events(transcript) if e["event"] == "tool_run"]
    assert [e["call_id"] for e in runs].count(first_run["call_id"]) == 1
    # The call whose run was lost had committed its trial before the kill: the ledger knows it
    # by (session, call id) and hands it back instead of training again.
    assert trials() == before == 2
    results = next(e for e in read_events(transcript) if e["event"] == "tool_results")["results"]
    assert [r["call_id"] for r in results] == ["call_1", "call_2"]


# --- one writer per transcript -------------------------------------------------------------------


async def test_a_second_resume_is_refused_while_the_transcript_is_in_use(
    script: Path, tmp_path: Path
) -> None:
    transcript = tmp_path / "s.jsonl"
    await finished_session(script, transcript)
    cut_after(transcript, line_of(transcript, "tool_results"))

    with (
        Transcript(transcript),
        pytest.raises(TranscriptError, match=r"is in use: another mltrainer process"),
    ):
        await resume_session(
            transcript, settings=load_settings(), request=ProviderRequest(script=script)
        )


def test_a_transcript_cannot_be_opened_twice(tmp_path: Path) -> None:
    with (
        Transcript(tmp_path / "s.jsonl"),
        pytest.raises(TranscriptError, match="Wait for that process to end or stop it"),
    ):
        Transcript(tmp_path / "s.jsonl")


async def test_a_new_session_does_not_append_to_an_existing_transcript(
    script: Path, tmp_path: Path
) -> None:
    transcript = tmp_path / "s.jsonl"
    await finished_session(script, transcript)

    with pytest.raises(TranscriptError, match="already holds a transcript"):
        await finished_session(script, transcript)


# --- Ctrl-C --------------------------------------------------------------------------------------


class InterruptedAtTurn(ScriptedProvider):
    """Plays the script and presses Ctrl-C (sets the interrupt) while giving turn `at`."""

    def __init__(self, turns: Sequence[AssistantTurn], at: int, interrupt: asyncio.Event) -> None:
        super().__init__(turns)
        self.at = at
        self.interrupt = interrupt

    async def complete(
        self,
        *,
        system: str,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        timeout: float | None = None,
    ) -> AssistantTurn:
        if self._next + 1 == self.at:
            self.interrupt.set()
        return await super().complete(system=system, messages=messages, tools=tools)


async def test_ctrl_c_finishes_the_running_tools_then_ends_resumable(
    script: Path, tmp_path: Path
) -> None:
    transcript = tmp_path / "s.jsonl"
    interrupt = asyncio.Event()
    provider = InterruptedAtTurn(ScriptedProvider.from_file(script).turns, 1, interrupt)

    summary = await start_session(
        provider,
        GOAL,
        settings=load_settings(),
        transcript_path=transcript,
        provider_options={"script": str(script)},
        interrupt=interrupt,
    )

    assert summary.reason == "interrupted (Ctrl-C)"
    assert summary.resumable is True
    assert len(summary.trials) == 2  # the calls of the interrupted turn ran and are recorded
    end = read_events(transcript)[-1]
    assert (end["event"], end["resumable"]) == ("session_end", True)

    resumed = await resume_session(
        transcript, settings=load_settings(), request=ProviderRequest(script=script)
    )

    assert resumed.reason == "finished"
    assert trials() == 2


async def test_resuming_a_finished_session_is_still_refused(script: Path, tmp_path: Path) -> None:
    transcript = tmp_path / "s.jsonl"
    await finished_session(script, transcript)

    with pytest.raises(TranscriptError, match="already ended"):
        await resume_session(transcript, settings=load_settings())


# --- call ids ------------------------------------------------------------------------------------


async def test_repeated_call_ids_from_a_server_are_made_unique(tmp_path: Path) -> None:
    repeat = ToolCall("call_0", "list_sources", "{}")
    turns = [
        AssistantTurn("", (repeat,), stop_reason="tool_use"),
        AssistantTurn("", (repeat,), stop_reason="tool_use"),
        AssistantTurn("", (ToolCall("", "finish", '{"conclusion": "x"}'),), stop_reason="tool_use"),
    ]

    await start_session(
        ScriptedProvider(turns),
        GOAL,
        settings=load_settings(),
        transcript_path=tmp_path / "s.jsonl",
    )

    ids = [e["call_id"] for e in read_events(tmp_path / "s.jsonl") if e["event"] == "tool_run"]
    assert ids == ["call_0", "call_t2_0", "call_t3_0"]
