"""OpenAI Chat Completions provider; `base_url` reaches any OpenAI-compatible server (vLLM,
Ollama, llama.cpp, LM Studio). All translation to and from the wire format lives here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, assert_never

import httpx2
import openai
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionMessageFunctionToolCall,
    ChatCompletionMessageParam,
    ChatCompletionToolParam,
)

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
from mltrainer.agent.providers.base import Provider, ProviderConfigError, ProviderError
from mltrainer.agent.transcript import redact
from mltrainer.engine.settings import load_settings

DEFAULT_BASE_URL = "https://api.openai.com/v1"
# OpenAI-compatible servers mostly ignore the key, but the SDK refuses to start without one.
PLACEHOLDER_KEY = "not-needed"

FINISH_REASONS: dict[str, StopReason] = {
    "stop": "end_turn",
    "tool_calls": "tool_use",
    "length": "max_tokens",
    "content_filter": "refusal",
}

# USD per 1M tokens (input, output), from OpenAI's published prices.
PRICES_PER_MILLION: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "o4-mini": (1.10, 4.40),
}
_DATED_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")


def _cost_usd(model: str, input_tokens: int, output_tokens: int) -> float | None:
    price = PRICES_PER_MILLION.get(_DATED_SNAPSHOT.sub("", model))
    if price is None:
        return None
    return (input_tokens * price[0] + output_tokens * price[1]) / 1_000_000


class OpenAIProvider(Provider):
    """Chat Completions through the official SDK, whose `max_retries` is the only retry layer."""

    name = "openai"

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
    ) -> None:
        self.model = model
        self.max_tokens = max_tokens
        self._base_url = base_url or DEFAULT_BASE_URL
        self._official = self._base_url.rstrip("/") == DEFAULT_BASE_URL
        key = api_key or _key_from_settings()
        if not key:
            if self._official:
                raise ProviderConfigError(
                    "OPENAI_API_KEY is not set: put it in the environment or in .env, or work "
                    "offline with `mltrainer demo` or `mltrainer run --provider scripted`"
                )
            key = PLACEHOLDER_KEY
        self._key = key
        self._timeout = timeout
        self._client = openai.AsyncOpenAI(
            api_key=key,
            base_url=self._base_url,
            max_retries=max_retries,
            timeout=timeout,
            http_client=http_client,
        )

    async def complete(
        self,
        *,
        system: str,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
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
        try:
            response = await self._client.chat.completions.create(
                model=self.model,
                messages=wire_messages,
                tools=[_tool_to_wire(tool) for tool in tools] if tools else openai.omit,
                **limit,
            )
        except openai.APIStatusError as error:
            raise ProviderError(
                self._scrub(
                    f"OpenAI-compatible API at {self._base_url} answered HTTP "
                    f"{error.status_code}: {_error_detail(error.body)}"
                ),
                status=error.status_code,
                body=self._scrub(_body_text(error.body)),
            ) from error
        except openai.APITimeoutError as error:
            raise ProviderError(
                f"OpenAI-compatible API at {self._base_url} did not answer within "
                f"{self._timeout:g} s (after {self._client.max_retries} retries)"
            ) from error
        except openai.APIConnectionError as error:
            raise ProviderError(
                self._scrub(
                    f"could not reach the OpenAI-compatible API at {self._base_url} "
                    f"(after {self._client.max_retries} retries): {error.__cause__ or error}"
                )
            ) from error
        except openai.OpenAIError as error:
            raise ProviderError(self._scrub(f"OpenAI client error: {error}")) from error
        return self._from_wire(response)

    async def aclose(self) -> None:
        await self._client.close()

    def _scrub(self, text: str) -> str:
        return str(redact(text, [self._key]))

    def _from_wire(self, response: ChatCompletion) -> AssistantTurn:
        if not response.choices:
            raise ProviderError(f"OpenAI-compatible API at {self._base_url} returned no choices")
        choice = response.choices[0]
        message = choice.message
        calls = tuple(
            ToolCall(id=call.id, name=call.function.name, arguments=call.function.arguments)
            for call in message.tool_calls or ()
            if isinstance(call, ChatCompletionMessageFunctionToolCall)
        )
        stop_reason = FINISH_REASONS.get(choice.finish_reason, "other")
        # llama.cpp and older Ollama answer tool calls with finish_reason "stop".
        if calls and stop_reason == "end_turn":
            stop_reason = "tool_use"
        text = message.content or ""
        if message.refusal and not text:
            text, stop_reason = message.refusal, "refusal"
        model = response.model or self.model
        usage = Usage()
        if response.usage is not None:
            input_tokens = response.usage.prompt_tokens
            output_tokens = response.usage.completion_tokens
            usage = Usage(
                input_tokens, output_tokens, _cost_usd(model, input_tokens, output_tokens)
            )
        return AssistantTurn(
            text=text, tool_calls=calls, usage=usage, stop_reason=stop_reason, model=model
        )


def _key_from_settings() -> str | None:
    secret = load_settings().openai_api_key
    return secret.get_secret_value() if secret is not None else None


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


def _error_detail(body: object) -> str:
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return _body_text(body)[:300] or "no details"


def _body_text(body: object) -> str:
    if body is None:
        return ""
    if isinstance(body, str):
        return body
    return json.dumps(body, ensure_ascii=False, default=str)


def _tool_content(result: ToolResult) -> str:
    """Chat Completions has no error flag on tool messages, so an error says so in its text."""
    if result.is_error and not result.content.lower().startswith("error"):
        return f"Error: {result.content}"
    return result.content
