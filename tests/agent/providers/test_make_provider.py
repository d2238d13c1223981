"""make_provider: the CLI's way to build a provider by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from mltrainer.agent.providers import (
    AnthropicProvider,
    OpenAIProvider,
    ProviderConfigError,
    ReplayProvider,
    ScriptedProvider,
    make_provider,
)
from mltrainer.agent.session.transcript import Transcript


async def test_openai_with_a_local_base_url() -> None:
    provider = make_provider("openai", model="llama3.1:8b", base_url="http://127.0.0.1:11434/v1")

    assert isinstance(provider, OpenAIProvider)
    assert provider.model == "llama3.1:8b"
    await provider.aclose()


async def test_anthropic_with_a_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-0000")

    provider = make_provider("anthropic", model="claude-haiku-4-5")

    assert isinstance(provider, AnthropicProvider)
    await provider.aclose()


def test_openai_without_a_key_is_a_config_error() -> None:
    with pytest.raises(ProviderConfigError, match="OPENAI_API_KEY"):
        make_provider("openai", model="gpt-4o")


def test_scripted_reads_the_script(tmp_path: Path) -> None:
    script = tmp_path / "script.yaml"
    script.write_text("- Hello.\n")

    provider = make_provider("scripted", model="scripted", script=script)

    assert isinstance(provider, ScriptedProvider)


def test_scripted_without_a_script_is_a_config_error() -> None:
    with pytest.raises(ProviderConfigError, match="needs a script file"):
        make_provider("scripted", model="scripted")


def test_replay_reads_the_transcript(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    with Transcript(path) as recording:
        recording.write(
            {
                "event": "session_start",
                "session_id": "s-1",
                "provider": "anthropic",
                "model": "m",
                "goal": "g",
            }
        )

    provider = make_provider("replay", model="ignored", transcript=path)

    assert isinstance(provider, ReplayProvider)
    assert (provider.name, provider.model) == ("anthropic", "m")


def test_replay_without_a_transcript_is_a_config_error() -> None:
    with pytest.raises(ProviderConfigError, match="needs a transcript file"):
        make_provider("replay", model="m")


def test_unknown_name_lists_the_choices() -> None:
    with pytest.raises(
        ProviderConfigError,
        match="unknown provider 'gemini'; choose one of: openai, anthropic, compatible, scripted, "
        "replay",
    ):
        make_provider("gemini", model="m")
