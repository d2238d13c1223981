"""Neutral conversation types: what the loop, the bridge and transcripts see of any provider.

Providers translate these to and from their wire formats inside their own modules; nothing
outside a provider module knows what an OpenAI or Anthropic message looks like.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any, Literal

StopReason = Literal["end_turn", "tool_use", "max_tokens", "refusal", "other"]


@dataclass(frozen=True)
class ToolSpec:
    """A tool as offered to a model: name, LLM-facing description, JSON schema of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True)
class ToolCall:
    """A model's request to run a tool. `arguments` is the raw JSON text, validated later."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Usage:
    """Tokens and cost of one or more model calls.

    `input_tokens` counts every prompt token. Of those, `cached_input_tokens` were read from the
    provider's prompt cache (billed at a fraction of the input price) and `cache_write_tokens`
    were written to it (Anthropic bills writes above the input price); the rest were plain input.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        cost = None
        if self.cost_usd is not None or other.cost_usd is not None:
            cost = (self.cost_usd or 0.0) + (other.cost_usd or 0.0)
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            cost,
            self.cached_input_tokens + other.cached_input_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
        )

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def uncached_input_tokens(self) -> int:
        return self.input_tokens - self.cached_input_tokens - self.cache_write_tokens

    def as_record(self) -> dict[str, int | float | None]:
        """The usage as transcripts, summaries and `--json` output write it."""
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "cost_usd": self.cost_usd,
        }


@dataclass(frozen=True)
class UserMessage:
    text: str
    kind: Literal["user"] = "user"


@dataclass(frozen=True)
class AssistantTurn:
    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = field(default_factory=Usage)
    stop_reason: StopReason = "end_turn"
    model: str = ""
    kind: Literal["assistant"] = "assistant"


@dataclass(frozen=True)
class ToolResult:
    call_id: str
    name: str
    content: str
    is_error: bool = False


@dataclass(frozen=True)
class ToolResults:
    """The answers to every tool call of one assistant turn, in the order the calls came."""

    results: tuple[ToolResult, ...]
    kind: Literal["tool_results"] = "tool_results"


Message = UserMessage | AssistantTurn | ToolResults


_CALL_ID = re.compile(r"[A-Za-z0-9_\-]{1,64}")


def with_unique_call_ids(turn: AssistantTurn, seen: set[str], turn_number: int) -> AssistantTurn:
    """The turn with call ids no earlier call of the session had, adding them to `seen`.

    Some compatible servers number calls per reply ("call_0" in every turn) or send none, and
    a resumed session matches recorded runs (and the ledger its trials) by call id, so a
    repeated id would answer a new call with an old result. Such ids are renamed here, before
    the turn is recorded, so the conversation and the transcript carry the same ids.
    """
    calls: list[ToolCall] = []
    for index, call in enumerate(turn.tool_calls):
        call_id = call.id
        if call_id in seen or not _CALL_ID.fullmatch(call_id):
            call_id = f"call_t{turn_number}_{index}"
            while call_id in seen:
                call_id += "x"
        seen.add(call_id)
        calls.append(call if call_id == call.id else dataclasses.replace(call, id=call_id))
    if all(new is old for new, old in zip(calls, turn.tool_calls, strict=True)):
        return turn
    return dataclasses.replace(turn, tool_calls=tuple(calls))
