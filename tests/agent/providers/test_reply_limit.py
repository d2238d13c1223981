"""Replies are bounded before anything parses them: bytes on the wire, and bytes after gzip or
deflate, each at most the limit. The attack this answers: a 64 MiB reply took 8.2 GB of memory,
and a gzip body of about 1 MB inflating to 1 GiB reached 22.9 GB before the kernel killed it."""

from __future__ import annotations

import gzip
import json
import re
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mltrainer.agent.cli.app import app
from mltrainer.agent.messages import UserMessage
from mltrainer.agent.providers.anthropic import AnthropicProvider
from mltrainer.agent.providers.base import MalformedReplyError
from mltrainer.agent.providers.openai import OpenAIProvider
from mltrainer.agent.providers.reply_limit import DEFAULT_MAX_REPLY_BYTES, ReplyTooLargeError
from tests.agent.providers.fake_llm_server import (
    FakeLLMServer,
    anthropic_message,
    chat_completion,
    openai_tool_call,
    text_block,
    tool_use_block,
)

SYSTEM = "You are a careful quantitative researcher."
GIB = 1024**3
FINISH = {
    "openai": chat_completion(
        tool_calls=[openai_tool_call("f", "finish", json.dumps({"conclusion": "no edge"}))],
        finish_reason="tool_calls",
    ),
    "anthropic": anthropic_message(
        content=[tool_use_block("f", "finish", {"conclusion": "no edge"})], stop_reason="tool_use"
    ),
}


def megabytes_of_memory() -> tuple[int, int]:
    """(resident now, peak since the last reset) in MB, from the kernel's own accounting."""
    status = Path("/proc/self/status").read_text()
    resident = int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]
    peak = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]
    return resident // 1024, peak // 1024


