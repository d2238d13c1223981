"""Keys go only where the user sends them, and credentials in URLs are never shown or stored.

A crafted transcript names a server (a fake LLM API on 127.0.0.1 standing in for a stranger's):
`mltrainer resume` must not send the user's key there unless the user repeats that URL. A
`--base-url` with `user:password@` or `?token=` must not appear in the transcript, the summary
or anything printed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mltrainer.agent.cli.app import app
from mltrainer.agent.session.transcript import Transcript, read_events
from tests.agent.providers.fake_llm_server import (
    FakeLLMServer,
    anthropic_message,
    chat_completion,
    openai_tool_call,
    tool_use_block,
)

runner = CliRunner()
KEYS = {"openai": "sk-user-openai-canary-0123456789", "anthropic": "user-anthropic-canary-98765"}
ENV = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}


@pytest.fixture
def stranger(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLMServer]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    for provider, key in KEYS.items():
        monkeypatch.setenv(ENV[provider], key)
    server = FakeLLMServer()
    yield server
    server.close()


def server_url(server: FakeLLMServer, provider: str) -> str:
    return f"{server.url}/v1" if provider == "openai" else server.url


def crafted_transcript(path: Path, provider: str, base_url: str) -> Path:
    """What someone else could hand over: a killed session that ran against their server."""
    with Transcript(path) as transcript:
        transcript.write(
            {
                "event": "session_start",
                "session_id": "crafted-1",
                "provider": provider,
                "model": "gpt-4o" if provider == "openai" else "claude-haiku-4-5",
                "provider_options": {"base_url": base_url},
                "goal": "Is SPX predictable?",
                "system": "You are a careful quantitative researcher.",
                "budgets": {"max_seconds": 60},
            }
        )
        transcript.write({"event": "user", "text": "Is SPX predictable?"})
    return path


def queue_finish(server: FakeLLMServer, provider: str) -> None:
    if provider == "openai":
        call = openai_tool_call("call_f", "finish", json.dumps({"conclusion": "done"}))
        server.reply(chat_completion(tool_calls=[call], finish_reason="tool_calls"))
    else:
        block = tool_use_block("toolu_f", "finish", {"conclusion": "done"})
        server.reply(anthropic_message(content=[block], stop_reason="tool_use"))


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_resume_sends_no_key_to_a_base_url_from_the_transcript(
    stranger: FakeLLMServer, tmp_path: Path, provider: str
) -> None:
    recorded = server_url(stranger, provider)
    path = crafted_transcript(tmp_path / "crafted.jsonl", provider, recorded)

    result = runner.invoke(app, ["resume", str(path)])

    assert result.exit_code == 1
    assert stranger.requests == []
    assert result.stderr.count("\n") == 1
    assert f"the session ran against {recorded}" in result.stderr
    assert "talks only to a server you name yourself" in result.stderr
    assert f"sends it your {ENV[provider]} only with --send-key-to-base-url" in result.stderr
    assert f"--base-url {recorded}" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_resume_goes_to_the_recorded_server_when_the_user_repeats_it_without_a_key(
    stranger: FakeLLMServer, tmp_path: Path, provider: str
) -> None:
    recorded = server_url(stranger, provider)
    path = crafted_transcript(tmp_path / "crafted.jsonl", provider, recorded)
    queue_finish(stranger, provider)

    result = runner.invoke(app, ["resume", str(path), "--base-url", recorded])

    assert result.exit_code == 0, result.output
    assert len(stranger.requests) == 1
    assert KEYS[provider] not in json.dumps(stranger.requests[0].headers)
    assert read_events(path)[-1]["reason"] == "finished"


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_resume_sends_the_key_to_a_repeated_server_only_with_the_flag(
    stranger: FakeLLMServer, tmp_path: Path, provider: str
) -> None:
    recorded = server_url(stranger, provider)
    path = crafted_transcript(tmp_path / "crafted.jsonl", provider, recorded)
    queue_finish(stranger, provider)

    result = runner.invoke(
        app, ["resume", str(path), "--base-url", recorded, "--send-key-to-base-url"]
    )

    assert result.exit_code == 0, result.output
    sent = stranger.requests[0].headers
    assert KEYS[provider] in (sent.get("authorization", "") + sent.get("x-api-key", ""))


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_resume_against_another_server_names_the_difference(
    stranger: FakeLLMServer, tmp_path: Path, provider: str
) -> None:
    path = crafted_transcript(tmp_path / "crafted.jsonl", provider, "http://198.51.100.7:9/v1")
    queue_finish(stranger, provider)
    mine = server_url(stranger, provider)

    result = runner.invoke(app, ["resume", str(path), "--base-url", mine])

    assert result.exit_code == 0, result.output
    assert f"note: the session ran against http://198.51.100.7:9/v1; continuing against {mine}" in (
        result.stderr
    )
    resumed = next(e for e in read_events(path) if e["event"] == "resumed")
    assert resumed["notes"] == [
        f"the session ran against http://198.51.100.7:9/v1; continuing against {mine}"
    ]


def test_a_recorded_url_with_credentials_asks_for_them_again(
    stranger: FakeLLMServer, tmp_path: Path
) -> None:
    path = crafted_transcript(
        tmp_path / "crafted.jsonl", "openai", "http://[REDACTED]@127.0.0.1:9/v1"
    )

    result = runner.invoke(app, ["resume", str(path)])

    assert result.exit_code == 1
    assert "--base-url http://[REDACTED]@127.0.0.1:9/v1 (with its credentials)" in result.stderr
    assert stranger.requests == []


# --- credentials in --base-url -------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_credentials_in_the_base_url_appear_nowhere(
    stranger: FakeLLMServer, tmp_path: Path, provider: str
) -> None:
    host = stranger.url.removeprefix("http://")
    suffix = "/v1" if provider == "openai" else ""
    base_url = f"http://alice:pa55word-canary@{host}{suffix}?token=tok-canary-42&api_key=k-canary"
    transcript = tmp_path / "s.jsonl"
    stranger.always({"error": {"message": f"bad request to {base_url}"}}, status=400)

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
            "--transcript",
            str(transcript),
            "--json",
        ],
    )

    assert result.exit_code == 1
    shown = result.output + transcript.read_text(encoding="utf-8")
    for secret in ("pa55word-canary", "tok-canary-42", "k-canary", "alice"):
        assert secret not in shown
    summary = json.loads(result.stdout)
    assert summary["reason"].startswith("provider error")
    assert read_events(transcript)[0]["provider_options"]["base_url"] == (
        f"http://[REDACTED]@{host}{suffix}?token=[REDACTED]&api_key=[REDACTED]"
    )
