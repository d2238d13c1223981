"""Append-only JSONL transcripts: one event per line, flushed and fsynced per write, secrets
redacted before anything reaches the disk. Enough to replay a session offline and to resume
one that was killed.

Events (every line has `v`, `ts`, `event`):
- `session_start`: session_id, provider, model, goal, system, tools, budgets, version
- `user`, `assistant`, `tool_results`: the neutral messages (see `message_to_event`)
- `tool_run`: one executed tool with its structured payload and duration (for `replay --check`)
- `session_end`: reason, summary, usage totals
"""

from __future__ import annotations

import fcntl
import gc
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, assert_never

from pydantic import ValidationError

from mltrainer.agent.messages import (
    AssistantTurn,
    Message,
    ToolCall,
    ToolResult,
    ToolResults,
    Usage,
    UserMessage,
)
from mltrainer.agent.session.events import checked_header, event_problem
from mltrainer.engine.data.catalog import source_keys
from mltrainer.engine.errors import MLTrainerError
from mltrainer.engine.redaction import REDACTED as REDACTED
from mltrainer.engine.redaction import redact_json_text, register_secrets
from mltrainer.engine.settings import Settings
from mltrainer.tools.results import ToolOutput, read_output

SCHEMA_VERSION = 1


class TranscriptError(MLTrainerError):
    """A transcript is missing, unreadable, or from an unknown schema version."""


def known_secrets(settings: Settings) -> list[str]:
    """The keys of every registered data source and LLM provider that are set; registered for
    redaction of log records too."""
    # The provider registry is read when a session starts, not when this module loads: the
    # replay provider, a module of that package, reads transcripts with this one.
    from mltrainer.agent.providers.registry import provider_keys

    found = source_keys(settings) + provider_keys()
    register_secrets(found)
    return found


def message_to_event(message: Message) -> dict[str, Any]:
    match message:
        case UserMessage(text=text):
            return {"event": "user", "text": text}
        case AssistantTurn():
            return {
                "event": "assistant",
                "text": message.text,
                "tool_calls": [
                    {"id": call.id, "name": call.name, "arguments": call.arguments}
                    for call in message.tool_calls
                ],
                "usage": message.usage.as_record(),
                "stop_reason": message.stop_reason,
                "model": message.model,
            }
        case ToolResults(results=results):
            return {
                "event": "tool_results",
                "results": [
                    {
                        "call_id": r.call_id,
                        "name": r.name,
                        "content": r.content,
                        "is_error": r.is_error,
                    }
                    for r in results
                ],
            }
        case _:
            assert_never(message)


def event_to_message(event: dict[str, Any]) -> Message | None:
    """The neutral message an event records, or None for bookkeeping events."""
    match event.get("event"):
        case "user":
            return UserMessage(text=event["text"])
        case "assistant":
            return AssistantTurn(
                text=event["text"],
                tool_calls=tuple(ToolCall(**call) for call in event["tool_calls"]),
                usage=Usage(**event["usage"]),
                stop_reason=event["stop_reason"],
                model=event.get("model", ""),
            )
        case "tool_results":
            return ToolResults(results=tuple(ToolResult(**r) for r in event["results"]))
        case _:
            return None