def reset_peak_memory() -> int:
    """Resets the kernel's peak-resident mark to now (Linux >= 4.0); returns resident MB."""
    Path("/proc/self/clear_refs").write_text("5")
    return megabytes_of_memory()[0]


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """About 1 MB of gzip that inflates to 1 GiB of zeros."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(1024 * 1024)
    parts = [packer.compress(zeros) for _ in range(1024)]
    parts.append(packer.flush())
    return b"".join(parts)


def openai(server: FakeLLMServer, limit: int | None = None) -> OpenAIProvider:
    return OpenAIProvider(
        "gpt-4o", base_url=f"{server.url}/v1", max_retries=0, max_reply_bytes=limit
    )


async def ask(provider: OpenAIProvider | AnthropicProvider) -> str:
    try:
        turn = await provider.complete(system=SYSTEM, messages=[UserMessage("Hi")], tools=[])
    finally:
        await provider.aclose()
    return turn.text


async def test_a_reply_declared_over_the_limit_is_refused_unread(fake_llm: FakeLLMServer) -> None:
    fake_llm.reply(chat_completion(content="x" * 5000))

    with pytest.raises(ReplyTooLargeError, match=r"declares 5,\d{3} bytes; the limit is 4,096"):
        await ask(openai(fake_llm, limit=4096))


async def test_an_undeclared_reply_is_cut_off_at_the_limit_on_the_wire(
    fake_llm: FakeLLMServer,
) -> None:
    fake_llm.reply(chat_completion(content="x" * 5000), declare_length=False)

    with pytest.raises(ReplyTooLargeError, match="runs past 4,096 bytes on the wire"):
        await ask(openai(fake_llm, limit=4096))


async def test_the_limit_names_the_setting_that_raises_it(fake_llm: FakeLLMServer) -> None:
    fake_llm.reply(chat_completion(content="x" * 5000))

    with pytest.raises(ReplyTooLargeError, match="raise it with MLTRAINER_MAX_REPLY_BYTES"):
        await ask(openai(fake_llm, limit=4096))


async def test_the_limit_comes_from_the_setting(
    fake_llm: FakeLLMServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLTRAINER_MAX_REPLY_BYTES", "4096")
    fake_llm.reply(chat_completion(content="x" * 5000))

    with pytest.raises(ReplyTooLargeError, match="the limit is 4,096 bytes"):
        await ask(openai(fake_llm))


async def test_a_reply_within_the_limit_is_read_whole(fake_llm: FakeLLMServer) -> None:
    fake_llm.reply(chat_completion(content="y" * 3000), declare_length=False)

    assert await ask(openai(fake_llm, limit=4096)) == "y" * 3000


async def test_a_gzip_reply_within_the_limit_is_inflated(fake_llm: FakeLLMServer) -> None:
    body = gzip.compress(json.dumps(chat_completion(content="z" * 3000)).encode())
    fake_llm.reply(raw=body, headers={"content-encoding": "gzip"})

    assert await ask(openai(fake_llm, limit=4096)) == "z" * 3000


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib", "raw"])
async def test_a_deflate_reply_is_inflated_wrapped_or_raw(
    fake_llm: FakeLLMServer, wbits: int
) -> None:
    packer = zlib.compressobj(6, zlib.DEFLATED, wbits)
    plain = json.dumps(chat_completion(content="d" * 100)).encode()
    fake_llm.reply(
        raw=packer.compress(plain) + packer.flush(), headers={"content-encoding": "deflate"}
    )

    assert await ask(openai(fake_llm)) == "d" * 100


async def test_a_small_gzip_body_that_inflates_past_the_limit_is_refused(
    fake_llm: FakeLLMServer,
) -> None:
    body = gzip.compress(json.dumps(chat_completion(content="x" * 100_000)).encode())
    assert len(body) < 4096
    fake_llm.reply(raw=body, headers={"content-encoding": "gzip"})

    with pytest.raises(ReplyTooLargeError, match=r"inflates past 4,096 bytes from \d+ on the wire"):
        await ask(openai(fake_llm, limit=4096))


async def test_a_body_that_is_not_gzip_is_a_malformed_reply(fake_llm: FakeLLMServer) -> None:
    fake_llm.reply(raw=b"plain text, labelled gzip", headers={"content-encoding": "gzip"})

    with pytest.raises(MalformedReplyError, match="sent a body that does not inflate as gzip"):
        await ask(openai(fake_llm))


async def test_an_encoding_that_is_not_asked_for_is_refused(fake_llm: FakeLLMServer) -> None:
    fake_llm.reply(raw=b"\x0b\x02\x80{}\x03", headers={"content-encoding": "br"})

    with pytest.raises(MalformedReplyError, match="encoded as br; only gzip or deflate are read"):
        await ask(openai(fake_llm))


async def test_the_request_asks_for_gzip_or_deflate_only(fake_llm: FakeLLMServer) -> None:
    fake_llm.reply(chat_completion(content="ok"))

    await ask(openai(fake_llm))

    assert fake_llm.requests[0].headers["accept-encoding"] == "gzip, deflate"


async def test_the_anthropic_provider_is_bounded_too(fake_llm: FakeLLMServer) -> None:
    fake_llm.reply(anthropic_message(content=[text_block("x" * 5000)]))
    provider = AnthropicProvider(
        "claude-haiku-4-5", base_url=fake_llm.url, max_retries=0, max_reply_bytes=4096
    )

    with pytest.raises(ReplyTooLargeError, match=r"the Anthropic API at http://127\.0\.0\.1"):
        await ask(provider)


async def test_a_reply_over_the_limit_is_not_retried_by_the_sdk(fake_llm: FakeLLMServer) -> None:
    """The session retries it as a garbled reply (`ask_model`); the SDK does not add its own."""
    fake_llm.always(chat_completion(content="x" * 5000))
    provider = AnthropicProvider(
        "claude-haiku-4-5", base_url=fake_llm.url, max_retries=3, max_reply_bytes=4096
    )

    with pytest.raises(ReplyTooLargeError):
        await ask(provider)

    assert len(fake_llm.requests) == 1


async def test_a_gzip_bomb_is_refused_within_two_seconds_with_memory_flat(
    fake_llm: FakeLLMServer, gzip_bomb: bytes
) -> None:
    fake_llm.reply(raw=gzip_bomb, headers={"content-encoding": "gzip"})
    provider = openai(fake_llm)
    before = reset_peak_memory()
    started = time.monotonic()

    with pytest.raises(ReplyTooLargeError, match=r"inflates past 4,194,304 bytes"):
        await ask(provider)

    seconds = time.monotonic() - started
    peak = megabytes_of_memory()[1]
    assert len(gzip_bomb) < 1.1e6  # about 1 MB on the wire, 1 GiB inflated
    assert seconds < 2.0
    assert peak - before < 50, f"memory grew {peak - before} MB reading a {GIB:,}-byte bomb"


def test_the_default_limit_is_four_mebibytes() -> None:
    assert DEFAULT_MAX_REPLY_BYTES == 4 * 1024 * 1024


# --- the largest reply accepted, through a whole session --------------------------------------


def _largest(make: Callable[[int], dict[str, Any]], most: int) -> bytes:
    """The body `make(n)` with the largest n (up to `most`) that fits in the default limit."""
    low, high = 1, most
    while low < high:
        middle = (low + high + 1) // 2
        if len(json.dumps(make(middle)).encode()) <= DEFAULT_MAX_REPLY_BYTES:
            low = middle
        else:
            high = middle - 1
    return json.dumps(make(low)).encode()


LARGEST: dict[str, tuple[str, Callable[[int], dict[str, Any]], int]] = {
    "openai: one long text": (
        "openai",
        lambda n: chat_completion(content="x" * n),
        DEFAULT_MAX_REPLY_BYTES,
    ),
    "openai: tool calls": (
        "openai",
        lambda n: chat_completion(
            tool_calls=[openai_tool_call(f"c{i}", "x", "") for i in range(n)],
            finish_reason="tool_calls",
        ),
        100_000,
    ),
    "anthropic: tool_use blocks": (
        "anthropic",
        lambda n: anthropic_message(
            content=[tool_use_block(f"t{i}", "x", {}) for i in range(n)], stop_reason="tool_use"
        ),
        100_000,
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("shape", list(LARGEST))
def test_the_largest_accepted_reply_costs_under_300_mb_through_a_session(
    fake_llm: FakeLLMServer, tmp_path: Path, shape: str
) -> None:
    """A reply just under the limit, of the shapes that cost most per byte (tens of thousands
    of tool calls, each answered and recorded), read, recorded, printed and answered by a
    whole `mltrainer run`; the peak resident memory above the start is what it cost
    (measured at 30 MB for the text, 120 MB for the calls and 165 MB for the blocks)."""
    provider, make, most = LARGEST[shape]
    body = _largest(make, most)
    fake_llm.reply(raw=body)
    fake_llm.always(FINISH[provider])
    base_url = f"{fake_llm.url}/v1" if provider == "openai" else fake_llm.url
    command = ["run", "--goal", "g", "--provider", provider, "--model", "m"]
    command += ["--base-url", base_url, "--transcript", str(tmp_path / "s.jsonl")]
    before = reset_peak_memory()

    result = CliRunner().invoke(app, command)

    grown = megabytes_of_memory()[1] - before
    assert len(body) > DEFAULT_MAX_REPLY_BYTES - 200
    assert "Session ended:" in result.stdout, result.output
    assert grown < 300, f"{shape}: {grown} MB above the baseline"
