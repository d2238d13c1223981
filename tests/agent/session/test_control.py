"""`SessionControl`: a person's message queued from outside the loop becomes the next user turn
(recorded as theirs), and a stop request ends the session at the next turn boundary with its
summary. Through the real loop, tools and engine; the LLM is the scripted stand-in."""

from __future__ import annotations

from pathlib import Path

from mltrainer.agent.messages import AssistantTurn, ToolCall, UserMessage
from mltrainer.agent.providers import ScriptedProvider
from mltrainer.agent.providers.direct import DirectProvider
from mltrainer.agent.session.runs import start_session
from mltrainer.agent.session.state import SessionControl
from mltrainer.agent.session.transcript import messages_from_events, read_events
from mltrainer.agent.session.turn import DIRECT_HINT
from mltrainer.engine.settings import load_settings

GOAL = "Is SPX predictable?"


def list_sources(call_id: str) -> AssistantTurn:
    return AssistantTurn("", (ToolCall(call_id, "list_sources", "{}"),), stop_reason="tool_use")


async def test_a_queued_message_is_the_next_user_turn_and_recorded_as_the_persons(tmp_path: Path):
    control = SessionControl()
    control.inbox.append("Look at IXIC too, please.")

    summary = await start_session(
        ScriptedProvider([list_sources("c1")]),
        GOAL,
        settings=load_settings(),
        transcript_path=tmp_path / "s.jsonl",
        control=control,
    )

    events = read_events(tmp_path / "s.jsonl")
    users = [e for e in events if e["event"] == "user"]
    assert [u["text"] for u in users] == [GOAL, "Look at IXIC too, please."]
    assert [u.get("source") for u in users] == [None, "person"]
    messages = list(messages_from_events(events))
    assert isinstance(messages[2], AssistantTurn)  # the model answered after reading it
    assert summary.reason == "script finished"
    assert not control.inbox


async def test_a_stop_request_ends_the_session_at_the_next_turn_with_its_summary(tmp_path: Path):
    control = SessionControl()
    provider = ScriptedProvider([list_sources("c1"), list_sources("c2"), list_sources("c3")])

    def stop_after_first_turn(message: object) -> None:
        if isinstance(message, AssistantTurn):
            control.stop_reason = "stopped by the user"

    summary = await start_session(
        provider,
        GOAL,
        settings=load_settings(),
        transcript_path=tmp_path / "s.jsonl",
        control=control,
        on_message=stop_after_first_turn,
    )

    assert summary.reason == "stopped by the user"
    assert summary.turns == 1  # the turn in flight finished; no further turn was asked for
    assert summary.tool_calls == 1
    end = read_events(tmp_path / "s.jsonl")[-1]
    assert end["event"] == "session_end"
    assert end["reason"] == "stopped by the user"


async def test_direct_mode_hints_instead_of_ending_when_a_person_says_nothing_runnable(
    tmp_path: Path,
):
    provider = DirectProvider()
    for words in ("hello", "what can you do?", "still there?"):
        provider.say(words)
    answers: list[object] = []

    def leave_after_three_answers(message: object) -> None:
        if isinstance(message, UserMessage):
            answers.append(message)
            if len(answers) == 4:  # the goal, then an answer to each of the three
                provider.leave("stopped by the user")

    summary = await start_session(
        provider,
        "hello",
        settings=load_settings(),
        transcript_path=tmp_path / "s.jsonl",
        on_message=leave_after_three_answers,
    )

    messages = list(messages_from_events(read_events(tmp_path / "s.jsonl")))
    hints = [m for m in messages[1:] if isinstance(m, UserMessage)]
    assert len(hints) == 3
    assert all(h.text.endswith(DIRECT_HINT) for h in hints)
    assert summary.reason == "stopped by the user"