class Transcript:
    """An open transcript file. Every `write` is one line, flushed to the OS before returning,
    so a killed process loses nothing it wrote; `sync` fsyncs, which the loop does once per
    turn (and `close` always), so a machine crash loses at most the turn in flight.

    The file is locked (`flock`, released by the OS even when the process is killed) while it
    is open, so a second process cannot append to it: two resumes of one session at once
    would run every call twice. A derived file (a replay's copy) is written buffered instead,
    flushed and fsynced on close only.
    """

    def __init__(self, path: Path, secrets: Iterable[str] = (), *, durable: bool = True) -> None:
        self.path = path
        self._secrets = list(secrets)
        self._durable = durable
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", encoding="utf-8")
        except OSError as error:
            raise TranscriptError(
                f"cannot write the transcript {path}: {error.strerror or error}; "
                "choose a writable path (or fix MLTRAINER_HOME)"
            ) from error
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            self._file.close()
            raise TranscriptError(
                f"{path} is in use: another mltrainer process is writing to it (the session "
                "itself or a resume of it). Wait for that process to end or stop it, then retry"
            ) from error

    def write(self, event: dict[str, Any]) -> None:
        record = {"v": SCHEMA_VERSION, "ts": datetime.now(UTC).isoformat(), **event}
        line = redact_json_text(json.dumps(record, ensure_ascii=False, default=str), self._secrets)
        self._file.write(line + "\n")
        if self._durable:
            self._file.flush()

    def sync(self) -> None:
        if self._durable:
            os.fsync(self._file.fileno())

    def write_message(self, message: Message) -> None:
        self.write(message_to_event(message))

    def close(self) -> None:
        if not self._file.closed:
            os.fsync(self._file.fileno())
            self._file.close()

    def __enter__(self) -> Transcript:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_events(path: Path) -> list[dict[str, Any]]:
    """All events of a transcript, each checked for the shape readers rely on.

    A torn last line (a killed writer) is dropped, not fatal; anything else that is not a
    transcript raises `TranscriptError` naming the file, the line and what is wrong.
    """
    lines, complete = _lines(path)
    # Parsing JSON makes no reference cycles, so the cyclic collector has nothing to find
    # here; paused, it does not rescan the growing list of events over and over.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _parsed(path, lines, complete)
    finally:
        if collecting:
            gc.enable()


def _parsed(path: Path, lines: list[str], complete: bool) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    last = len(lines)
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError as error:
            if number == last and not complete:
                break
            detail = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
            raise TranscriptError(f"{path}:{number} is not valid JSON ({detail})") from error
        except RecursionError:
            raise TranscriptError(f"{path}:{number} nests JSON too deeply to be an event") from None
        if not isinstance(event, dict):
            raise TranscriptError(
                f"{path}:{number} is not a JSON object (got a JSON {_json_kind(event)}); "
                "every line of a transcript is one event object"
            )
        if event.get("v") != SCHEMA_VERSION:
            raise TranscriptError(
                f"{path}:{number} has schema version {_clip(event.get('v'))}; "
                f"this mltrainer reads version {SCHEMA_VERSION}"
            )
        if problem := event_problem(event):
            raise TranscriptError(
                f"{path}:{number}: {problem}; the file is not a transcript mltrainer wrote, "
                "or it was edited"
            )
        events.append(event)
    if not events:
        raise TranscriptError(f"{path} holds no events: no session was recorded in it")
    return events


def _lines(path: Path) -> tuple[list[str], bool]:
    """The file's lines, split on newlines only (text may hold U+2028 and other characters
    that `str.splitlines` would also split on), and whether the last line is complete. A
    killed writer can cut the last line inside a multi-byte character: that line is torn,
    not an error."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise TranscriptError(f"no transcript at {path}") from None
    except IsADirectoryError:
        raise TranscriptError(f"{path} is a directory; give a transcript .jsonl file") from None
    except OSError as error:
        raise TranscriptError(f"cannot read {path}: {error.strerror or error}") from error
    complete = data.endswith(b"\n") or not data
    end = len(data) if complete else data.rfind(b"\n") + 1
    try:
        text = data[:end].decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise TranscriptError(
            f"{path}:{line} is not UTF-8 text (byte {error.start}); a transcript is JSON lines"
        ) from None
    lines = text.split("\n")
    lines.pop()  # after the last newline: nothing, or the torn line decoded below
    if not complete:
        lines.append(data[end:].decode("utf-8", errors="replace"))
    return lines, complete


def _json_kind(value: Any) -> str:
    names = {list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def _clip(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "..."


def recorded_output(event: Mapping[str, Any]) -> ToolOutput:
    """The typed result a checked `tool_run` event recorded, read through the one adapter."""
    try:
        return read_output(event["payload"])
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "payload"
        raise TranscriptError(
            f"the recorded result of {event['name']} (call {event['call_id']}) is not one "
            f"mltrainer wrote: {where}: {first['msg']}"
        ) from error


def messages_from_events(events: Iterable[dict[str, Any]]) -> Iterator[Message]:
    for event in events:
        message = event_to_message(event)
        if message is not None:
            yield message


def session_header(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The session_start event, with budgets and options filled in and typed."""
    for event in events:
        if event.get("event") == "session_start":
            if problem := event_problem(event):
                raise TranscriptError(f"transcript header: {problem}")
            return checked_header(event)
    raise TranscriptError("transcript has no session_start event")
