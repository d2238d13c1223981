"""The provider registry beyond the built-in ones: `register_provider(name, factory)` makes a
provider buildable by name, so `mltrainer run --provider NAME` and `mltrainer resume` reach
it like the built-ins."""

from __future__ import annotations

from typing import Protocol

from mltrainer.agent.providers.base import Provider


class ProviderFactory(Protocol):
    def __call__(self, *, model: str, base_url: str | None = None) -> Provider: ...


BUILT_IN_PROVIDERS = ("openai", "anthropic", "scripted", "replay", "direct")
PROVIDER_FACTORIES: dict[str, ProviderFactory] = {}


def register_provider(name: str, factory: ProviderFactory, *, replace: bool = False) -> None:
    """Make `factory(model=..., base_url=...)` the provider called `name`. A built-in name, or
    one already registered without `replace`, is refused."""
    if name in BUILT_IN_PROVIDERS:
        raise ValueError(f"{name!r} is a built-in provider; register yours under another name")
    if name in PROVIDER_FACTORIES and not replace:
        raise ValueError(
            f"a provider called {name!r} is already registered; pass replace=True to swap it"
        )
    if not callable(factory):
        raise TypeError(f"a provider factory must be callable, got {type(factory).__name__}")
    PROVIDER_FACTORIES[name] = factory
