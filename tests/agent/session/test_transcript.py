"""Transcripts: one JSON event per line, durable per write, secrets redacted, torn tail dropped."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mltrainer.agent.messages import (
    AssistantTurn,
    Message,
    ToolCall,
    ToolResult,
    ToolResults,
    Usage,
    UserMessage,
)
from mltrainer.agent.session import transcript as transcript_module
from mltrainer.agent.session.transcript import (
    REDACTED,
    SCHEMA_VERSION,
    Transcript,
    TranscriptError,
    event_to_message,
    known_secrets,
    message_to_event,
    messages_from_events,
    read_events,
    recorded_output,
    session_header,
)
from mltrainer.engine.settings import load_settings
from mltrainer.tools.results import PlainResult, SymbolList

HEADER = {"event": "session_start", "session_id": "s-1", "provider": "scripted", "goal": "g"}
TURN = AssistantTurn(
    text="Training two models.",
    tool_calls=(
        ToolCall("call_1", "train_model", '{"symbol": "SPX", "model": "lightgbm"}'),
        ToolCall("call_2", "train_model", '{"symbol": "SPX", "model": "naive_bayes"}'),
    ),
    usage=Usage(1200, 80, 0.0021),
    stop_reason="tool_use",
    model="gpt-4.1-mini",
)
RESULTS = ToolResults(
    (
        ToolResult("call_1", "train_model", "lightgbm on SPX: test accuracy 51.0%"),
        ToolResult("call_2", "train_model", "ERROR: train_ratio too large", is_error=True),
    )
)
MESSAGES: list[Message] = [UserMessage("Is SPX predictable?"), TURN, RESULTS]


def write_session(path: Path) -> None:
    with Transcript(path) as transcript:
        transcript.write(HEADER)
        for message in MESSAGES:
            transcript.write_message(message)


# --- format -------------------------------------------------------------------------------------


def test_every_line_is_json_with_version_timestamp_and_event(tmp_path: Path):
    path = tmp_path / "s.jsonl"
    write_session(path)

    lines = path.read_text(encoding="utf-8").splitlines()

    assert len(lines) == 4
    for line in lines:
        record = json.loads(line)
        assert record["v"] == SCHEMA_VERSION == 1
        assert isinstance(record["ts"], str) and record["ts"].endswith("+00:00")
        assert record["event"] in {"session_start", "user", "assistant", "tool_results"}


def test_events_are_written_in_order(tmp_path: Path):
    path = tmp_path / "s.jsonl"
    write_session(path)

    assert [e["event"] for e in read_events(path)] == [
        "session_start",
        "user",
        "assistant",
        "tool_results",
    ]


def test_each_write_is_on_disk_while_the_file_is_still_open(tmp_path: Path):
    path = tmp_path / "s.jsonl"
    transcript = Transcript(path)
    try:
        transcript.write(HEADER)
        assert [e["event"] for e in read_events(path)] == ["session_start"]
        transcript.write_message(UserMessage("goal"))
        assert [e["event"] for e in read_events(path)] == ["session_start", "user"]
    finally:
        transcript.close()


def test_sync_and_close_fsync_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    synced: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(transcript_module.os, "fsync", counting_fsync)
    with Transcript(tmp_path / "s.jsonl") as transcript:
        transcript.write(HEADER)
        transcript.write_message(UserMessage("goal"))
        transcript.sync()
        transcript.write_message(TURN)

    assert len(synced) == 2


def test_appending_to_an_existing_transcript_keeps_its_lines(tmp_path: Path):
    path = tmp_path / "s.jsonl"
    write_session(path)

    with Transcript(path) as transcript:
        transcript.write({"event": "resumed", "after_turns": 1})

    assert [e["event"] for e in read_events(path)][-2:] == ["tool_results", "resumed"]


def test_missing_parent_folders_are_created(tmp_path: Path):
    path = tmp_path / "a" / "b" / "s.jsonl"

    with Transcript(path) as transcript:
        transcript.write(HEADER)

    assert path.exists()


# --- secrets ------------------------------------------------------------------------------------


@pytest.fixture
def configured_keys(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    keys = {
        "OPENAI_API_KEY": "openai-test-key-0123456789",
        "ANTHROPIC_API_KEY": "anthropic-test-key-abcdefgh",
        "POLYGON_API_KEY": "polygon-test-key-ijklmnop",
        "FRED_API_KEY": "fredtestkey0123456789abcdef",
    }
    for name, value in keys.items():
        monkeypatch.setenv(name, value)
    return keys


def test_known_secrets_are_the_configured_keys(configured_keys: dict[str, str]):
    assert sorted(known_secrets(load_settings())) == sorted(configured_keys.values())


def test_known_secrets_is_empty_without_keys():
    assert known_secrets(load_settings()) == []


def test_configured_keys_never_reach_the_file(tmp_path: Path, configured_keys: dict[str, str]):
    path = tmp_path / "s.jsonl"
    leaky = " and ".join(configured_keys.values())

    with Transcript(path, known_secrets(load_settings())) as transcript:
        transcript.write({"event": "note", "text": f"keys: {leaky}"})
        transcript.write({"event": "note", "nested": {"list": [{"key": leaky}], "n": 3}})
        transcript.write_message(UserMessage(f"my key is {configured_keys['OPENAI_API_KEY']}"))

    text = path.read_text(encoding="utf-8")
    for value in configured_keys.values():
        assert value not in text
    events = read_events(path)
    assert events[0]["text"] == f"keys: {' and '.join([REDACTED] * 4)}"
    assert events[1]["nested"] == {"list": [{"key": " and ".join([REDACTED] * 4)}], "n": 3}
    assert events[2]["text"] == "my key is [REDACTED]"


@pytest.mark.parametrize(
    "key",
    [
        "sk-abcdefghijklmnop0123",
        "sk-proj-AbCdEfGhIjKlMnOpQrSt_uv-12",
        "sk-ant-api03-abcdefghijklmnopqrstuvwxyz",
    ],
)
def test_key_shaped_strings_are_redacted_without_being_configured(tmp_path: Path, key: str):
    path = tmp_path / "s.jsonl"

    with Transcript(path) as transcript:
        transcript.write({"event": "note", "text": f"Authorization: Bearer {key}."})

    assert key not in path.read_text(encoding="utf-8")
    assert read_events(path)[0]["text"] == "Authorization: Bearer [REDACTED]."


def test_short_sk_words_are_not_redacted(tmp_path: Path):
    path = tmp_path / "s.jsonl"

    with Transcript(path) as transcript:
        transcript.write({"event": "note", "text": "risk-adjusted returns, sk-learn"})

    assert read_events(path)[0]["text"] == "risk-adjusted returns, sk-learn"


# --- reading ------------------------------------------------------------------------------------


def test_torn_last_line_is_dropped(tmp_path: Path):
    path = tmp_path / "s.jsonl"
    write_session(path)
    with path.open("a", encoding="utf-8") as file:
        file.write('{"v": 1, "ts": "2025-01-01T00:00:00+00:00", "event": "assis')

    assert [e["event"] for e in read_events(path)] == [
        "session_start",
        "user",
        "assistant",
        "tool_results",
    ]


def test_a_last_line_cut_inside_a_multibyte_character_is_torn_not_an_error(tmp_path: Path):
    path = tmp_path / "s.jsonl"
    write_session(path)
    with path.open("ab") as file:
        file.write('{"v": 1, "event": "user", "text": "€'.encode()[:-1])

    assert [e["event"] for e in read_events(path)][-1] == "tool_results"


def test_torn_middle_line_raises(tmp_path: Path):
    path = tmp_path / "s.jsonl"
    path.write_text(
        json.dumps({"v": 1, "ts": "t", **HEADER})
        + "\n"
        + '{"v": 1, "ts": "t", "event": "us\n'
        + json.dumps({"v": 1, "ts": "t", "event": "user", "text": "x"})
        + "\n",
        encoding="utf-8",
    )

    with pytest.raises(TranscriptError, match=r"s\.jsonl:2 is not valid JSON"):
        read_events(path)


def test_blank_lines_are_skipped(tmp_path: Path):
    path = tmp_path / "s.jsonl"
    path.write_text("\n" + json.dumps({"v": 1, "ts": "t", **HEADER}) + "\n\n", encoding="utf-8")

    assert [e["event"] for e in read_events(path)] == ["session_start"]


def test_wrong_schema_version_raises(tmp_path: Path):
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps({"v": 2, "ts": "t", **HEADER}) + "\n", encoding="utf-8")

    with pytest.raises(
        TranscriptError, match=r"s\.jsonl:1 has schema version 2; this mltrainer reads version 1"
    ):
        read_events(path)


def test_missing_schema_version_raises(tmp_path: Path):
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps({"ts": "t", **HEADER}) + "\n", encoding="utf-8")

    with pytest.raises(TranscriptError, match=r"has schema version None"):
        read_events(path)


def test_missing_file_raises(tmp_path: Path):
    with pytest.raises(TranscriptError, match=r"no transcript at .*nothing\.jsonl"):
        read_events(tmp_path / "nothing.jsonl")


def test_a_line_that_is_json_but_not_an_object_raises_transcript_error(tmp_path: Path):
    path = tmp_path / "s.jsonl"
    path.write_text(
        json.dumps({"v": 1, "ts": "t", **HEADER}) + "\n[1, 2]\n" + json.dumps(HEADER) + "\n",
        encoding="utf-8",
    )

    with pytest.raises(TranscriptError, match=r"s\.jsonl:2"):
        read_events(path)


def test_session_header_is_the_session_start_event(tmp_path: Path):
    path = tmp_path / "s.jsonl"
    write_session(path)

    header = session_header(read_events(path))

    assert header["session_id"] == "s-1"
    assert header["provider"] == "scripted"


def test_session_header_missing_raises():
    with pytest.raises(TranscriptError, match="transcript has no session_start event"):
        session_header([{"v": 1, "ts": "t", "event": "user", "text": "x"}])


def test_messages_from_events_skips_bookkeeping_events(tmp_path: Path):
    path = tmp_path / "s.jsonl"
    with Transcript(path) as transcript:
        transcript.write(HEADER)
        transcript.write_message(MESSAGES[0])
        transcript.write(
            {
                "event": "tool_run",
                "call_id": "call_1",
                "name": "list_models",
                "payload": {},
                "content": "{}",
                "is_error": False,
            }
        )
        transcript.write_message(TURN)
        transcript.write({"event": "resumed", "after_turns": 1})
        transcript.write_message(RESULTS)
        transcript.write({"event": "session_end", "reason": "finished"})

    assert list(messages_from_events(read_events(path))) == MESSAGES


# --- message <-> event --------------------------------------------------------------------------


def test_cached_tokens_survive_the_transcript(tmp_path: Path):
    turn = AssistantTurn("ok", usage=Usage(5000, 90, 0.0031, cached_input_tokens=4000))
    path = tmp_path / "cached.jsonl"
    with Transcript(path) as transcript:
        transcript.write(
            {"event": "session_start", "session_id": "s", "provider": "anthropic", "goal": "g"}
        )
        transcript.write_message(turn)

    assert list(messages_from_events(read_events(path))) == [turn]


def test_user_message_event():
    assert message_to_event(UserMessage("Is SPX predictable?")) == {
        "event": "user",
        "text": "Is SPX predictable?",
    }


def test_assistant_turn_event():
    assert message_to_event(TURN) == {
        "event": "assistant",
        "text": "Training two models.",
        "tool_calls": [
            {
                "id": "call_1",
                "name": "train_model",
                "arguments": '{"symbol": "SPX", "model": "lightgbm"}',
            },
            {
                "id": "call_2",
                "name": "train_model",
                "arguments": '{"symbol": "SPX", "model": "naive_bayes"}',
            },
        ],
        "usage": {
            "input_tokens": 1200,
            "output_tokens": 80,
            "cached_input_tokens": 0,
            "cache_write_tokens": 0,
            "cost_usd": 0.0021,
        },
        "stop_reason": "tool_use",
        "model": "gpt-4.1-mini",
    }


def test_tool_results_event():
    assert message_to_event(RESULTS) == {
        "event": "tool_results",
        "results": [
            {
                "call_id": "call_1",
                "name": "train_model",
                "content": "lightgbm on SPX: test accuracy 51.0%",
                "is_error": False,
            },
            {
                "call_id": "call_2",
                "name": "train_model",
                "content": "ERROR: train_ratio too large",
                "is_error": True,
            },
        ],
    }


@pytest.mark.parametrize(
    "message",
    [
        UserMessage("Is SPX predictable?"),
        AssistantTurn("plain text, no calls"),
        TURN,
        AssistantTurn("", usage=Usage(5, 6), stop_reason="max_tokens"),
        RESULTS,
        ToolResults(()),
    ],
    ids=["user", "assistant-text", "assistant-calls", "assistant-no-cost", "results", "empty"],
)
def test_round_trip_through_json(message: Message):
    event = json.loads(json.dumps(message_to_event(message)))

    assert event_to_message(event) == message


@settings(max_examples=50, deadline=None)
@given(
    text=st.text(),
    arguments=st.text(),
    tokens=st.integers(min_value=0, max_value=10**9),
    cost=st.none() | st.floats(min_value=0, max_value=1e6, allow_nan=False),
    is_error=st.booleans(),
)
def test_round_trip_of_any_content(
    text: str, arguments: str, tokens: int, cost: float | None, is_error: bool
):
    messages: list[Message] = [
        UserMessage(text),
        AssistantTurn(text, (ToolCall("c", "finish", arguments),), Usage(tokens, tokens, cost)),
        ToolResults((ToolResult("c", "finish", text, is_error),)),
    ]
    for message in messages:
        event = json.loads(json.dumps(message_to_event(message)))
        assert event_to_message(event) == message


@pytest.mark.parametrize("event", ["session_start", "tool_run", "resumed", "session_end"])
def test_bookkeeping_events_are_not_messages(event: str):
    assert event_to_message({"v": 1, "ts": "t", "event": event}) is None


# --- recorded results --------------------------------------------------------------------------


def tool_run(payload: dict[str, object]) -> dict[str, object]:
    return {"event": "tool_run", "call_id": "c1", "name": "list_symbols", "payload": payload}


def test_a_recorded_result_reads_back_as_its_class():
    run = tool_run({"status": "success", "type": "symbols", "symbols": []})

    assert recorded_output(run) == SymbolList(symbols=[])


def test_a_recorded_plugin_result_reads_back_as_the_dict_it_was():
    run = tool_run({"status": "success", "type": "roll", "value": 4})

    assert recorded_output(run) == PlainResult(status="success", type="roll", value=4)


def test_a_recorded_result_of_the_wrong_shape_is_a_transcript_error_naming_the_call():
    run = tool_run({"status": "success", "type": "symbols", "symbols": "SPX"})

    with pytest.raises(
        TranscriptError,
        match=r"the recorded result of list_symbols \(call c1\) is not one mltrainer wrote: "
        r"symbols\.symbols: Input should be a valid list",
    ):
        recorded_output(run)
