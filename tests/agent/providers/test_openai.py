"""OpenAIProvider against a local server speaking the Chat Completions wire format."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import httpx2
import pytest

from mltrainer.agent.messages import (
    AssistantTurn,
    ToolCall,
    ToolResult,
    ToolResults,
    ToolSpec,
    Usage,
    UserMessage,
)
from mltrainer.agent.providers import ProviderConfigError, ProviderError
from mltrainer.agent.providers.keys import KeyRoute
from mltrainer.agent.providers.openai import OpenAIProvider
from tests.agent.providers.fake_llm_server import (
    FAKE_KEY,
    RETRY_NOW,
    FakeLLMServer,
    chat_completion,
    openai_error,
    openai_tool_call,
)

SYSTEM = "You are a careful quantitative researcher."
TRAIN = ToolSpec(
    name="train_model",
    description="Train a model walk-forward on one symbol.",
    parameters={
        "type": "object",
        "properties": {"symbol": {"type": "string"}, "model": {"type": "string"}},
        "required": ["symbol", "model"],
    },
)


@pytest.fixture
async def provider(fake_llm: FakeLLMServer) -> AsyncIterator[OpenAIProvider]:
    provider = OpenAIProvider(
        "gpt-4o", api_key=FAKE_KEY, base_url=f"{fake_llm.url}/v1", max_retries=2
    )
    yield provider
    await provider.aclose()


async def test_plain_text_reply(provider: OpenAIProvider, fake_llm: FakeLLMServer) -> None:
    fake_llm.reply(chat_completion(content="SP500 looks like a good start."))

    turn = await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    assert turn.text == "SP500 looks like a good start."
    assert turn.tool_calls == ()
    assert turn.stop_reason == "end_turn"
    assert turn.model == "gpt-4o-2024-08-06"


async def test_first_request_wire_format(provider: OpenAIProvider, fake_llm: FakeLLMServer) -> None:
    fake_llm.reply(chat_completion(content="ok"))

    await provider.complete(system=SYSTEM, messages=[UserMessage("Find an edge")], tools=[TRAIN])

    [request] = fake_llm.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {FAKE_KEY}"
    assert request.body == {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": "Find an edge"},
        ],
        "tools": [
            {
                "type": "function",
                "function": {
                    "name": "train_model",
                    "description": "Train a model walk-forward on one symbol.",
                    "parameters": TRAIN.parameters,
                },
            }
        ],
        "max_tokens": 2048,
    }


async def test_no_tools_sends_no_tools_key(
    provider: OpenAIProvider, fake_llm: FakeLLMServer
) -> None:
    fake_llm.reply(chat_completion(content="ok"))

    await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    assert "tools" not in fake_llm.requests[0].body


async def test_two_parallel_tool_calls_keep_raw_arguments(
    provider: OpenAIProvider, fake_llm: FakeLLMServer
) -> None:
    fake_llm.reply(
        chat_completion(
            content=None,
            tool_calls=[
                openai_tool_call("call_abc", "train_model", '{"symbol": "SP500", "model": "rf"}'),
                openai_tool_call("call_def", "train_model", '{"symbol":"NASDAQ","model":'),
            ],
            finish_reason="tool_calls",
        )
    )

    turn = await provider.complete(system=SYSTEM, messages=[UserMessage("Go")], tools=[TRAIN])

    assert turn.text == ""
    assert turn.tool_calls == (
        ToolCall("call_abc", "train_model", '{"symbol": "SP500", "model": "rf"}'),
        ToolCall("call_def", "train_model", '{"symbol":"NASDAQ","model":'),
    )
    assert turn.stop_reason == "tool_use"


async def test_follow_up_sends_one_tool_message_per_call(
    provider: OpenAIProvider, fake_llm: FakeLLMServer
) -> None:
    fake_llm.reply(chat_completion(content="Neither beats the baseline."))
    conversation = [
        UserMessage("Compare two models"),
        AssistantTurn(
            text="Training both.",
            tool_calls=(
                ToolCall("call_abc", "train_model", '{"symbol": "SP500", "model": "rf"}'),
                ToolCall("call_def", "train_model", '{"symbol": "SP500", "model": "svm"}'),
            ),
            stop_reason="tool_use",
        ),
        ToolResults(
            (
                ToolResult("call_abc", "train_model", "accuracy 51.2%"),
                ToolResult("call_def", "train_model", "unknown model 'svm'", is_error=True),
            )
        ),
    ]

    await provider.complete(system=SYSTEM, messages=conversation, tools=[TRAIN])

    assert fake_llm.requests[0].body["messages"] == [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "Compare two models"},
        {
            "role": "assistant",
            "content": "Training both.",
            "tool_calls": [
                {
                    "id": "call_abc",
                    "type": "function",
                    "function": {
                        "name": "train_model",
                        "arguments": '{"symbol": "SP500", "model": "rf"}',
                    },
                },
                {
                    "id": "call_def",
                    "type": "function",
                    "function": {
                        "name": "train_model",
                        "arguments": '{"symbol": "SP500", "model": "svm"}',
                    },
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_abc", "content": "accuracy 51.2%"},
        {"role": "tool", "tool_call_id": "call_def", "content": "Error: unknown model 'svm'"},
    ]


async def test_assistant_turn_without_text_sends_null_content(
    provider: OpenAIProvider, fake_llm: FakeLLMServer
) -> None:
    fake_llm.reply(chat_completion(content="done"))
    conversation = [
        UserMessage("Go"),
        AssistantTurn(text="", tool_calls=(ToolCall("call_1", "finish", "{}"),)),
        ToolResults((ToolResult("call_1", "finish", "ok"),)),
    ]

    await provider.complete(system=SYSTEM, messages=conversation, tools=[])

    assistant = fake_llm.requests[0].body["messages"][2]
    assert assistant["content"] is None


@pytest.mark.parametrize(
    ("finish_reason", "stop_reason"),
    [
        ("stop", "end_turn"),
        ("tool_calls", "tool_use"),
        ("length", "max_tokens"),
        ("content_filter", "refusal"),
        ("function_call", "other"),
    ],
)
async def test_finish_reasons(
    provider: OpenAIProvider, fake_llm: FakeLLMServer, finish_reason: str, stop_reason: str
) -> None:
    fake_llm.reply(chat_completion(content="x", finish_reason=finish_reason))

    turn = await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    assert turn.stop_reason == stop_reason


async def test_tool_calls_with_finish_reason_stop_are_tool_use(
    provider: OpenAIProvider, fake_llm: FakeLLMServer
) -> None:
    fake_llm.reply(
        chat_completion(
            tool_calls=[openai_tool_call("call_1", "finish", "{}")], finish_reason="stop"
        )
    )

    turn = await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    assert turn.stop_reason == "tool_use"


async def test_refusal_becomes_text_and_stop_reason(
    provider: OpenAIProvider, fake_llm: FakeLLMServer
) -> None:
    fake_llm.reply(chat_completion(content=None, refusal="I can't help with that."))

    turn = await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    assert (turn.text, turn.stop_reason) == ("I can't help with that.", "refusal")


async def test_usage_and_cost_of_a_dated_snapshot(
    provider: OpenAIProvider, fake_llm: FakeLLMServer
) -> None:
    fake_llm.reply(
        chat_completion(
            content="ok", model="gpt-4o-2024-08-06", prompt_tokens=1000, completion_tokens=200
        )
    )

    turn = await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    # gpt-4o: $2.50 in, $10.00 out per 1M tokens.
    assert (turn.usage.input_tokens, turn.usage.output_tokens) == (1000, 200)
    assert turn.usage.cost_usd == pytest.approx(0.0045)


async def test_cached_tokens_are_counted_and_priced_as_cached(
    provider: OpenAIProvider, fake_llm: FakeLLMServer
) -> None:
    fake_llm.reply(
        chat_completion(
            content="ok",
            model="gpt-4.1-mini",
            prompt_tokens=3000,
            cached_tokens=2048,
            completion_tokens=100,
        )
    )

    turn = await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    # OpenAI's prompt_tokens include the cached ones.
    assert (turn.usage.input_tokens, turn.usage.cached_input_tokens) == (3000, 2048)
    assert turn.usage.cache_write_tokens == 0
    # gpt-4.1-mini per 1M: $0.40 input, $0.10 cached input, $1.60 output.
    expected = (952 * 0.40 + 2048 * 0.10 + 100 * 1.60) / 1_000_000
    assert turn.usage.cost_usd == pytest.approx(expected)


async def test_cost_is_none_for_an_unknown_model(
    provider: OpenAIProvider, fake_llm: FakeLLMServer
) -> None:
    fake_llm.reply(chat_completion(content="ok", model="llama3.1:8b"))

    turn = await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    assert turn.usage == Usage(120, 30, None)


@pytest.mark.parametrize("status", [429, 500])
async def test_sdk_retries_a_transient_error(
    provider: OpenAIProvider, fake_llm: FakeLLMServer, status: int
) -> None:
    fake_llm.reply(openai_error("slow down", type="rate_limit"), status=status, headers=RETRY_NOW)
    fake_llm.reply(chat_completion(content="second time lucky"))

    turn = await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    assert turn.text == "second time lucky"
    assert len(fake_llm.requests) == 2


async def test_retries_exhausted_raise_provider_error(
    provider: OpenAIProvider, fake_llm: FakeLLMServer
) -> None:
    for _ in range(3):
        fake_llm.reply(
            openai_error("overloaded", type="server_error"), status=503, headers=RETRY_NOW
        )

    with pytest.raises(ProviderError, match="HTTP 503: overloaded") as raised:
        await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    assert raised.value.status == 503
    assert len(fake_llm.requests) == 3


async def test_401_is_a_provider_error_without_the_key(
    provider: OpenAIProvider, fake_llm: FakeLLMServer
) -> None:
    # A worst-case server that echoes the whole key back.
    fake_llm.reply(
        openai_error(
            f"Incorrect API key provided: {FAKE_KEY}.",
            type="invalid_request_error",
            code="invalid_api_key",
        ),
        status=401,
    )

    with pytest.raises(ProviderError, match="HTTP 401: Incorrect API key provided") as raised:
        await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    error = raised.value
    assert error.status == 401
    assert "invalid_api_key" in error.body
    for text in (str(error), repr(error), error.body):
        assert FAKE_KEY not in text
    assert len(fake_llm.requests) == 1


async def test_unreachable_server_is_a_provider_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = OpenAIProvider(
        "gpt-4o", api_key=FAKE_KEY, base_url=f"http://127.0.0.1:{port}/v1", max_retries=0
    )

    with pytest.raises(ProviderError, match="could not reach") as raised:
        await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    await provider.aclose()
    assert raised.value.status is None
    assert FAKE_KEY not in str(raised.value)


async def test_timeout_is_a_provider_error(fake_llm: FakeLLMServer) -> None:
    fake_llm.reply(chat_completion(content="too late"), delay_s=1.0)
    provider = OpenAIProvider(
        "gpt-4o", api_key=FAKE_KEY, base_url=f"{fake_llm.url}/v1", max_retries=0, timeout=0.1
    )

    with pytest.raises(ProviderError, match=r"did not answer within 0\.1 s") as raised:
        await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    await provider.aclose()
    assert raised.value.status is None


def test_missing_key_names_the_variable_and_offline_alternatives() -> None:
    with pytest.raises(ProviderConfigError, match="OPENAI_API_KEY") as raised:
        OpenAIProvider("gpt-4o")

    assert "mltrainer demo" in str(raised.value)
    assert "--provider scripted" in str(raised.value)


async def test_the_key_in_settings_goes_to_a_custom_server_only_when_sent_on_purpose(
    fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment-0000")
    fake_llm.reply(chat_completion(content="ok"))
    provider = OpenAIProvider(
        "gpt-4o", base_url=f"{fake_llm.url}/v1", key_route=KeyRoute(send_provider_key=True)
    )

    await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    await provider.aclose()
    assert fake_llm.requests[0].headers["authorization"] == "Bearer sk-from-the-environment-0000"


async def test_a_custom_server_never_gets_the_key_in_settings_by_default(
    fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack: every custom --base-url received the real OPENAI_API_KEY (24 of 24)."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment-0000")
    fake_llm.always(chat_completion(content="ok"))
    provider = OpenAIProvider("gpt-4o", base_url=f"{fake_llm.url}/v1")

    for _ in range(3):
        await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    await provider.aclose()
    sent = [request.headers["authorization"] for request in fake_llm.requests]
    assert sent == ["Bearer not-needed"] * 3


async def test_a_custom_server_gets_its_own_key_from_the_variable_named(
    fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment-0000")
    monkeypatch.setenv("GATEWAY_KEY", "gateway-key-0000")
    fake_llm.reply(chat_completion(content="ok"))
    provider = OpenAIProvider(
        "gpt-4o", base_url=f"{fake_llm.url}/v1", key_route=KeyRoute(key_env="GATEWAY_KEY")
    )

    await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    await provider.aclose()
    assert fake_llm.requests[0].headers["authorization"] == "Bearer gateway-key-0000"


async def test_a_keyless_server_that_refuses_is_told_how_to_give_it_a_key(
    fake_llm: FakeLLMServer,
) -> None:
    fake_llm.reply({"error": {"message": "missing key"}}, status=401)
    provider = OpenAIProvider("gpt-4o", base_url=f"{fake_llm.url}/v1", max_retries=0)

    with pytest.raises(ProviderError, match="answered HTTP 401: missing key") as raised:
        await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    await provider.aclose()
    assert "OPENAI_API_KEY goes only to api.openai.com" in str(raised.value)
    assert "--base-url-key-env NAME" in str(raised.value)
    assert "--send-key-to-base-url" in str(raised.value)


async def test_custom_base_url_needs_no_key(fake_llm: FakeLLMServer) -> None:
    fake_llm.reply(chat_completion(content="hello from a local model", model="qwen2.5:7b"))
    provider = OpenAIProvider("qwen2.5:7b", base_url=f"{fake_llm.url}/v1")

    turn = await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    await provider.aclose()
    assert turn.text == "hello from a local model"
    assert fake_llm.requests[0].headers["authorization"] == "Bearer not-needed"


async def test_official_api_gets_max_completion_tokens() -> None:
    sent: list[httpx2.Request] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        return httpx2.Response(200, json=chat_completion(content="ok"))

    client = httpx2.AsyncClient(transport=httpx2.MockTransport(answer))
    provider = OpenAIProvider("gpt-4.1", api_key=FAKE_KEY, http_client=client, max_tokens=512)

    await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    await provider.aclose()
    [request] = sent
    assert str(request.url) == "https://api.openai.com/v1/chat/completions"
    body = httpx2.Response(200, content=request.content).json()
    assert body["max_completion_tokens"] == 512
    assert "max_tokens" not in body
