"""OpenAI Chat Completions provider; `base_url` reaches any OpenAI-compatible server (vLLM,
Ollama, llama.cpp, LM Studio). All translation to and from the wire format lives here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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
from mltrainer.agent.providers.base import (
    MalformedReplyError,
    Provider,
    ProviderConfigError,
    ProviderError,
    reply_object,
    shape_problem,
)
from mltrainer.engine.redaction import redact_text, register_secrets
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
        if key != PLACEHOLDER_KEY:
            register_secrets([key])
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

    async def aclose(self) -> None:
        await self._client.close()

    def _scrub(self, text: str) -> str:
        return redact_text(text, [self._key])

    @contextmanager
    def _mapped_errors(self, wait: float) -> Iterator[None]:
        """Every SDK and transport failure as one `ProviderError`, key and credentials removed."""
        try:
            yield
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
                self._scrub(
                    f"OpenAI-compatible API at {self._base_url} did not answer within "
                    f"{wait:g} s (after {self._client.max_retries} retries)"
                )
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
        if response.usage is not None:
            input_tokens = response.usage.prompt_tokens
            output_tokens = response.usage.completion_tokens
            usage = Usage(
                input_tokens, output_tokens, _cost_usd(model, input_tokens, output_tokens)
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


class _TokenUsage(_Wire):
    prompt_tokens: int = Field(default=0, ge=0)
    completion_tokens: int = Field(default=0, ge=0)


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
