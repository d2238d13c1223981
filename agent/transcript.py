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

import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, assert_never

from mltrainer.agent.messages import (
    AssistantTurn,
    Message,
    ToolCall,
    ToolResult,
    ToolResults,
    Usage,
    UserMessage,
)
from mltrainer.engine.errors import MLTrainerError
from mltrainer.engine.settings import Settings

SCHEMA_VERSION = 1
REDACTED = "[REDACTED]"
# Shapes of common API keys, caught even when the value is not one we were configured with.
_KEY_SHAPES = re.compile(r"\b(sk-(?:ant-|proj-)?[A-Za-z0-9_\-]{16,})\b")


class TranscriptError(MLTrainerError):
    """A transcript is missing, unreadable, or from an unknown schema version."""


def known_secrets(settings: Settings) -> list[str]:
    keys = (
        settings.polygon_api_key,
        settings.fred_api_key,
        settings.openai_api_key,
        settings.anthropic_api_key,
    )
    return [k.get_secret_value() for k in keys if k is not None and k.get_secret_value()]


def redact(value: Any, secrets: Iterable[str]) -> Any:
    """Replace every secret (and anything shaped like an API key) anywhere inside `value`."""
    secret_list = [s for s in secrets if s]
    if isinstance(value, str):
        for secret in secret_list:
            value = value.replace(secret, REDACTED)
        return _KEY_SHAPES.sub(REDACTED, value)
    if isinstance(value, dict):
        return {k: redact(v, secret_list) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v, secret_list) for v in value]
    return value


def message_to_event(message: Message) -> dict[str, Any]:
    match message:
        case UserMessage(text=text):
            return {"event": "user", "text": text}
        case AssistantTurn():
            return {
                "event": "assistant",
                "text": message.text,
                "tool_calls": [asdict(call) for call in message.tool_calls],
                "usage": asdict(message.usage),
                "stop_reason": message.stop_reason,
                "model": message.model,
            }
        case ToolResults(results=results):
            return {"event": "tool_results", "results": [asdict(r) for r in results]}
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
    turn (and `close` always), so a machine crash loses at most the turn in flight."""

    def __init__(self, path: Path, secrets: Iterable[str] = ()) -> None:
        self.path = path
        self._secrets = list(secrets)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")

    def write(self, event: dict[str, Any]) -> None:
        record = {"v": SCHEMA_VERSION, "ts": datetime.now(UTC).isoformat(), **event}
        line = json.dumps(redact(record, self._secrets), ensure_ascii=False, default=str)
        self._file.write(line + "\n")
        self._file.flush()

    def sync(self) -> None:
        os.fsync(self._file.fileno())

    def write_message(self, message: Message) -> None:
        self.write(message_to_event(message))

    def close(self) -> None:
        if not self._file.closed:
            self.sync()
            self._file.close()

    def __enter__(self) -> Transcript:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_events(path: Path) -> list[dict[str, Any]]:
    """All events of a transcript; a torn last line (a killed writer) is dropped, not fatal."""
    if not path.exists():
        raise TranscriptError(f"no transcript at {path}")
    events: list[dict[str, Any]] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError as error:
            if number == len(lines):
                break
            raise TranscriptError(f"{path}:{number} is not valid JSON ({error.msg})") from error
        if not isinstance(event, dict):
            raise TranscriptError(f"{path}:{number} is not a JSON object")
        if event.get("v") != SCHEMA_VERSION:
            raise TranscriptError(
                f"{path}:{number} has schema version {event.get('v')!r}; "
                f"this mltrainer reads version {SCHEMA_VERSION}"
            )
        events.append(event)
    return events


def messages_from_events(events: Iterable[dict[str, Any]]) -> Iterator[Message]:
    for event in events:
        message = event_to_message(event)
        if message is not None:
            yield message


def session_header(events: list[dict[str, Any]]) -> dict[str, Any]:
    for event in events:
        if event.get("event") == "session_start":
            return event
    raise TranscriptError("transcript has no session_start event")
