"""The names of the data sources: the built-in ones and those `register_source` adds. Light
(no pandas), so the trial schema, the compliance gate and the tool schemas read names from here
and no list of sources is copied anywhere else.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mltrainer.engine.data.base import DataSource
    from mltrainer.engine.settings import Settings

BUILT_IN_SOURCES = ("sample", "synthetic", "polygon", "fred")
# Sources with no daily bars: a trial cannot name them.
SERIES_ONLY = {"fred"}
_NAME = re.compile(r"[a-z][a-z0-9_]{1,31}")

SourceFactory = Callable[["Settings"], "DataSource"]


@dataclass(frozen=True)
class RegisteredSource:
    name: str
    factory: SourceFactory
    serves: str
    needs_key: str | None = None
    bars: bool = True


REGISTERED_SOURCES: dict[str, RegisteredSource] = {}


def register_source(
    name: str,
    factory: SourceFactory,
    *,
    serves: str,
    needs_key: str | None = None,
    bars: bool = True,
    replace: bool = False,
) -> None:
    """Make `factory(settings)` the data source called `name`: trials, `fetch_data`,
    `list_sources` and `list_symbols` reach it, and it is allowed unless
    MLTRAINER_ALLOWED_SOURCES lists the sources explicitly. `serves` is the line
    `list_sources` shows; `bars=False` marks a source of macro series only."""
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"source name {name!r} must be 2 to 32 lowercase letters, digits or '_', "
            "starting with a letter"
        )
    if name in BUILT_IN_SOURCES or name == "auto":
        raise ValueError(f"{name!r} is a built-in source name; choose another")
    if name in REGISTERED_SOURCES and not replace:
        raise ValueError(f"a source called {name!r} is already registered; pass replace=True")
    REGISTERED_SOURCES[name] = RegisteredSource(name, factory, serves, needs_key, bars)


def source_names() -> tuple[str, ...]:
    """Every data source, built-in first."""
    return (*BUILT_IN_SOURCES, *REGISTERED_SOURCES)


def bar_source_names() -> tuple[str, ...]:
    """What a trial's `source` may be: `auto` and every source with daily bars."""
    registered = (s.name for s in REGISTERED_SOURCES.values() if s.bars)
    return ("auto", *(n for n in BUILT_IN_SOURCES if n not in SERIES_ONLY), *registered)
