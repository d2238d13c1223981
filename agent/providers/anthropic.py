"""Anthropic Messages provider. All translation to and from the wire format lives here."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal, assert_never

import anthropic
import httpx2
from anthropic.types import CacheControlEphemeralParam, ContentBlockParam, MessageParam, ToolParam
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mltrainer.agent.messages import (
    AssistantTurn,
    Message,
    StopReason,
    ToolCall,
    ToolResults,
    ToolSpec,
    Usage,
    UserMessage,
)
from mltrainer.agent.providers.base import MalformedReplyError, reply_object, shape_problem
from mltrainer.agent.providers.keys import NO_KEY_ROUTE, KeyRoute
from mltrainer.agent.providers.pricing import priced
from mltrainer.agent.providers.sdk_errors import SdkProvider
from mltrainer.tools.base import MAX_ARGUMENT_CHARS, MAX_ARGUMENT_DEPTH, json_depth

DEFAULT_BASE_URL = "https://api.anthropic.com"
KEY_VARIABLE = "ANTHROPIC_API_KEY"
# What a server that gets no key is sent: proxies and gateways in front of a custom base_url
# may not need a key; the SDK wants one.

STOP_REASONS: dict[str, StopReason] = {
    "end_turn": "end_turn",
    "tool_use": "tool_use",
    "max_tokens": "max_tokens",
    "stop_sequence": "end_turn",
    "refusal": "refusal",
}

Role = Literal["user", "assistant"]
# Marks the end of a prompt prefix that Anthropic caches (five-minute lifetime).
CACHE_BREAKPOINT: CacheControlEphemeralParam = {"type": "ephemeral"}


class AnthropicProvider(SdkProvider):
    """Messages API through the official SDK, whose `max_retries` is the only retry layer."""

    name = "anthropic"
    sdk = anthropic
    sdk_error = anthropic.AnthropicError
    api = "Anthropic API"
    key_variable = KEY_VARIABLE
    home_url = DEFAULT_BASE_URL

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        max_retries: int = 3,
        timeout: float = 60.0,
        http_client: httpx2.AsyncClient | None = None,
        max_tokens: int = 2048,
        key_route: KeyRoute = NO_KEY_ROUTE,
        max_reply_bytes: int | None = None,
    ) -> None:
        self.model = model
        self.max_tokens = max_tokens
        self._base_url = base_url or DEFAULT_BASE_URL
        self._take_key(api_key, key_route)
        self._timeout = timeout
        # An explicit key and base_url keep the SDK from consulting profiles and other
        # environment variables: keys come from our settings only.
        self._client = anthropic.AsyncAnthropic(
            api_key=self._key,
            base_url=self._base_url,
            max_retries=max_retries,
            timeout=timeout,
            http_client=self._bounded_client(http_client, max_reply_bytes),
        )

    async def complete(
        self,
        *,
        system: str,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        timeout: float | None = None,
    ) -> AssistantTurn:
        wait = self._timeout if timeout is None else max(min(timeout, self._timeout), 0.001)
        with self._mapped_errors(wait):
            raw = await self._client.messages.with_raw_response.create(
                model=self.model,
                max_tokens=self.max_tokens,
                system=[{"type": "text", "text": system, "cache_control": CACHE_BREAKPOINT}],
                messages=_with_history_breakpoint(_to_wire(messages)),
                tools=_tools_to_wire(tools) if tools else anthropic.omit,
                timeout=wait,
            )
            body = await raw.read()
        where = self._scrub(f"the Anthropic API at {self._base_url}")
        return self._from_wire(_reply(reply_object(body, where), where))

    def _from_wire(self, response: _Reply) -> AssistantTurn:
        texts: list[str] = []
        calls: list[ToolCall] = []
        for block in response.content:
            if block.type == "text" and block.text is not None:
                texts.append(block.text)
            elif block.type == "tool_use" and block.name is not None:
                calls.append(
                    ToolCall(id=block.id or "", name=block.name, arguments=json.dumps(block.input))
                )
        model = response.model or self.model
        wire = response.usage
        # Anthropic's input_tokens are only those after the last cache breakpoint; the neutral
        # count is every prompt token, with the cached and cache-written parts named.
        cached = wire.cache_read_input_tokens or 0
        written = wire.cache_creation_input_tokens or 0
        total = wire.input_tokens + cached + written
        usage = Usage(total, wire.output_tokens, None, cached, written)
        return AssistantTurn(
            text="".join(texts),
            tool_calls=tuple(calls),
            usage=priced(self.name, model, usage),
            stop_reason=STOP_REASONS.get(response.stop_reason or "", "other"),
            model=model,
        )


# --- the reply, as far as this provider reads it -------------------------------------------
# Validated here rather than trusted: the SDK builds its response objects without checking
# them, so `[]`, HTML or `"content": null` would otherwise surface as TypeErrors.


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Block(_Wire):
    """A content block; text and tool_use are read, other kinds (thinking, ...) skipped."""

    type: str
    text: str | None = None
    id: str | None = None
    name: str | None = None
    input: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _complete(self) -> _Block:
        if self.type == "text" and self.text is None:
            raise ValueError("a text block needs its text")
        if self.type == "tool_use" and not self.name:
            raise ValueError("a tool_use block needs the tool's name")
        return self


class _TokenUsage(_Wire):
    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    cache_creation_input_tokens: int | None = Field(default=None, ge=0)
    cache_read_input_tokens: int | None = Field(default=None, ge=0)


class _Reply(_Wire):
    content: list[_Block]
    model: str | None = None
    stop_reason: str | None = None
    usage: _TokenUsage


def _reply(data: dict[str, Any], where: str) -> _Reply:
    try:
        return _Reply.model_validate(data)
    except ValidationError as error:
        raise MalformedReplyError(
            f"{where} sent a reply of the wrong shape ({shape_problem(error)})"
        ) from None


def _to_wire(messages: Sequence[Message]) -> list[MessageParam]:
    """The conversation as Messages API turns.

    The API wants user and assistant turns to alternate, so consecutive same-role messages
    (tool results followed by a user nudge) merge into one turn, tool results first. It also
    rejects empty text blocks, so those are left out, and a turn left with nothing is dropped.
    """
    turns: list[tuple[Role, list[ContentBlockParam]]] = []
    for message in messages:
        role, blocks = _blocks(message)
        if not blocks:
            continue
        if turns and turns[-1][0] == role:
            turns[-1][1].extend(blocks)
        else:
            turns.append((role, blocks))
    wire: list[MessageParam] = []
    for role, blocks in turns:
        if role == "user":
            # Tool results must open the user turn that answers the tool calls.
            ordered = sorted(blocks, key=lambda block: block["type"] != "tool_result")
            wire.append({"role": "user", "content": ordered})
        else:
            wire.append({"role": "assistant", "content": blocks})
    return wire


def _blocks(message: Message) -> tuple[Role, list[ContentBlockParam]]:
    match message:
        case UserMessage(text=text):
            return "user", [{"type": "text", "text": text}] if text.strip() else []
        case AssistantTurn():
            blocks: list[ContentBlockParam] = []
            if message.text.strip():
                blocks.append({"type": "text", "text": message.text})
            blocks.extend(
                {
                    "type": "tool_use",
                    "id": call.id,
                    "name": call.name,
                    "input": _tool_input(call.arguments),
                }
                for call in message.tool_calls
            )
            return "assistant", blocks
        case ToolResults(results=results):
            return "user", [
                {
                    "type": "tool_result",
                    "tool_use_id": result.call_id,
                    "content": result.content,
                    "is_error": result.is_error,
                }
                for result in results
            ]
        case _:
            assert_never(message)


def _tool_input(arguments: str) -> dict[str, Any]:
    # Calls recorded from another provider or a script may carry malformed JSON; the API
    # insists on an object, so the raw text travels inside one and the model sees what it sent.
    # Arguments beyond the tools' limits travel as (clipped) text too, never re-parsed.
    if len(arguments) > MAX_ARGUMENT_CHARS or json_depth(arguments) > MAX_ARGUMENT_DEPTH:
        return {"raw_arguments": arguments[:MAX_ARGUMENT_CHARS]}
    try:
        parsed = json.loads(arguments)
    except json.JSONDecodeError:
        return {"raw_arguments": arguments}
    return parsed if isinstance(parsed, dict) else {"raw_arguments": arguments}


def _tools_to_wire(tools: Sequence[ToolSpec]) -> list[ToolParam]:
    """The tools, the last one marked so that tools and system prompt are cached together."""
    wire: list[ToolParam] = [
        {"name": tool.name, "description": tool.description, "input_schema": tool.parameters}
        for tool in tools
    ]
    wire[-1] = {**wire[-1], "cache_control": CACHE_BREAKPOINT}
    return wire


def _with_history_breakpoint(wire: list[MessageParam]) -> list[MessageParam]:
    """The conversation with its last block marked, so the next turn reads everything said so
    far from the cache and pays full price only for what is new (three breakpoints of the
    four allowed: tools, system, history). `_to_wire` built these lists; marking in place
    touches nothing the caller keeps."""
    if wire:
        content: Any = wire[-1]["content"]
        if isinstance(content, list) and content:
            content[-1] = {**content[-1], "cache_control": CACHE_BREAKPOINT}
    return wire
