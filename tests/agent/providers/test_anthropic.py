"""AnthropicProvider against a local server speaking the Messages wire format."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator

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
from mltrainer.agent.providers.anthropic import AnthropicProvider
from mltrainer.agent.providers.keys import KeyRoute
from tests.agent.providers.fake_llm_server import (
    FAKE_KEY,
    RETRY_NOW,
    FakeLLMServer,
    anthropic_error,
    anthropic_message,
    text_block,
    tool_use_block,
)

SYSTEM = "You are a careful quantitative researcher."
MODEL = "claude-haiku-4-5"
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
async def provider(fake_llm: FakeLLMServer) -> AsyncIterator[AnthropicProvider]:
    provider = AnthropicProvider(MODEL, api_key=FAKE_KEY, base_url=fake_llm.url, max_retries=2)
    yield provider
    await provider.aclose()


async def test_plain_text_reply(provider: AnthropicProvider, fake_llm: FakeLLMServer) -> None:
    fake_llm.reply(
        anthropic_message(content=[text_block("SP500 looks like a good start.")], model=MODEL)
    )

    turn = await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    assert turn.text == "SP500 looks like a good start."
    assert turn.tool_calls == ()
    assert turn.stop_reason == "end_turn"
    assert turn.model == MODEL


async def test_first_request_wire_format(
    provider: AnthropicProvider, fake_llm: FakeLLMServer
) -> None:
    fake_llm.reply(anthropic_message(content=[text_block("ok")]))

    await provider.complete(system=SYSTEM, messages=[UserMessage("Find an edge")], tools=[TRAIN])

    [request] = fake_llm.requests
    assert request.path == "/v1/messages"
    assert request.headers["authorization"] == f"Bearer {FAKE_KEY}"
    # Cache breakpoints end the stable prefix: tools and system prompt, then the history.
    cached = {"type": "ephemeral"}
    assert request.body == {
        "model": MODEL,
        "max_tokens": 2048,
        "system": [{"type": "text", "text": SYSTEM, "cache_control": cached}],
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "Find an edge", "cache_control": cached}],
            }
        ],
        "tools": [
            {
                "name": "train_model",
                "description": "Train a model walk-forward on one symbol.",
                "input_schema": TRAIN.parameters,
                "cache_control": cached,
            }
        ],
    }


async def test_cache_breakpoints_move_with_the_history(
    provider: AnthropicProvider, fake_llm: FakeLLMServer
) -> None:
    """Only the last tool and the last block of the conversation carry a breakpoint (with the
    system prompt: three of the API's four), and the caller's messages are not changed."""
    fake_llm.reply(anthropic_message(content=[text_block("ok")]))
    second = ToolSpec("compare_trials", "Compare trials.", {"type": "object", "properties": {}})
    messages = [
        UserMessage("Find an edge"),
        AssistantTurn("Training.", (ToolCall("toolu_1", "train_model", '{"symbol": "SPX"}'),)),
        ToolResults((ToolResult("toolu_1", "train_model", "accuracy 51.2%"),)),
    ]

    await provider.complete(system=SYSTEM, messages=messages, tools=[TRAIN, second])

    body = fake_llm.requests[0].body
    assert ["cache_control" in tool for tool in body["tools"]] == [False, True]
    marks = [
        "cache_control" in block for message in body["messages"] for block in message["content"]
    ]
    assert marks == [False, False, False, True]
    assert body["messages"][-1]["content"][-1]["type"] == "tool_result"
    assert messages[2] == ToolResults((ToolResult("toolu_1", "train_model", "accuracy 51.2%"),))


async def test_cached_tokens_are_counted_and_priced_as_cached(
    provider: AnthropicProvider, fake_llm: FakeLLMServer
) -> None:
    fake_llm.reply(
        anthropic_message(
            content=[text_block("ok")],
            model="claude-haiku-4-5",
            input_tokens=100,
            cache_read_input_tokens=3000,
            cache_creation_input_tokens=400,
            output_tokens=200,
        )
    )

    turn = await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[TRAIN])

    assert turn.usage.input_tokens == 3500
    assert (turn.usage.cached_input_tokens, turn.usage.cache_write_tokens) == (3000, 400)
    assert turn.usage.uncached_input_tokens == 100
    # claude-haiku-4-5 per 1M: $1 input, $0.10 cache read, $1.25 cache write, $5 output.
    expected = (100 * 1.00 + 3000 * 0.10 + 400 * 1.25 + 200 * 5.00) / 1_000_000
    assert turn.usage.cost_usd == pytest.approx(expected)


async def test_no_tools_sends_no_tools_key(
    provider: AnthropicProvider, fake_llm: FakeLLMServer
) -> None:
    fake_llm.reply(anthropic_message(content=[text_block("ok")]))

    await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    assert "tools" not in fake_llm.requests[0].body


async def test_two_parallel_tool_calls(
    provider: AnthropicProvider, fake_llm: FakeLLMServer
) -> None:
    fake_llm.reply(
        anthropic_message(
            content=[
                text_block("Training both."),
                tool_use_block("toolu_01A", "train_model", {"symbol": "SP500", "model": "rf"}),
                tool_use_block("toolu_01B", "train_model", {"symbol": "SP500", "model": "svm"}),
            ],
            stop_reason="tool_use",
        )
    )

    turn = await provider.complete(system=SYSTEM, messages=[UserMessage("Go")], tools=[TRAIN])

    assert turn.text == "Training both."
    assert turn.tool_calls == (
        ToolCall("toolu_01A", "train_model", '{"symbol": "SP500", "model": "rf"}'),
        ToolCall("toolu_01B", "train_model", '{"symbol": "SP500", "model": "svm"}'),
    )
    assert turn.stop_reason == "tool_use"


async def test_text_blocks_are_concatenated(
    provider: AnthropicProvider, fake_llm: FakeLLMServer
) -> None:
    fake_llm.reply(anthropic_message(content=[text_block("Accuracy is "), text_block("51.2%.")]))

    turn = await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    assert turn.text == "Accuracy is 51.2%."


async def test_follow_up_puts_all_tool_results_in_one_user_message_before_text(
    provider: AnthropicProvider, fake_llm: FakeLLMServer
) -> None:
    fake_llm.reply(anthropic_message(content=[text_block("Neither beats the baseline.")]))
    conversation = [
        UserMessage("Compare two models"),
        AssistantTurn(
            text="Training both.",
            tool_calls=(
                ToolCall("toolu_01A", "train_model", '{"symbol": "SP500", "model": "rf"}'),
                ToolCall("toolu_01B", "train_model", '{"symbol": "SP500", "model": "svm"}'),
            ),
            stop_reason="tool_use",
        ),
        ToolResults(
            (
                ToolResult("toolu_01A", "train_model", "accuracy 51.2%"),
                ToolResult("toolu_01B", "train_model", "unknown model 'svm'", is_error=True),
            )
        ),
        UserMessage("Continue, retrain, or switch?"),
    ]

    await provider.complete(system=SYSTEM, messages=conversation, tools=[TRAIN])

    assert fake_llm.requests[0].body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "Compare two models"}]},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Training both."},
                {
                    "type": "tool_use",
                    "id": "toolu_01A",
                    "name": "train_model",
                    "input": {"symbol": "SP500", "model": "rf"},
                },
                {
                    "type": "tool_use",
                    "id": "toolu_01B",
                    "name": "train_model",
                    "input": {"symbol": "SP500", "model": "svm"},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_01A",
                    "content": "accuracy 51.2%",
                    "is_error": False,
                },
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_01B",
                    "content": "unknown model 'svm'",
                    "is_error": True,
                },
                {
                    "type": "text",
                    "text": "Continue, retrain, or switch?",
                    "cache_control": {"type": "ephemeral"},
                },
            ],
        },
    ]


async def test_text_before_tool_results_in_one_turn_still_puts_results_first(
    provider: AnthropicProvider, fake_llm: FakeLLMServer
) -> None:
    fake_llm.reply(anthropic_message(content=[text_block("ok")]))
    conversation = [
        UserMessage("Go"),
        AssistantTurn(text="", tool_calls=(ToolCall("toolu_1", "finish", "{}"),)),
        UserMessage("(interrupted)"),
        ToolResults((ToolResult("toolu_1", "finish", "done"),)),
    ]

    await provider.complete(system=SYSTEM, messages=conversation, tools=[])

    last = fake_llm.requests[0].body["messages"][-1]
    assert [block["type"] for block in last["content"]] == ["tool_result", "text"]


async def test_empty_assistant_turn_is_dropped_and_user_turns_merge(
    provider: AnthropicProvider, fake_llm: FakeLLMServer
) -> None:
    fake_llm.reply(anthropic_message(content=[text_block("ok")]))
    conversation = [
        UserMessage("Go"),
        AssistantTurn(text="", stop_reason="max_tokens"),
        UserMessage("Use your tools."),
    ]

    await provider.complete(system=SYSTEM, messages=conversation, tools=[])

    assert fake_llm.requests[0].body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Go"},
                {
                    "type": "text",
                    "text": "Use your tools.",
                    "cache_control": {"type": "ephemeral"},
                },
            ],
        }
    ]


async def test_malformed_recorded_arguments_travel_as_raw_text(
    provider: AnthropicProvider, fake_llm: FakeLLMServer
) -> None:
    fake_llm.reply(anthropic_message(content=[text_block("ok")]))
    conversation = [
        UserMessage("Go"),
        AssistantTurn(text="", tool_calls=(ToolCall("call_1", "train_model", '{"symbol":'),)),
        ToolResults((ToolResult("call_1", "train_model", "invalid JSON", is_error=True),)),
    ]

    await provider.complete(system=SYSTEM, messages=conversation, tools=[])

    tool_use = fake_llm.requests[0].body["messages"][1]["content"][0]
    assert tool_use["input"] == {"raw_arguments": '{"symbol":'}


@pytest.mark.parametrize(
    ("wire_reason", "stop_reason"),
    [
        ("end_turn", "end_turn"),
        ("tool_use", "tool_use"),
        ("max_tokens", "max_tokens"),
        ("stop_sequence", "end_turn"),
        ("refusal", "refusal"),
        ("pause_turn", "other"),
        (None, "other"),
    ],
)
async def test_stop_reasons(
    provider: AnthropicProvider,
    fake_llm: FakeLLMServer,
    wire_reason: str | None,
    stop_reason: str,
) -> None:
    fake_llm.reply(anthropic_message(content=[text_block("x")], stop_reason=wire_reason))

    turn = await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    assert turn.stop_reason == stop_reason


async def test_usage_and_cost_of_a_dated_snapshot(
    provider: AnthropicProvider, fake_llm: FakeLLMServer
) -> None:
    fake_llm.reply(
        anthropic_message(
            content=[text_block("ok")],
            model="claude-haiku-4-5-20251001",
            input_tokens=1000,
            output_tokens=200,
        )
    )

    turn = await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    # claude-haiku-4-5: $1 in, $5 out per 1M tokens.
    assert (turn.usage.input_tokens, turn.usage.output_tokens) == (1000, 200)
    assert turn.usage.cost_usd == pytest.approx(0.002)


async def test_cost_is_none_for_an_unknown_model(
    provider: AnthropicProvider, fake_llm: FakeLLMServer
) -> None:
    fake_llm.reply(anthropic_message(content=[text_block("ok")], model="claude-next-unpriced"))

    turn = await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    assert turn.usage == Usage(1000, 200, None)


@pytest.mark.parametrize(("status", "error_type"), [(429, "rate_limit_error"), (500, "api_error")])
async def test_sdk_retries_a_transient_error(
    provider: AnthropicProvider, fake_llm: FakeLLMServer, status: int, error_type: str
) -> None:
    fake_llm.reply(anthropic_error("try again", type=error_type), status=status, headers=RETRY_NOW)
    fake_llm.reply(anthropic_message(content=[text_block("second time lucky")]))

    turn = await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    assert turn.text == "second time lucky"
    assert len(fake_llm.requests) == 2


async def test_overloaded_after_retries_is_a_provider_error(
    provider: AnthropicProvider, fake_llm: FakeLLMServer
) -> None:
    for _ in range(3):
        fake_llm.reply(
            anthropic_error("Overloaded", type="overloaded_error"), status=529, headers=RETRY_NOW
        )

    with pytest.raises(ProviderError, match="HTTP 529: Overloaded") as raised:
        await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    assert raised.value.status == 529
    assert len(fake_llm.requests) == 3


async def test_401_is_a_provider_error_without_the_key(
    provider: AnthropicProvider, fake_llm: FakeLLMServer
) -> None:
    # A worst-case server that echoes the whole key back.
    fake_llm.reply(
        anthropic_error(f"invalid x-api-key: {FAKE_KEY}", type="authentication_error"),
        status=401,
    )

    with pytest.raises(ProviderError, match="HTTP 401: invalid x-api-key") as raised:
        await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    error = raised.value
    assert error.status == 401
    assert "authentication_error" in error.body
    for text in (str(error), repr(error), error.body):
        assert FAKE_KEY not in text
    assert len(fake_llm.requests) == 1


async def test_timeout_is_a_provider_error(fake_llm: FakeLLMServer) -> None:
    fake_llm.reply(anthropic_message(content=[text_block("too late")]), delay_s=1.0)
    provider = AnthropicProvider(
        MODEL, api_key=FAKE_KEY, base_url=fake_llm.url, max_retries=0, timeout=0.1
    )

    with pytest.raises(ProviderError, match=r"did not answer within 0\.1 s") as raised:
        await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    await provider.aclose()
    assert raised.value.status is None


async def test_unreachable_server_is_a_provider_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = AnthropicProvider(
        MODEL, api_key=FAKE_KEY, base_url=f"http://127.0.0.1:{port}", max_retries=0
    )

    with pytest.raises(ProviderError, match="could not reach") as raised:
        await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    await provider.aclose()
    assert raised.value.status is None
    assert FAKE_KEY not in str(raised.value)


def test_missing_key_names_the_variable_and_offline_alternatives() -> None:
    with pytest.raises(ProviderConfigError, match="ANTHROPIC_API_KEY") as raised:
        AnthropicProvider(MODEL)

    assert "mltrainer demo" in str(raised.value)
    assert "--provider scripted" in str(raised.value)


async def test_the_key_in_settings_goes_to_a_custom_server_only_when_sent_on_purpose(
    fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-the-environment-0000")
    fake_llm.reply(anthropic_message(content=[text_block("ok")]))
    provider = AnthropicProvider(
        MODEL, base_url=fake_llm.url, key_route=KeyRoute(send_provider_key=True)
    )

    await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    await provider.aclose()
    assert (
        fake_llm.requests[0].headers["authorization"] == "Bearer sk-ant-from-the-environment-0000"
    )


async def test_a_custom_server_never_gets_the_key_in_settings_by_default(
    fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-from-the-environment-0000")
    fake_llm.reply(anthropic_message(content=[text_block("ok")]))
    provider = AnthropicProvider(MODEL, base_url=fake_llm.url)

    await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    await provider.aclose()
    headers = fake_llm.requests[0].headers
    assert "sk-ant-from-the-environment-0000" not in json.dumps(headers)


async def test_custom_base_url_needs_no_key(fake_llm: FakeLLMServer) -> None:
    fake_llm.reply(anthropic_message(content=[text_block("via the gateway")]))
    provider = AnthropicProvider(MODEL, base_url=fake_llm.url)

    turn = await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])

    await provider.aclose()
    assert turn.text == "via the gateway"
    assert fake_llm.requests[0].headers["authorization"] == "Bearer not-needed"
