"""The data-source registry: every source by name, with what the rest of the engine needs to
know without building it (what it serves, its key, whether it is live, its place in `auto`).
The built-in sources register here through `register_source` like a plugin's
(`engine/data/built_in.py`). Light (no pandas), so the trial schema, the compliance gate and
the tool schemas read names from here and no list of sources is copied anywhere else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import SecretStr

from mltrainer.engine.data.provenance import DataKind

if TYPE_CHECKING:
    from mltrainer.engine.data.base import DataSource
    from mltrainer.engine.settings import Settings

_NAME = re.compile(r"[a-z][a-z0-9_]{1,31}")

SourceFactory = Callable[["Settings"], "DataSource"]
KeyReader = Callable[["Settings"], SecretStr | None]


@dataclass(frozen=True)
class RegisteredSource:
    """A source as registered. `auto` is its place when a trial asks for `auto` (lower
    first; None: only by name); `live` marks a source that fetches over the network, whose
    holdout is fixed on the range first requested rather than on a full history that would
    cost requests to learn. `files` marks a source that reads bars from a file a request names
    (`path`), whose symbols are only labels."""

    name: str
    factory: SourceFactory
    serves: str
    needs_key: str | None = None
    bars: bool = True
    series: bool = False
    kind: DataKind = "real"
    live: bool = False
    auto: int | None = None
    read_key: KeyReader | None = None
    files: bool = False

    def key(self, settings: Settings) -> str | None:
        """The key this source needs, when it is set (`read_key`, else the `needs_key`
        variable from the environment or `.env`); None when it needs none or it is unset."""
        if self.needs_key is None:
            return None
        if self.read_key is not None:
            secret = self.read_key(settings)
        else:
            from mltrainer.engine.settings import env_secret

            secret = env_secret(self.needs_key)
        value = secret.get_secret_value().strip() if secret is not None else ""
        return value or None


REGISTERED_SOURCES: dict[str, RegisteredSource] = {}


def register_source(
    name: str,
    factory: SourceFactory,
    *,
    serves: str,
    needs_key: str | None = None,
    bars: bool = True,
    series: bool = False,
    kind: DataKind = "real",
    live: bool = False,
    auto: int | None = None,
    read_key: KeyReader | None = None,
    files: bool = False,
    replace: bool = False,
) -> None:
    """Make `factory(settings)` the data source called `name`: trials, `fetch_data`,
    `list_sources`, `list_symbols` and `mltrainer data fetch` reach it, and it is allowed unless
    MLTRAINER_ALLOWED_SOURCES lists the sources explicitly. `serves` is the line
    `list_sources` shows; `bars=False` marks a source of macro series only, `series=True` one
    that serves them too; `kind="synthetic"` one that strict mode refuses. A source with an
    `auto` place is tried, in that order, when a trial names no source. `files=True` marks a
    source that reads the file a trial names in `path` (`DataSource.file_bars`)."""
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"source name {name!r} must be 2 to 32 lowercase letters, digits or '_', "
            "starting with a letter"
        )
    if name == "auto":
        raise ValueError("'auto' picks a source for each request; choose another name")
    if name in REGISTERED_SOURCES and not replace:
        raise ValueError(f"a source called {name!r} is already registered; pass replace=True")
    if not (bars or series):
        raise ValueError(f"source {name!r} serves neither bars nor series; set bars or series")
    REGISTERED_SOURCES[name] = RegisteredSource(
        name, factory, serves, needs_key, bars, series, kind, live, auto, read_key, files
    )


def source_names() -> tuple[str, ...]:
    """Every data source, in the order they were registered (the built-ins first)."""
    return tuple(REGISTERED_SOURCES)


def bar_source_names() -> tuple[str, ...]:
    """What a trial's `source` may be: `auto` and every source with daily bars."""
    return ("auto", *(s.name for s in REGISTERED_SOURCES.values() if s.bars))


def series_source_names() -> tuple[str, ...]:
    """Every source of macro series, those `auto` tries first."""
    return tuple(s.name for s in _by_auto_place(s for s in REGISTERED_SOURCES.values() if s.series))


def source_entry(name: str) -> RegisteredSource | None:
    """The registered source called `name` (any case); None for `auto` or an unknown name."""
    return REGISTERED_SOURCES.get(name.lower())


def auto_sources(*, series: bool = False) -> list[RegisteredSource]:
    """The sources `auto` tries for bars (or series), in order."""
    serving = (s for s in REGISTERED_SOURCES.values() if (s.series if series else s.bars))
    return [s for s in _by_auto_place(serving) if s.auto is not None]


def file_source_names() -> tuple[str, ...]:
    """The sources that read bars from a file a trial names."""
    return tuple(s.name for s in REGISTERED_SOURCES.values() if s.files)


def is_live(name: str) -> bool:
    entry = source_entry(name)
    return entry is not None and entry.live


def is_synthetic(name: str | None) -> bool:
    """True for a source registered as synthetic: strict mode refuses it by name."""
    entry = source_entry(name or "")
    return entry is not None and entry.kind == "synthetic"


def source_keys(settings: Settings) -> list[str]:
    """The keys of every registered source that are set (for redaction only)."""
    keys = (source.key(settings) for source in REGISTERED_SOURCES.values())
    return [key for key in keys if key is not None]


def _by_auto_place(sources: Iterable[RegisteredSource]) -> list[RegisteredSource]:
    """Sources with an `auto` place first, in that order; the rest as registered."""
    listed = list(sources)
    return sorted(listed, key=lambda s: (s.auto is None, s.auto or 0))
