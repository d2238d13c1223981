"""Named universes of stocks: the sets a cross-sectional target ranks each date. `sp20` is built
in (20 large S&P 500 stocks, adjusted closes shipped with mltrainer, offline); plugins add more
with `register_universe`. Light (no pandas): the trial schema lists the names from here.

A trial names a universe (`sp20`) or lists its symbols; either way it gets a label that stands
in for a symbol in tables, model ids and the dataset key (`SP20`, or `LIST` and a hash of the
sorted symbols).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

_NAME = re.compile(r"[a-z][a-z0-9_]{1,31}")
_IMPORT_PATH = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")
# A list universe needs enough stocks for a top and a bottom group and a cross-section to rank.
MIN_MEMBERS = 5
MAX_MEMBERS = 500


@dataclass(frozen=True)
class Universe:
    """A named set of stocks. `closes` is where to import a function returning their closes
    (a date x symbol frame, the members as columns) when the universe ships its own file; None
    resolves each member through the data sources like any symbol. `survivorship` is the
    sentence shown wherever a result on the universe is: how its members were chosen."""

    name: str
    members: tuple[str, ...]
    description: str
    survivorship: str
    closes: str | None = None
    source: str = "auto"

    @property
    def label(self) -> str:
        return self.name.upper()


REGISTERED_UNIVERSES: dict[str, Universe] = {}


def register_universe(
    name: str,
    members: Sequence[str],
    *,
    description: str,
    survivorship: str,
    closes: str | None = None,
    source: str = "auto",
    replace: bool = False,
) -> None:
    """Make `members` the universe called `name`: `TrialConfig.universe`, the tool schemas and
    the bridge reach it. `closes` ("package.module:function") loads all members' closes at
    once from `source`; without it each member is fetched as a symbol of the trial's source."""
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"universe name {name!r} must be 2 to 32 lowercase letters, digits or '_', "
            "starting with a letter"
        )
    symbols = tuple(s.upper() for s in members)
    if not MIN_MEMBERS <= len(set(symbols)) == len(symbols) <= MAX_MEMBERS:
        raise ValueError(
            f"universe {name!r} needs {MIN_MEMBERS} to {MAX_MEMBERS} different symbols; "
            f"got {len(symbols)} ({len(set(symbols))} different)"
        )
    if closes is not None and not _IMPORT_PATH.fullmatch(closes):
        raise ValueError(f"universe {name!r}: {closes!r} is not an import path 'module:function'")
    if not survivorship.strip():
        raise ValueError(f"universe {name!r} needs a survivorship statement: how were they chosen?")
    if name in REGISTERED_UNIVERSES and not replace:
        raise ValueError(f"a universe called {name!r} is already registered; pass replace=True")
    REGISTERED_UNIVERSES[name] = Universe(
        name, symbols, " ".join(description.split()), survivorship, closes, source
    )


def universe_names() -> tuple[str, ...]:
    return tuple(REGISTERED_UNIVERSES)


def named_universe(name: str) -> Universe | None:
    return REGISTERED_UNIVERSES.get(name.lower())


def list_label(symbols: Sequence[str]) -> str:
    """The label of a listed universe: the same symbols in any order get the same label."""
    digest = hashlib.sha256(",".join(sorted(s.upper() for s in symbols)).encode()).hexdigest()
    return f"LIST{digest[:6].upper()}"


def universe_label(universe: str | Sequence[str]) -> str:
    if isinstance(universe, str):
        named = named_universe(universe)
        return named.label if named is not None else universe.upper()
    return list_label(universe)


def universe_members(universe: str | Sequence[str]) -> tuple[str, ...]:
    if isinstance(universe, str):
        named = named_universe(universe)
        if named is None:
            raise KeyError(universe)
        return named.members
    return tuple(s.upper() for s in universe)


def containing_universe(symbols: Sequence[str]) -> Universe | None:
    """The first named universe with a shipped file that holds every one of `symbols`: a list
    of its members is read from the same file, so it has the same bars as the universe."""
    wanted = {s.upper() for s in symbols}
    for universe in REGISTERED_UNIVERSES.values():
        if universe.closes is not None and wanted <= set(universe.members):
            return universe
    return None


SP20_MEMBERS = [
    "AAPL",
    "AMD",
    "BAC",
    "BBY",
    "CVX",
    "GE",
    "HD",
    "JNJ",
    "JPM",
    "KO",
    "LLY",
    "MRK",
    "MSFT",
    "PEP",
    "PFE",
    "PG",
    "RRC",
    "UNH",
    "WMT",
    "XOM",
]
SP20_SURVIVORSHIP = (
    "sp20's members are today's large caps, chosen in hindsight with full histories since "
    "1990: results on them are conditional on having survived and grown, and overstate what "
    "ranking the stocks known at each date would have earned"
)

register_universe(
    "sp20",
    SP20_MEMBERS,
    description="20 large S&P 500 stocks, adjusted daily closes 1990-2022 (skfolio's "
    "sp500 dataset, shipped with mltrainer, offline, close only)",
    survivorship=SP20_SURVIVORSHIP,
    closes="mltrainer.engine.data.sp20:sp20_closes",
    source="sp20",
)
