"""ReplayProvider: serves a recorded session's assistant turns and fails loudly on divergence."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from mltrainer.agent.messages import (
    AssistantTurn,
    Message,
    ToolCall,
    ToolResult,
    ToolResults,
    Usage,
    UserMessage,
)
from mltrainer.agent.providers import ProviderConfigError, ReplayDivergence
from mltrainer.agent.providers.replay import ReplayProvider
from mltrainer.agent.session.transcript import Transcript, read_events

GOAL = UserMessage("Find a model that beats the baseline on SP500.")
FIRST = AssistantTurn(
    text="Training a random forest.",
    tool_calls=(ToolCall("call_1", "train_model", '{"symbol": "SP500", "model": "rf"}'),),
    usage=Usage(900, 40, 0.0006),
    stop_reason="tool_use",
    model="gpt-4o-mini-2024-07-18",
)
RESULTS = ToolResults((ToolResult("call_1", "train_model", "accuracy 51.2%, baseline 52.0%"),))
SECOND = AssistantTurn(
    text="Nothing beats the baseline.",
    tool_calls=(ToolCall("call_2", "finish", '{"conclusion": "no edge"}'),),
    usage=Usage(1100, 30, 0.0007),
    stop_reason="tool_use",
    model="gpt-4o-mini-2024-07-18",
)


@pytest.fixture
def transcript(tmp_path: Path) -> Path:
    path = tmp_path / "session.jsonl"
    with Transcript(path) as recording:
        recording.write(
            {
                "event": "session_start",
                "session_id": "s-1",
                "provider": "openai",
                "model": "gpt-4o-mini",
                "goal": GOAL.text,
                "system": "You are a careful quantitative researcher.",
                "tools": [],
                "budgets": {"max_turns": 10},
                "version": "0.1.0",
            }
        )
        for message in (GOAL, FIRST, RESULTS):
            recording.write_message(message)
        recording.write(
            {
                "event": "tool_run",
                "call_id": "call_1",
                "name": "train_model",
                "arguments": {"symbol": "SPX"},
                "payload": {"status": "success"},
                "content": "Trial 1.",
                "is_error": False,
                "seconds": 1.5,
            }
        )
        recording.write_message(SECOND)
        recording.write({"event": "session_end", "reason": "finish", "summary": "no edge"})
    return path


async def ask(provider: ReplayProvider, messages: list[Message]) -> AssistantTurn:
    return await provider.complete(system="", messages=messages, tools=[])


async def test_replays_the_recorded_turns_in_order(transcript: Path) -> None:
    provider = ReplayProvider.from_transcript(transcript)

    assert await ask(provider, [GOAL]) == FIRST
    assert await ask(provider, [GOAL, FIRST, RESULTS]) == SECOND


def test_name_and_model_come_from_the_session_header(transcript: Path) -> None:
    provider = ReplayProvider.from_transcript(transcript)

    assert (provider.name, provider.model) == ("openai", "gpt-4o-mini")


def test_accepts_events_already_read(transcript: Path) -> None:
    provider = ReplayProvider(read_events(transcript))

    assert provider.model == "gpt-4o-mini"


async def test_usage_of_assistant_turns_is_not_compared(transcript: Path) -> None:
    provider = ReplayProvider.from_transcript(transcript)
    await ask(provider, [GOAL])
    recounted = dataclasses.replace(FIRST, usage=Usage(1, 2, None))

    assert await ask(provider, [GOAL, recounted, RESULTS]) == SECOND


async def test_a_different_tool_result_diverges(transcript: Path) -> None:
    provider = ReplayProvider.from_transcript(transcript)
    await ask(provider, [GOAL])
    changed = ToolResults((ToolResult("call_1", "train_model", "accuracy 55.0%, baseline 52.0%"),))

    with pytest.raises(ReplayDivergence, match=r"turn 2, message 2") as raised:
        await ask(provider, [GOAL, FIRST, changed])

    message = str(raised.value)
    assert "expected: " in message
    assert "accuracy 51.2%" in message
    assert "accuracy 55.0%" in message


async def test_a_different_goal_diverges_at_the_first_turn(transcript: Path) -> None:
    provider = ReplayProvider.from_transcript(transcript)

    with pytest.raises(ReplayDivergence, match=r"turn 1, message 0"):
        await ask(provider, [UserMessage("Find a model for NASDAQ.")])


async def test_a_long_difference_is_clipped_around_where_it_starts(transcript: Path) -> None:
    provider = ReplayProvider.from_transcript(transcript)
    long_goal = UserMessage(GOAL.text + " " + "x" * 500)

    with pytest.raises(ReplayDivergence) as raised:
        await ask(provider, [long_goal])

    got_line = str(raised.value).splitlines()[-1]
    assert got_line.startswith("  got:      ...")
    assert len(got_line) < 200


async def test_an_extra_message_diverges(transcript: Path) -> None:
    provider = ReplayProvider.from_transcript(transcript)

    with pytest.raises(
        ReplayDivergence,
        match=r"turn 1, message 1: the recording has 1 messages before this turn, "
        r"the conversation 2; the conversation has an extra message: UserMessage",
    ):
        await ask(provider, [GOAL, UserMessage("and hurry")])


async def test_a_missing_message_diverges(transcript: Path) -> None:
    provider = ReplayProvider.from_transcript(transcript)
    await ask(provider, [GOAL])

    with pytest.raises(
        ReplayDivergence, match=r"turn 2, message 2: .*lacks the recorded ToolResults"
    ):
        await ask(provider, [GOAL, FIRST])


async def test_running_out_of_recorded_turns_diverges(transcript: Path) -> None:
    provider = ReplayProvider.from_transcript(transcript)
    await ask(provider, [GOAL])
    await ask(provider, [GOAL, FIRST, RESULTS])

    with pytest.raises(ReplayDivergence, match=r"turn 3: the recording has only 2 assistant turns"):
        await ask(provider, [GOAL, FIRST, RESULTS, SECOND])


def test_missing_transcript_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ProviderConfigError, match=r"no transcript at .*absent\.jsonl"):
        ReplayProvider.from_transcript(tmp_path / "absent.jsonl")


def test_transcript_without_header_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "headless.jsonl"
    path.write_text(json.dumps({"v": 1, "event": "user", "text": "hi"}) + "\n")

    with pytest.raises(ProviderConfigError, match="no session_start event"):
        ReplayProvider.from_transcript(path)
