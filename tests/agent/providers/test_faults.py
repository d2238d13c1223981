"""Provider faults through the real SDKs and the whole command line: every malformed reply
shape, a body trickled one byte at a time, a server that never answers. Every session ends
within its `--max-seconds` plus 10 s, prints its summary and leaves an intact transcript."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mltrainer.agent.cli.app import app
from mltrainer.agent.session.transcript import read_events
from tests.agent.providers.fake_llm_server import (
    FakeLLMServer,
    anthropic_message,
    chat_completion,
    openai_tool_call,
    text_block,
    tool_use_block,
)

runner = CliRunner()
GOOD = {
    "openai": chat_completion(content="thinking"),
    "anthropic": anthropic_message(content=[text_block("thinking")]),
}


def _shapes(provider: str) -> dict[str, dict[str, Any]]:
    good = GOOD[provider]
    body = json.dumps(good).encode()
    common: dict[str, dict[str, Any]] = {
        "truncated body": {"raw": body[: len(body) // 2]},
        "connection cut mid-body": {"body": good, "cut_after": 20},
        "HTML": {"raw": b"<html><body>502 Bad Gateway</body></html>", "content_type": "text/html"},
        "HTML labelled JSON": {"raw": b"<!doctype html><title>oops</title>"},
        "empty body": {"raw": b""},
        "[]": {"body": []},
        '"x"': {"body": "x"},
        "null": {"body": None},
        "a number": {"body": 7},
        "nested 5,000 deep": {"raw": b"[" * 5000 + b"]" * 5000},
    }
    if provider == "openai":
        message = good["choices"][0]
        return {
            **common,
            "message: null": {"body": {**good, "choices": [{**message, "message": None}]}},
            "missing choices": {"body": {k: v for k, v in good.items() if k != "choices"}},
            "empty choices": {"body": {**good, "choices": []}},
            "choices: a string": {"body": {**good, "choices": "x"}},
            "usage of strings": {"body": {**good, "usage": {"prompt_tokens": "a"}}},
            "tool call without function": {
                "body": {
                    **good,
                    "choices": [
                        {
                            **message,
                            "message": {
                                "role": "assistant",
                                "content": None,
                                "tool_calls": [{"id": "c", "type": "function", "function": None}],
                            },
                        }
                    ],
                }
            },
        }
    return {
        **common,
        "content: null": {"body": {**good, "content": None}},
        "missing content": {"body": {k: v for k, v in good.items() if k != "content"}},
        "content: a string": {"body": {**good, "content": "x"}},
        "text: null": {"body": {**good, "content": [{"type": "text", "text": None}]}},
        "tool_use without a name": {
            "body": {**good, "content": [{"type": "tool_use", "id": "t", "input": {}}]}
        },
        "usage: null": {"body": {**good, "usage": None}},
    }


CASES = [(p, shape) for p in ("openai", "anthropic") for shape in _shapes(p)]


def run_session(
    server: FakeLLMServer, provider: str, transcript: Path, max_seconds: int
) -> tuple[Any, float]:
    base_url = f"{server.url}/v1" if provider == "openai" else server.url
    started = time.monotonic()
    result = runner.invoke(
        app,
        [
            "run",
            "--goal",
            "Is SPX predictable?",
            "--provider",
            provider,
            "--model",
            "m",
            "--base-url",
            base_url,
            "--max-seconds",
            str(max_seconds),
            "--transcript",
            str(transcript),
        ],
    )
    return result, time.monotonic() - started


def assert_ended_cleanly(result: Any, transcript: Path, reason_starts: str) -> None:
    assert "Traceback" not in result.output
    assert "Session ended:" in result.stdout
    assert f"Transcript: {transcript}" in result.stdout
    events = read_events(transcript)
    assert events[0]["event"] == "session_start"
    assert events[-1]["event"] == "session_end"
    assert events[-1]["reason"].startswith(reason_starts), events[-1]["reason"]


@pytest.mark.parametrize(("provider", "shape"), CASES, ids=[f"{p}: {s}" for p, s in CASES])
def test_a_malformed_reply_ends_the_session_cleanly(
    fake_llm: FakeLLMServer, tmp_path: Path, provider: str, shape: str
) -> None:
    fake_llm.always(**_shapes(provider)[shape])
    transcript = tmp_path / "s.jsonl"

    result, seconds = run_session(fake_llm, provider, transcript, max_seconds=20)

    assert result.exit_code == 1
    assert seconds < 20 + 10
    assert_ended_cleanly(result, transcript, "provider error: ")
    assert len(fake_llm.requests) >= 1


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_one_malformed_reply_is_retried_and_the_session_goes_on(
    fake_llm: FakeLLMServer, tmp_path: Path, provider: str
) -> None:
    fake_llm.reply(raw=b"<html>502</html>", content_type="text/html")
    if provider == "openai":
        call = openai_tool_call("call_f", "finish", json.dumps({"conclusion": "no edge"}))
        fake_llm.reply(chat_completion(tool_calls=[call], finish_reason="tool_calls"))
    else:
        block = tool_use_block("toolu_f", "finish", {"conclusion": "no edge"})
        fake_llm.reply(anthropic_message(content=[block], stop_reason="tool_use"))
    transcript = tmp_path / "s.jsonl"

    result, _ = run_session(fake_llm, provider, transcript, max_seconds=30)

    assert result.exit_code == 0, result.output
    assert_ended_cleanly(result, transcript, "finished")
    assert len(fake_llm.requests) == 2


@pytest.mark.slow
@pytest.mark.parametrize("provider", ["openai", "anthropic"])
@pytest.mark.parametrize("mode", ["trickle", "hang"])
def test_a_slow_or_silent_server_cannot_outlast_the_deadline(
    fake_llm: FakeLLMServer, tmp_path: Path, provider: str, mode: str
) -> None:
    if mode == "trickle":
        fake_llm.always(GOOD[provider], trickle_s=1.0)
    else:
        fake_llm.always(GOOD[provider], hang=True)
    transcript = tmp_path / "s.jsonl"

    result, seconds = run_session(fake_llm, provider, transcript, max_seconds=3)

    assert seconds < 3 + 10
    assert result.exit_code == 0
    assert_ended_cleanly(result, transcript, "wall-time budget reached (3 s) while waiting")


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"x": 1}
    for _ in range(depth - 1):
        value = {"x": value}
    return value


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_tool_arguments_nested_too_deep_come_back_as_a_tool_error(
    fake_llm: FakeLLMServer, tmp_path: Path, provider: str
) -> None:
    deep = {"symbol": _nested(60)}
    finish = {"conclusion": "fixed it"}
    if provider == "openai":
        for call_id, name, args in (("c1", "train_model", deep), ("c2", "finish", finish)):
            call = openai_tool_call(call_id, name, json.dumps(args))
            fake_llm.reply(chat_completion(tool_calls=[call], finish_reason="tool_calls"))
    else:
        for call_id, name, args in (("t1", "train_model", deep), ("t2", "finish", finish)):
            block = tool_use_block(call_id, name, args)
            fake_llm.reply(anthropic_message(content=[block], stop_reason="tool_use"))
    transcript = tmp_path / "s.jsonl"

    result, _ = run_session(fake_llm, provider, transcript, max_seconds=60)

    assert result.exit_code == 0, result.output
    assert_ended_cleanly(result, transcript, "finished")
    runs = [e for e in read_events(transcript) if e["event"] == "tool_run"]
    assert runs[0]["content"].startswith(
        "ERROR: train_model: arguments nest 61 levels deep; the limit is 8."
    )
    # The model saw the error and its own (too deep) call again in the second request.
    assert "arguments nest 61 levels deep" in json.dumps(fake_llm.requests[1].body)


# --- replies over the size limit ----------------------------------------------------------


def _finish_reply(provider: str) -> dict[str, Any]:
    if provider == "openai":
        call = openai_tool_call("call_f", "finish", json.dumps({"conclusion": "no edge"}))
        return chat_completion(tool_calls=[call], finish_reason="tool_calls")
    block = tool_use_block("toolu_f", "finish", {"conclusion": "no edge"})
    return anthropic_message(content=[block], stop_reason="tool_use")


def _text_reply(provider: str, text: str) -> dict[str, Any]:
    if provider == "openai":
        return chat_completion(content=text)
    return anthropic_message(content=[text_block(text)])


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_a_reply_over_the_limit_is_retried_like_a_garbled_one(
    fake_llm: FakeLLMServer, tmp_path: Path, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLTRAINER_MAX_REPLY_BYTES", "65536")
    fake_llm.reply(_text_reply(provider, "x" * 100_000))
    fake_llm.reply(_finish_reply(provider))
    transcript = tmp_path / "s.jsonl"

    result, _ = run_session(fake_llm, provider, transcript, max_seconds=30)

    assert result.exit_code == 0, result.output
    assert_ended_cleanly(result, transcript, "finished")
    assert len(fake_llm.requests) == 2


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_replies_over_the_limit_end_the_session_with_the_limit_named(
    fake_llm: FakeLLMServer, tmp_path: Path, provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLTRAINER_MAX_REPLY_BYTES", "65536")
    fake_llm.always(_text_reply(provider, "x" * 100_000))
    transcript = tmp_path / "s.jsonl"

    result, _ = run_session(fake_llm, provider, transcript, max_seconds=30)

    assert result.exit_code == 1
    assert_ended_cleanly(result, transcript, "provider error: ")
    assert "the limit is 65,536 bytes" in read_events(transcript)[-1]["reason"]
    assert len(fake_llm.requests) == 3  # the first try and two more, as for any garbled reply


@pytest.mark.slow
def test_a_50_mb_reply_cannot_outlive_the_deadline(fake_llm: FakeLLMServer, tmp_path: Path) -> None:
    """The attack: a 50 MB reply under --max-seconds 60 was still running at 300 s."""
    fake_llm.always(_text_reply("openai", "x" * 50_000_000))
    transcript = tmp_path / "s.jsonl"

    result, seconds = run_session(fake_llm, "openai", transcript, max_seconds=60)

    assert seconds < 10
    assert_ended_cleanly(result, transcript, "provider error: ")
    assert "the limit is 4,194,304 bytes" in read_events(transcript)[-1]["reason"]


@pytest.mark.slow
def test_a_long_reply_within_a_raised_limit_prints_shortened_and_is_kept_whole(
    fake_llm: FakeLLMServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack: a 15 MB reply hung past its deadline inside the console's line wrapping."""
    monkeypatch.setenv("MLTRAINER_MAX_REPLY_BYTES", str(64 * 1024 * 1024))
    text = "word " * 3_000_000  # 15 MB
    fake_llm.reply(_text_reply("openai", text))
    fake_llm.reply(_finish_reply("openai"))
    transcript = tmp_path / "s.jsonl"

    result, seconds = run_session(fake_llm, "openai", transcript, max_seconds=60)

    assert seconds < 60
    assert_ended_cleanly(result, transcript, "finished")
    assert "[... 14,997,999 more characters, all in the transcript]" in result.stdout
    assert len(result.stdout) < 10_000
    said = [e["text"] for e in read_events(transcript) if e["event"] == "assistant"]
    assert said[0] == text
