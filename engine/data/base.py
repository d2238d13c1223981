"""The one interface every data source implements, and the provenance that travels with data.

A source returns daily OHLCV bars for a symbol (`BarSet`) or a dated series (`SeriesSet`); both
carry a `Provenance` so every number computed later can be traced to where its data came from.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from mltrainer.engine.data.provenance import DataKind, Provenance, SymbolInfo
from mltrainer.engine.errors import DataSourceError

BAR_COLUMNS = ("open", "high", "low", "close", "volume")
SERIES_COLUMNS = ("value", "available")


def content_hash(frame: pd.DataFrame) -> str:
    """A stable fingerprint of the values and dates, independent of how the frame was built."""
    hashed = pd.util.hash_pandas_object(frame, index=True).to_numpy()
    return hashlib.sha256(hashed.tobytes()).hexdigest()[:16]


def make_provenance(
    frame: pd.DataFrame,
    *,
    source: str,
    kind: DataKind,
    symbol: str,
    cached: bool = False,
    fetched_at: datetime | None = None,
    note: str = "",
) -> Provenance:
    index = frame.index
    return Provenance(
        source=source,
        kind=kind,
        symbol=symbol,
        rows=len(frame),
        start=index[0].date() if len(frame) else None,
        end=index[-1].date() if len(frame) else None,
        content_hash=content_hash(frame),
        cached=cached,
        fetched_at=fetched_at,
        note=note,
    )


@dataclass(frozen=True)
class BarSet:
    """Daily bars indexed by a tz-naive `DatetimeIndex` named `date`: `close`, and those of
    open, high, low and volume the source has. Close-only bars (the shipped stock universe has
    adjusted closes only) simply lack the other columns: nothing is filled in for them."""

    frame: pd.DataFrame
    provenance: Provenance

    def __post_init__(self) -> None:
        if "close" not in self.frame.columns:
            raise ValueError(
                f"bars need a 'close' column; got {list(self.frame.columns)} "
                f"(bars may hold {list(BAR_COLUMNS)})"
            )
        unknown = [c for c in self.frame.columns if c not in BAR_COLUMNS]
        if unknown:
            raise ValueError(f"bars have unknown columns {unknown}; expected {list(BAR_COLUMNS)}")
        if not self.frame.index.is_monotonic_increasing:
            raise ValueError("bars must be sorted by date, oldest first")

    @property
    def fields(self) -> tuple[str, ...]:
        """The bar columns these bars have, in `BAR_COLUMNS` order."""
        return tuple(c for c in BAR_COLUMNS if c in self.frame.columns)


@dataclass(frozen=True)
class SeriesSet:
    """A dated series indexed by observation period `date`, columns `value` and `available`.

    `available` is the first date the value was known to the public (release or vintage date);
    features join on it, not on the period, so a revised or late-published number never leaks.
    """

    frame: pd.DataFrame
    provenance: Provenance
    point_in_time: bool = field(default=False)

    def __post_init__(self) -> None:
        missing = [c for c in SERIES_COLUMNS if c not in self.frame.columns]
        if missing:
            raise ValueError(
                f"series is missing columns {missing}; expected {list(SERIES_COLUMNS)}"
            )


@dataclass(frozen=True)
class Shortfall:
    """Why a source cannot serve a request now (`reason`), and what would let it (`remedy`)."""

    reason: str
    remedy: str | None = None


class DataSource(ABC):
    """A provider of bars and/or series. Live sources add HTTP and caching behind this."""

    name: str
    kind: DataKind = "real"

    @abstractmethod
    def symbols(self) -> list[SymbolInfo]:
        """What this source can deliver (for live sources: examples, since any ticker may work)."""

    def offers(
        self,
        symbol: str,
        start: date | None = None,
        end: date | None = None,
        *,
        series: bool = False,
        as_of: bool = True,
    ) -> bool:
        """Whether `symbol`'s bars (or series) can come from here now without a request that
        must fail for want of a key: what `auto` asks before it picks a source. A source that
        can always try says yes."""
        return True

    def shortfall(self, *, series: bool = False) -> Shortfall:
        """Why `offers` said no and what would change it, for the message that names every
        source `auto` tried."""
        return Shortfall(f"{self.name} does not have it")

    def bars(self, symbol: str, start: date | None = None, end: date | None = None) -> BarSet:
        raise DataSourceError(f"source '{self.name}' has no daily bars; it serves series only")

    def file_bars(
        self, path: Path, symbol: str, start: date | None = None, end: date | None = None
    ) -> BarSet:
        """Bars read from the file at `path`, labelled `symbol`: for sources registered with
        `files=True`."""
        raise DataSourceError(f"source '{self.name}' does not read files; it has no `path`")

    def series(
        self,
        series_id: str,
        start: date | None = None,
        end: date | None = None,
        *,
        as_of: bool = True,
    ) -> SeriesSet:
        raise DataSourceError(f"source '{self.name}' has no dated series; it serves bars only")


def clip_dates(frame: pd.DataFrame, start: date | None, end: date | None) -> pd.DataFrame:
    if start is not None:
        frame = frame[frame.index >= pd.Timestamp(start)]
    if end is not None:
        frame = frame[frame.index <= pd.Timestamp(end)]
    return frame
