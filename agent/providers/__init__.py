"""LLM providers behind one interface, and `make_provider` to build one by name for the CLI.
Importing anything from here registers the built-in providers first (`built_in.py`), so the
registry is never read without them.

`OpenAIProvider` and `AnthropicProvider` are imported on first use: their SDKs take seconds
to import, which offline runs (`demo`, scripted, replay) should not pay.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mltrainer.agent.providers.base import (
    Provider,
    ProviderConfigError,
    ProviderError,
    ReplayDivergence,
    ScriptFinished,
)
from mltrainer.agent.providers.built_in import register_built_in_providers
from mltrainer.agent.providers.function import FunctionInfo, FunctionProvider
from mltrainer.agent.providers.keys import KeyRoute
from mltrainer.agent.providers.registry import provider_entry, register_provider
from mltrainer.agent.providers.replay import ReplayProvider
from mltrainer.agent.providers.scripted import ScriptedProvider

if TYPE_CHECKING:
    from mltrainer.agent.providers.anthropic import AnthropicProvider
    from mltrainer.agent.providers.openai import OpenAIProvider

__all__ = [
    "AnthropicProvider",
    "FunctionInfo",
    "FunctionProvider",
    "KeyRoute",
    "OpenAIProvider",
    "Provider",
    "ProviderConfigError",
    "ProviderError",
    "ReplayDivergence",
    "ReplayProvider",
    "ScriptFinished",
    "ScriptedProvider",
    "make_provider",
    "register_provider",
]

register_built_in_providers()


def make_provider(
    name: str,
    *,
    model: str,
    base_url: str | None = None,
    script: Path | None = None,
    transcript: Path | None = None,
    key_route: KeyRoute | None = None,
) -> Provider:
    """The provider called `name`, for a command; `ProviderConfigError` when it cannot start.

    `base_url` applies to the providers that talk to a server, `script` is required for
    scripted and `transcript` for replay (whose model comes from the transcript), `key_route`
    to a provider with a key sent to a custom `base_url` (`providers/keys.py`). A provider
    that speaks for a person (direct) is started from the UI's chat, never from a command.
    """
    entry = provider_entry(name)
    if entry.speaks_for_a_person:
        raise ProviderConfigError(
            f"a {name} session takes a person's words from the chat of `mltrainer ui`; "
            "start or resume it there (Sessions page)"
        )
    return entry.build(
        model=model, base_url=base_url, script=script, transcript=transcript, key_route=key_route
    )


def __getattr__(name: str) -> Any:
    if name == "OpenAIProvider":
        from mltrainer.agent.providers.openai import OpenAIProvider

        return OpenAIProvider
    if name == "AnthropicProvider":
        from mltrainer.agent.providers.anthropic import AnthropicProvider

        return AnthropicProvider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
