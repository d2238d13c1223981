"""The provider registry: every LLM provider by name, with what a surface needs to offer it
without building it (a label, the variable holding its key, a default model, what it needs to
start). The built-in providers register here through `register_provider` like a plugin's
(`providers/built_in.py`), so `mltrainer run`, `resume` and the UI's provider list all read
the names from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from mltrainer.agent.providers.base import Provider, ProviderConfigError
from mltrainer.agent.providers.keys import KeyRoute

# What a provider needs besides a model: a turns file, a recorded transcript, the base URL of
# a server, or a person typing in the UI's chat (the provider speaks for them).
Need = Literal["script", "transcript", "base_url", "person"]
_ASKED_FOR: dict[Need, str] = {
    "script": "a script file (--script)",
    "transcript": "a transcript file",
    "base_url": "the base URL of a server (--base-url)",
}


class ProviderFactory(Protocol):
    def __call__(self, *, model: str, base_url: str | None = None) -> Provider: ...


@dataclass(frozen=True)
class ProviderEntry:
    """A provider as registered. `factory(model=..., base_url=...)` builds it; a provider that
    needs a script or a transcript gets that too, as `script=` or `transcript=`, and one with a
    key gets `key_route=` when the user allowed a custom base URL a key."""

    name: str
    factory: Callable[..., Provider]
    label: str
    key_env: str | None = None
    default_model: str | None = None
    needs: Need | None = None
    default_base_url: str | None = None

    @property
    def speaks_for_a_person(self) -> bool:
        return self.needs == "person"

    @property
    def chooses_model(self) -> bool:
        """Whether a person picks its model; turns from a script, a recording or a person
        come from no model to choose."""
        return self.needs not in ("script", "transcript", "person")

    def key(self) -> str | None:
        """Its API key when set (environment or `.env`); None when it needs none."""
        if self.key_env is None:
            return None
        from mltrainer.engine.settings import env_secret

        secret = env_secret(self.key_env)
        value = secret.get_secret_value() if secret is not None else ""
        return value or None

    def build(
        self,
        *,
        model: str | None = None,
        base_url: str | None = None,
        script: Path | None = None,
        transcript: Path | None = None,
        key_route: KeyRoute | None = None,
    ) -> Provider:
        """The provider, or `ProviderConfigError` naming what it still needs. `key_route` is
        what the user allowed a custom base URL to receive (see `providers/keys.py`); only a
        provider with a key takes it."""
        given: dict[Need, object] = {
            "script": script,
            "transcript": transcript,
            "base_url": base_url,
        }
        if self.needs in _ASKED_FOR and given[self.needs] is None:
            raise ProviderConfigError(f"the {self.name} provider needs {_ASKED_FOR[self.needs]}")
        chosen = model or self.default_model or ""
        if not chosen and self.chooses_model:
            raise ProviderConfigError(f"name a model for the {self.name} provider (--model)")
        extra: dict[str, object] = (
            {self.needs: given[self.needs]} if self.needs in ("script", "transcript") else {}
        )
        if key_route is not None and key_route.allows_a_key:
            if self.key_env is None:
                raise ProviderConfigError(
                    f"the {self.name} provider sends no key, so --send-key-to-base-url and "
                    "--base-url-key-env do not apply to it"
                )
            if key_route.send_provider_key and base_url is None:
                raise ProviderConfigError(
                    f"--send-key-to-base-url sends {self.key_env} to the server named by "
                    f"--base-url; without one, {self.name}'s own API gets it anyway"
                )
            extra["key_route"] = key_route
        return self.factory(model=chosen, base_url=base_url, **extra)


PROVIDERS: dict[str, ProviderEntry] = {}


def register_provider(
    name: str,
    factory: ProviderFactory | Callable[..., Provider],
    *,
    label: str | None = None,
    key_env: str | None = None,
    default_model: str | None = None,
    needs: Need | None = None,
    default_base_url: str | None = None,
    replace: bool = False,
) -> None:
    """Make `factory(model=..., base_url=...)` the provider called `name`: `mltrainer run
    --provider NAME`, `mltrainer resume` and the UI's provider list reach it. `label` is how
    the UI shows it (the name by default), `key_env` the variable holding its key (read from
    the environment or `.env`, redacted from every transcript), `default_model` the model
    offered first. A name already registered (the built-ins' too) is refused unless `replace`."""
    if not callable(factory):
        raise TypeError(f"a provider factory must be callable, got {type(factory).__name__}")
    if name in PROVIDERS and not replace:
        raise ValueError(
            f"a provider called {name!r} is already registered; pass replace=True to swap it"
        )
    if needs is not None and needs not in (*_ASKED_FOR, "person"):
        raise ValueError(f"needs={needs!r} is not one of: {', '.join((*_ASKED_FOR, 'person'))}")
    PROVIDERS[name] = ProviderEntry(
        name, factory, label or name, key_env, default_model, needs, default_base_url
    )


def provider_entries() -> list[ProviderEntry]:
    """Every provider, as registered (built-ins first, then plugins')."""
    from mltrainer.engine.plugins import load_plugins

    load_plugins()
    return list(PROVIDERS.values())


def provider_entry(name: str) -> ProviderEntry:
    """The provider called `name`; `ProviderConfigError` naming those a command can start."""
    for entry in provider_entries():
        if entry.name == name:
            return entry
    startable = [e.name for e in PROVIDERS.values() if not e.speaks_for_a_person]
    raise ProviderConfigError(f"unknown provider {name!r}; choose one of: {', '.join(startable)}")


def speaks_for_a_person(name: str) -> bool:
    """Whether the provider recorded as `name` spoke for a person (direct mode): its turns are
    a person's words. False for a name no installed provider has."""
    return any(e.name == name and e.speaks_for_a_person for e in provider_entries())


def provider_keys() -> list[str]:
    """The keys of every registered provider that are set (for redaction only)."""
    keys = (entry.key() for entry in provider_entries())
    return [key for key in keys if key is not None]
