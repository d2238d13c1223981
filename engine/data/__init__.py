"""Data sources behind one interface, and the seed's `DataFetcher`."""

from typing import Any

__all__ = ["DataFetcher"]


def __getattr__(name: str) -> Any:
    # Resolved on first use: `fetcher` needs the registry, which needs modules that import
    # `data.base`, so an eager import here would be circular.
    if name == "DataFetcher":
        from mltrainer.engine.data.fetcher import DataFetcher

        return DataFetcher
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
