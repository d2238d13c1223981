"""LLM providers behind one interface, and `make_provider` to build one by name for the CLI.

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
from mltrainer.agent.providers.function import FunctionInfo, FunctionProvider
from mltrainer.agent.providers.registry import PROVIDER_FACTORIES, register_provider
from mltrainer.agent.providers.replay import ReplayProvider
from mltrainer.agent.providers.scripted import ScriptedProvider

if TYPE_CHECKING:
    from mltrainer.agent.providers.anthropic import AnthropicProvider
    from mltrainer.agent.providers.openai import OpenAIProvider

__all__ = [
    "PROVIDER_NAMES",
    "AnthropicProvider",
    "FunctionInfo",
    "FunctionProvider",
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

PROVIDER_NAMES = ("openai", "anthropic", "scripted", "replay")


def make_provider(
    name: str,
    *,
    model: str,
    base_url: str | None = None,
    script: Path | None = None,
    transcript: Path | None = None,
) -> Provider:
    """The provider called `name`; `ProviderConfigError` when it cannot start.

    `base_url` applies to openai and anthropic, `script` is required for scripted and
    `transcript` for replay (whose model comes from the transcript).
    """
    match name:
        case "openai":
            from mltrainer.agent.providers.openai import OpenAIProvider

            return OpenAIProvider(model, base_url=base_url)
        case "anthropic":
            from mltrainer.agent.providers.anthropic import AnthropicProvider

            return AnthropicProvider(model, base_url=base_url)
        case "scripted":
            if script is None:
                raise ProviderConfigError("the scripted provider needs a script file (--script)")
            return ScriptedProvider.from_file(script, model=model)
        case "direct":
            raise ProviderConfigError(
                "a direct session takes a person's words from the chat of `mltrainer ui`; "
                "start or resume it there (Sessions page)"
            )
        case "replay":
            if transcript is None:
                raise ProviderConfigError("the replay provider needs a transcript file")
            return ReplayProvider.from_transcript(transcript)
        case _:
            from mltrainer.engine.plugins import load_plugins

            load_plugins()
            if name in PROVIDER_FACTORIES:
                return PROVIDER_FACTORIES[name](model=model, base_url=base_url)
            raise ProviderConfigError(
                f"unknown provider {name!r}; choose one of: "
                f"{', '.join([*PROVIDER_NAMES, *PROVIDER_FACTORIES])}"
            )


def __getattr__(name: str) -> Any:
    if name == "OpenAIProvider":
        from mltrainer.agent.providers.openai import OpenAIProvider

        return OpenAIProvider
    if name == "AnthropicProvider":
        from mltrainer.agent.providers.anthropic import AnthropicProvider

        return AnthropicProvider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
