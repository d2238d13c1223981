"""A universe's closes as one panel (a row per date, a column per stock): what a
cross-sectional target ranks. A named universe with a shipped file (`sp20`) is read from it at
once; a list of symbols is read from that file when it holds them all, and otherwise each
symbol is fetched from the trial's source like any symbol and the closes are joined on the
dates every one of them has (the dates dropped are said in the panel's note).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import cast

import pandas as pd

from mltrainer.engine.data.base import BarSet, clip_dates, make_provenance
from mltrainer.engine.data.provenance import Provenance
from mltrainer.engine.data.universes import (
    Universe,
    containing_universe,
    named_universe,
    universe_label,
    universe_members,
)
from mltrainer.engine.errors import DataSourceError
from mltrainer.engine.settings import Settings


@dataclass(frozen=True)
class PanelSet:
    """Closes of a universe's stocks, indexed by date (oldest first), a column per member.
    `provenance.symbol` is the universe's label; `survivorship` says how its members were
    chosen when that biases results (None when the caller chose them)."""

    frame: pd.DataFrame
    provenance: Provenance
    survivorship: str | None = None

    def __post_init__(self) -> None:
        if self.frame.shape[1] < 2:
            raise ValueError(f"a panel needs at least two stocks; got {list(self.frame.columns)}")
        if not self.frame.index.is_monotonic_increasing:
            raise ValueError("a panel must be sorted by date, oldest first")

    @property
    def members(self) -> tuple[str, ...]:
        return tuple(str(c) for c in self.frame.columns)

    @property
    def fields(self) -> tuple[str, ...]:
        return ("close",)


def survivorship_of(bars: BarSet | PanelSet) -> str | None:
    """The survivorship statement that goes with `bars`: a panel's own, or, for one stock read
    from a universe's shipped file (close only, from that universe's source), the universe's."""
    if isinstance(bars, PanelSet):
        return bars.survivorship
    symbol = bars.provenance.symbol
    universe = containing_universe([symbol])
    if universe is None or bars.fields != ("close",) or bars.provenance.source != universe.source:
        return None
    return universe.survivorship


def _shipped_closes(universe: Universe) -> pd.DataFrame:
    assert universe.closes is not None
    module, name = universe.closes.split(":")
    load = cast(Callable[[], pd.DataFrame], getattr(importlib.import_module(module), name))
    return load()


def resolve_panel(
    universe: str | Sequence[str],
    source: str,
    settings: Settings,
    *,
    start: date | None = None,
    caller: Mapping[str, BarSet] | None = None,
) -> PanelSet:
    """The closes of `universe` from `start` on. `caller` holds bars a caller brought, by
    symbol: a universe whose members are all there is built from them (CALLER DATA)."""
    members = universe_members(universe)
    label = universe_label(universe)
    named = named_universe(universe) if isinstance(universe, str) else None
    shipped = named if named is not None and named.closes else containing_universe(members)
    caller = caller or {}
    if source == "auto" and all(m in caller for m in members):
        return _joined(label, members, [caller[m] for m in members], "caller")
    if shipped is not None and shipped.closes and source in ("auto", shipped.source):
        closes = clip_dates(_shipped_closes(shipped)[list(members)], start, None)
        if closes.empty:
            raise DataSourceError(f"the universe {label} has no dates from {start}")
        return PanelSet(
            closes.copy(),
            make_provenance(
                closes,
                source=shipped.source,
                kind="real",
                symbol=label,
                note=f"{len(members)} stocks of {shipped.name}: {shipped.description}",
            ),
            named.survivorship if named is not None else shipped.survivorship,
        )
    from mltrainer.engine.data.registry import resolve_bars

    fetched = [resolve_bars(m, source, settings, start=start) for m in members]
    kinds = {bars.provenance.kind for bars in fetched}
    if kinds != {"real"}:
        synthetic = [b.provenance.symbol for b in fetched if b.provenance.kind != "real"]
        raise DataSourceError(
            f"a universe is ranked on real bars only; {', '.join(synthetic)} came from a "
            "synthetic source. Use a real source for every member, or the sp20 universe offline"
        )
    sources = sorted({bars.provenance.source for bars in fetched})
    return _joined(label, members, fetched, "+".join(sources))


def _joined(
    label: str,
    members: Sequence[str],
    bars: Sequence[BarSet],
    source: str,
) -> PanelSet:
    """Members' closes on the dates all of them have; the note says how many were dropped.
    The caller chose the members, so no survivorship statement is made for them."""
    closes = pd.concat(
        [b.frame["close"].rename(m) for m, b in zip(members, bars, strict=True)], axis=1
    )
    every = closes.dropna()
    if len(every) < 2:
        raise DataSourceError(
            f"the stocks of {label} share {len(every)} dates; a universe needs dates on which "
            "every member has a close"
        )
    dropped = len(closes) - len(every)
    note = f"{len(members)} stocks joined on the {len(every)} dates all of them have" + (
        f" ({dropped} dates some lacked were dropped)" if dropped else ""
    )
    return PanelSet(
        every.astype(float),
        make_provenance(every, source=source, kind="real", symbol=label, note=note),
    )
