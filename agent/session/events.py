"""The shape of each transcript event, checked when a transcript is read.

A transcript may come from anywhere (a colleague, a crafted file, a disk that flipped a bit):
every event a reader relies on is validated here, so a wrong type or a missing field becomes
one `TranscriptError` naming the line and the field, not a crash deep inside resume or replay.
Events this reader does not use (`resumed`, notes) pass through unchecked.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from mltrainer.engine.paths import NAME_CHARACTERS, is_safe_name


def _safe_session_id(value: str) -> str:
    if not is_safe_name(value):
        raise ValueError(f"a session id may hold only {NAME_CHARACTERS}")
    return value


class _Event(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class RecordedCall(_Strict):
    id: str
    name: str
    arguments: str


class RecordedUsage(_Strict):
    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    cost_usd: float | None = Field(default=None, ge=0)
    # Recorded since prompt caching; older transcripts have neither and mean 0.
    cached_input_tokens: int = Field(default=0, ge=0)
    cache_write_tokens: int = Field(default=0, ge=0)


class RecordedResult(_Strict):
    call_id: str
    name: str
    content: str
    is_error: bool = False


class RecordedBudgets(_Strict):
    """The budgets a session ran with; bounded like the CLI's options."""

    max_turns: int = Field(default=20, ge=1, le=1_000_000)
    max_tool_calls: int = Field(default=60, ge=1, le=1_000_000)
    max_tokens: int = Field(default=400_000, ge=1, le=10**12)
    max_cost_usd: float | None = Field(default=None, ge=0, le=1_000_000)
    max_seconds: float = Field(default=900.0, gt=0, le=7 * 24 * 3600)


class SessionStart(_Event):
    event: Literal["session_start"]
    # It names the session's files (its report folder, a resumed transcript), so it must be
    # a name that stays in its folder.
    session_id: Annotated[str, AfterValidator(_safe_session_id)]
    provider: str
    goal: str
    model: str = ""
    system: str = ""
    budgets: RecordedBudgets = Field(default_factory=RecordedBudgets)
    provider_options: dict[str, str | None] = Field(default_factory=dict)


class UserEvent(_Event):
    event: Literal["user"]
    text: str


class AssistantEvent(_Event):
    event: Literal["assistant"]
    text: str
    tool_calls: list[RecordedCall]
    usage: RecordedUsage
    stop_reason: Literal["end_turn", "tool_use", "max_tokens", "refusal", "other"]
    model: str = ""


class ToolResultsEvent(_Event):
    event: Literal["tool_results"]
    results: list[RecordedResult]


class ToolRunEvent(_Event):
    event: Literal["tool_run"]
    call_id: str
    name: str
    payload: dict[str, Any]
    content: str
    is_error: bool
    arguments: dict[str, Any] | None = None
    refused: bool = False


class SessionEnd(_Event):
    event: Literal["session_end"]
    reason: str
    resumable: bool = False


_CHECKED: dict[str, TypeAdapter[Any]] = {
    "session_start": TypeAdapter(SessionStart),
    "user": TypeAdapter(UserEvent),
    "assistant": TypeAdapter(AssistantEvent),
    "tool_results": TypeAdapter(ToolResultsEvent),
    "tool_run": TypeAdapter(ToolRunEvent),
    "session_end": TypeAdapter(SessionEnd),
}


def event_problem(event: dict[str, Any]) -> str | None:
    """What is wrong with an event's shape, or None when a reader can rely on it."""
    kind = event.get("event")
    if not isinstance(kind, str):
        return "the event's name ('event') is missing or not a string"
    adapter = _CHECKED.get(kind)
    if adapter is None:
        return None
    try:
        adapter.validate_python(event)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "event"
        more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
        return f"{kind} event: {where}: {first['msg']}{more}"
    return None


def checked_header(event: dict[str, Any]) -> dict[str, Any]:
    """A session_start event with its budgets and options filled in and typed."""
    return SessionStart.model_validate(event).model_dump()
