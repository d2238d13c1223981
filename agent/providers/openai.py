"""OpenAI Chat Completions provider; `base_url` reaches any OpenAI-compatible server (vLLM,
Ollama, llama.cpp, LM Studio). All translation to and from the wire format lives here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, assert_never

import httpx2
import openai
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mltrainer.agent.messages import (
    AssistantTurn,
    Message,
    StopReason,
    ToolCall,
    ToolResult,
    ToolResults,
    ToolSpec,
    Usage,
    UserMessage,
)
from mltrainer.agent.providers.base import MalformedReplyError, reply_object, shape_problem
from mltrainer.agent.providers.keys import NO_KEY_ROUTE, KeyRoute
from mltrainer.agent.providers.pricing import priced
from mltrainer.agent.providers.sdk_errors import SdkProvider

DEFAULT_BASE_URL = "https://api.openai.com/v1"
KEY_VARIABLE = "OPENAI_API_KEY"
# What a server that gets no key is sent: OpenAI-compatible servers mostly ignore the key, but
# the SDK refuses to start without one.

FINISH_REASONS: dict[str, StopReason] = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "length": "max_tokens",
    "content_filter": "refusal",
}


class OpenAIProvider(SdkProvider):
    """Chat Completions through the official SDK, whose `max_retries` is the only retry layer."""

    name = "openai"
    sdk = openai
    sdk_error = openai.OpenAIError
    api = "OpenAI-compatible API"
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
        self._official = self._base_url.rstrip("/") == DEFAULT_BASE_URL
        self._take_key(api_key, key_route)
        self._timeout = timeout
        self._client = openai.AsyncOpenAI(
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
        wire_messages: list[ChatCompletionMessageParam] = [{"role": "system", "content": system}]
        wire_messages.extend(_to_wire(messages))
        # OpenAI itself wants `max_completion_tokens` (newer models reject `max_tokens`); the
        # compatible servers still widely understand only `max_tokens`.
        limit: dict[str, Any] = (
            {"max_completion_tokens": self.max_tokens}
            if self._official
            else {"max_tokens": self.max_tokens}
        )
        wait = self._timeout if timeout is None else max(min(timeout, self._timeout), 0.001)
        with self._mapped_errors(wait):
            raw = await self._client.chat.completions.with_raw_response.create(
                model=self.model,
                messages=wire_messages,
                tools=[_tool_to_wire(tool) for tool in tools] if tools else openai.omit,
                timeout=wait,
                **limit,
            )
        where = self._scrub(f"the OpenAI-compatible API at {self._base_url}")
        return self._from_wire(_completion(reply_object(raw.content, where), where))

    def _from_wire(self, response: _Completion) -> AssistantTurn:
        choice = response.choices[0]
        message = choice.message
        calls = tuple(
            ToolCall(id=call.id, name=call.function.name, arguments=call.function.text())
            for call in message.tool_calls or ()
        )
        stop_reason = FINISH_REASONS.get(choice.finish_reason or "", "other")
        # llama.cpp and older Ollama answer tool calls with finish_reason "stop".
        if calls and stop_reason == "end_turn":
            stop_reason = "tool_use"
        text = message.content or ""
        if message.refusal and not text:
            text, stop_reason = message.refusal, "refusal"
        model = response.model or self.model
        usage = Usage()
        if (wire := response.usage) is not None:
            # OpenAI caches long prompt prefixes by itself (system and tools come first, so they
            # are the stable prefix); prompt_tokens includes the cached ones.
            details = wire.prompt_tokens_details
            cached = details.cached_tokens if details and details.cached_tokens else 0
            usage = priced(
                self.name,
                model,
                Usage(
                    wire.prompt_tokens,
                    wire.completion_tokens,
                    None,
                    min(cached, wire.prompt_tokens),
                ),
            )
        return AssistantTurn(
            text=text, tool_calls=calls, usage=usage, stop_reason=stop_reason, model=model
        )


# --- the reply, as far as this provider reads it -------------------------------------------
# Validated here rather than trusted: the SDK builds its response objects without checking
# them, so `[]`, HTML or `"message": null` would otherwise surface as AttributeErrors.


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Function(_Wire):
    name: str
    # A few compatible servers send the arguments as an object instead of JSON text.
    arguments: str | dict[str, Any] = ""

    def text(self) -> str:
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(self.arguments)


class _ToolCall(_Wire):
    id: str = ""
    type: str = "function"
    function: _Function


class _Message(_Wire):
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[_ToolCall] | None = None


class _Choice(_Wire):
    message: _Message
    finish_reason: str | None = None


class _PromptDetails(_Wire):
    cached_tokens: int | None = Field(default=None, ge=0)


class _TokenUsage(_Wire):
    prompt_tokens: int = Field(default=0, ge=0)
    completion_tokens: int = Field(default=0, ge=0)
    prompt_tokens_details: _PromptDetails | None = None


class _Completion(_Wire):
    choices: list[_Choice] = Field(min_length=1)
    model: str | None = None
    usage: _TokenUsage | None = None


def _completion(data: dict[str, Any], where: str) -> _Completion:
    try:
        return _Completion.model_validate(data)
    except ValidationError as error:
        raise MalformedReplyError(
            f"{where} sent a reply of the wrong shape ({shape_problem(error)})"
        ) from None


def _to_wire(messages: Sequence[Message]) -> list[ChatCompletionMessageParam]:
    wire: list[ChatCompletionMessageParam] = []
    for message in messages:
        match message:
            case UserMessage(text=text):
                wire.append({"role": "user", "content": text})
            case AssistantTurn():
                if message.tool_calls:
                    wire.append(
                        {
                            "role": "assistant",
                            "content": message.text or None,
                            "tool_calls": [
                                {
                                    "id": call.id,
                                    "type": "function",
                                    "function": {"name": call.name, "arguments": call.arguments},
                                }
                                for call in message.tool_calls
                            ],
                        }
                    )
                else:
                    wire.append({"role": "assistant", "content": message.text})
            case ToolResults(results=results):
                # Chat Completions has no error flag on tool messages; say it in the text.
                wire.extend(
                    {
                        "role": "tool",
                        "tool_call_id": result.call_id,
                        "content": _tool_content(result),
                    }
                    for result in results
                )
            case _:
                assert_never(message)
    return wire


def _tool_to_wire(tool: ToolSpec) -> ChatCompletionToolParam:
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": tool.parameters,
        },
    }


def _tool_content(result: ToolResult) -> str:
    """Chat Completions has no error flag on tool messages, so an error says so in its text."""
    if result.is_error and not result.content.lower().startswith("error"):
        return f"Error: {result.content}"
    return result.content
