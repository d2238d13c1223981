"""Data sources behind one interface, and the seed's `DataFetcher`. Importing anything from
here registers the built-in sources first, so the catalog is never read without them."""

from typing import Any

from mltrainer.engine.data.built_in import register_built_in_sources

register_built_in_sources()

__all__ = ["DataFetcher"]


def __getattr__(name: str) -> Any:
    # Resolved on first use: `fetcher` needs the registry, which needs modules that import
    # `data.base`, so an eager import here would be circular.
    if name == "DataFetcher":
        from mltrainer.engine.data.fetcher import DataFetcher

        return DataFetcher
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
