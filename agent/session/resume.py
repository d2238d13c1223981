"""Which provider a resumed session talks to. Keys go only where the user sends them.

A transcript can come from someone else, so nothing in it decides where the user's API key
goes: the provider and model default to the recorded ones (names are harmless), but a base URL
recorded in the transcript is used only when the user repeats it on the command line. Without
it, resume refuses and says how to repeat it; with another one, the difference is named.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mltrainer.agent.providers import make_provider
from mltrainer.agent.providers.base import Provider, ProviderConfigError
from mltrainer.agent.providers.keys import NO_KEY_ROUTE, KeyRoute
from mltrainer.agent.providers.registry import provider_entry
from mltrainer.engine.redaction import REDACTED, redact_text


@dataclass(frozen=True)
class ProviderRequest:
    """What the user asked for on the command line; None means "as recorded"."""

    provider: str | None = None
    model: str | None = None
    base_url: str | None = None
    script: Path | None = None
    key_route: KeyRoute = NO_KEY_ROUTE


def provider_for_resume(
    header: dict[str, Any], assistant_turns: int, request: ProviderRequest
) -> tuple[Provider, list[str]]:
    """The provider to continue with, and notes naming where it differs from the recording."""
    recorded_name = str(header.get("provider", ""))
    recorded_model = str(header.get("model", ""))
    options = header.get("provider_options") or {}
    name = request.provider or recorded_name
    model = request.model or recorded_model
    notes: list[str] = []
    if name != recorded_name:
        notes.append(f"the session ran with provider {recorded_name!r}; continuing with {name!r}")
    if model != recorded_model:
        notes.append(f"the session ran with model {recorded_model!r}; continuing with {model!r}")
    entry = provider_entry(name)
    if entry.needs == "transcript":
        raise ProviderConfigError(
            "a resumed session needs a live or scripted provider; to re-run a transcript "
            "offline, use `mltrainer replay`"
        )
    if entry.needs == "script":
        script = _script(options, request.script)
        provider = make_provider(name, model=model, script=script)
        return provider.resumed_after(assistant_turns), notes
    recorded_url = options.get("base_url") if name == recorded_name else None
    if request.base_url is None:
        if recorded_url:
            raise ProviderConfigError(_repeat_url_message(entry.key_env, recorded_url))
        provider = make_provider(name, model=model, key_route=request.key_route)
        return provider.resumed_after(assistant_turns), notes
    shown = redact_text(request.base_url)
    if recorded_url and shown != recorded_url:
        notes.append(f"the session ran against {recorded_url}; continuing against {shown}")
    elif not recorded_url:
        notes.append(
            f"the session ran against the provider's default server; continuing against {shown}"
        )
    provider = make_provider(
        name, model=model, base_url=request.base_url, key_route=request.key_route
    )
    return provider.resumed_after(assistant_turns), notes


def _repeat_url_message(key_env: str | None, recorded_url: str) -> str:
    credentials = " (with its credentials)" if REDACTED in recorded_url else ""
    return (
        f"the session ran against {recorded_url}, a server named in the transcript; mltrainer "
        f"talks only to a server you name yourself (and sends it your {key_env or 'API key'} "
        f"only with --send-key-to-base-url). To continue there, repeat it: --base-url "
        f"{recorded_url}{credentials}; or give another --base-url, or --provider"
    )


def _script(options: dict[str, Any], script: Path | None) -> Path:
    path = script or (Path(options["script"]) if options.get("script") else None)
    if path is None:
        raise ProviderConfigError(
            "the transcript does not name the script it ran from; give it with --script"
        )
    return path
