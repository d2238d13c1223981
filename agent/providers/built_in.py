"""The built-in providers, registered through `register_provider` as a plugin's would be, in
the order the UI lists them. Each is built on first use: the OpenAI and Anthropic SDKs take
seconds to import, which offline runs (`demo`, scripted, replay) should not pay.
"""

from __future__ import annotations

from pathlib import Path

from mltrainer.agent.providers.base import Provider
from mltrainer.agent.providers.keys import NO_KEY_ROUTE, KeyRoute
from mltrainer.agent.providers.registry import register_provider


def _direct(*, model: str, base_url: str | None = None) -> Provider:
    from mltrainer.agent.providers.direct import DirectProvider

    return DirectProvider(model=model)


def _openai(
    *, model: str, base_url: str | None = None, key_route: KeyRoute = NO_KEY_ROUTE
) -> Provider:
    from mltrainer.agent.providers.openai import OpenAIProvider

    return OpenAIProvider(model, base_url=base_url, key_route=key_route)


def _anthropic(
    *, model: str, base_url: str | None = None, key_route: KeyRoute = NO_KEY_ROUTE
) -> Provider:
    from mltrainer.agent.providers.anthropic import AnthropicProvider

    return AnthropicProvider(model, base_url=base_url, key_route=key_route)


def _scripted(*, model: str, script: Path, base_url: str | None = None) -> Provider:
    from mltrainer.agent.providers.scripted import ScriptedProvider

    return ScriptedProvider.from_file(script, model=model)


def _replay(*, model: str, transcript: Path, base_url: str | None = None) -> Provider:
    from mltrainer.agent.providers.replay import ReplayProvider

    return ReplayProvider.from_transcript(transcript)


def register_built_in_providers() -> None:
    register_provider(
        "direct", _direct, label="Direct (no LLM)", default_model="person", needs="person"
    )
    register_provider(
        "openai",
        _openai,
        label="OpenAI",
        key_env="OPENAI_API_KEY",
        default_model="gpt-4.1-mini",
    )
    register_provider(
        "anthropic",
        _anthropic,
        label="Anthropic",
        key_env="ANTHROPIC_API_KEY",
        default_model="claude-haiku-4-5",
    )
    # The OpenAI provider pointed at another server (vLLM, Ollama, llama.cpp, LM Studio): its
    # sessions record the provider as openai, with the server's URL.
    register_provider(
        "compatible",
        _openai,
        label="OpenAI-compatible server",
        default_model="qwen2.5",
        needs="base_url",
        default_base_url="http://127.0.0.1:11434/v1",
    )
    register_provider(
        "scripted",
        _scripted,
        label="Scripted: a turns file",
        default_model="scripted",
        needs="script",
    )
    register_provider("replay", _replay, label="Replay: a transcript", needs="transcript")
