"""The cache of live data in the project's SQLite store: bars, observations, and the date ranges
already fetched, each with its provenance (source, fetched time, request fingerprint).

Coverage is what makes repeated research free: a request inside a covered range is answered
from here with no HTTP at all, and a wider one fetches only the missing parts. Keys are never
stored; fingerprints are computed from the request without them.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel

from mltrainer.engine.data.base import BAR_COLUMNS
from mltrainer.engine.store import connected, copy_rows, ensure_schema, transaction

Dataset = Literal["bars", "vintages", "latest"]

_ONE_DAY = timedelta(days=1)
_SECRET_PARAMS = frozenset({"api_key", "apikey", "apiKey", "token", "access_token"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cache_bars (
    source TEXT NOT NULL,
    symbol TEXT NOT NULL,
    date TEXT NOT NULL,
    open REAL, high REAL, low REAL, close REAL, volume REAL,
    fetched_at TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    PRIMARY KEY (source, symbol, date)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cache_observations (
    source TEXT NOT NULL,
    series_id TEXT NOT NULL,
    dataset TEXT NOT NULL,
    date TEXT NOT NULL,
    available TEXT NOT NULL,
    value REAL,
    fetched_at TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    PRIMARY KEY (source, series_id, dataset, date, available)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cache_coverage (
    source TEXT NOT NULL,
    symbol TEXT NOT NULL,
    dataset TEXT NOT NULL,
    start TEXT NOT NULL,
    end TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    PRIMARY KEY (source, symbol, dataset, start, end)
) WITHOUT ROWID;
"""


@dataclass(frozen=True, order=True)
class DateRange:
    """Inclusive calendar-date range."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError(f"range start {self.start} is after its end {self.end}")

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


def merge_ranges(ranges: Sequence[DateRange]) -> list[DateRange]:
    """Overlapping or touching ranges joined, sorted by start."""
    merged: list[DateRange] = []
    for current in sorted(ranges):
        if merged and current.start <= merged[-1].end + _ONE_DAY:
            last = merged[-1]
            merged[-1] = DateRange(last.start, max(last.end, current.end))
        else:
            merged.append(current)
    return merged


def missing_ranges(wanted: DateRange, covered: Sequence[DateRange]) -> list[DateRange]:
    """The parts of `wanted` that no covered range contains, oldest first."""
    gaps: list[DateRange] = []
    cursor = wanted.start
    for segment in merge_ranges(covered):
        if segment.end < cursor:
            continue
        if segment.start > wanted.end:
            break
        if segment.start > cursor:
            gaps.append(DateRange(cursor, segment.start - _ONE_DAY))
        cursor = segment.end + _ONE_DAY
        if cursor > wanted.end:
            return gaps
    gaps.append(DateRange(cursor, wanted.end))
    return gaps


def request_fingerprint(provider: str, path: str, params: Mapping[str, str]) -> str:
    """A stable id of a request's meaning (provider, path, parameters), without any key."""
    kept = sorted((k, str(v)) for k, v in params.items() if k not in _SECRET_PARAMS)
    canonical = provider + " " + path + "?" + "&".join(f"{k}={v}" for k, v in kept)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class CacheEntry(BaseModel):
    """One cached dataset, as `mltrainer data list` shows it."""

    source: str
    symbol: str
    dataset: str
    rows: int
    start: date | None
    end: date | None
    covered: list[str]
    fetched_at: datetime | None


@dataclass(frozen=True)
class CachedFrame:
    """Rows read back from the cache and the oldest fetch time among them."""

    frame: pd.DataFrame
    fetched_at: datetime | None


class MarketCache:
    """Bars, observations and coverage in the SQLite file at `db_path` (WAL, multi-process)."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        ensure_schema(self.db_path, _SCHEMA)

    def adopt(self, reader: sqlite3.Connection) -> None:
        """Copy in everything another cache (`reader`, a connection to its database) holds,
        so what was fetched there is answered here without a request."""
        with connected(self.db_path) as writer, transaction(writer):
            for table in ("cache_bars", "cache_observations", "cache_coverage"):
                copy_rows(reader, writer, table)

    def coverage(self, source: str, symbol: str, dataset: Dataset) -> list[DateRange]:
        with connected(self.db_path) as connection:
            rows = connection.execute(
                "SELECT start, end FROM cache_coverage WHERE source=? AND symbol=? AND dataset=?",
                (source, symbol, dataset),
            ).fetchall()
        return merge_ranges(
            [DateRange(date.fromisoformat(r["start"]), date.fromisoformat(r["end"])) for r in rows]
        )

    def missing(
        self, source: str, symbol: str, dataset: Dataset, wanted: DateRange
    ) -> list[DateRange]:
        return missing_ranges(wanted, self.coverage(source, symbol, dataset))

    def has_rows(self, source: str, symbol: str, dataset: Dataset, start: date, end: date) -> bool:
        """Whether anything is cached for the symbol between `start` and `end`."""
        table, column, extra, args = _row_query(source, symbol, dataset)
        with connected(self.db_path) as connection:
            found = connection.execute(
                f"SELECT 1 FROM {table} WHERE source=? AND {column}=?{extra} "
                "AND date>=? AND date<=? LIMIT 1",
                (*args, start.isoformat(), end.isoformat()),
            ).fetchone()
        return found is not None

    def bar_dates_around(
        self, source: str, symbol: str, gap: DateRange
    ) -> tuple[date | None, date | None]:
        """The last cached bar before `gap` and the first after it: anchors for checking that
        newly fetched adjusted prices still agree with the cached ones."""
        with connected(self.db_path) as connection:
            before = connection.execute(
                "SELECT max(date) AS d FROM cache_bars WHERE source=? AND symbol=? AND date<?",
                (source, symbol, gap.start.isoformat()),
            ).fetchone()["d"]
            after = connection.execute(
                "SELECT min(date) AS d FROM cache_bars WHERE source=? AND symbol=? AND date>?",
                (source, symbol, gap.end.isoformat()),
            ).fetchone()["d"]
        return (
            date.fromisoformat(before) if before else None,
            date.fromisoformat(after) if after else None,
        )

    def store_bars(
        self,
        source: str,
        symbol: str,
        frame: pd.DataFrame,
        *,
        covered: Sequence[DateRange],
        fetched_at: datetime,
        fingerprint: str,
        replace: bool = False,
    ) -> None:
        """Upsert bars and record `covered` as fetched; `replace` first drops everything cached
        for the symbol (its adjusted history changed)."""
        stamp = fetched_at.isoformat()
        rows = [
            (source, symbol, ts.date().isoformat(), *(float(v) for v in values), stamp, fingerprint)
            for ts, values in zip(
                frame.index, frame[list(BAR_COLUMNS)].itertuples(index=False), strict=True
            )
        ]
        with connected(self.db_path) as connection, transaction(connection):
            if replace:
                connection.execute(
                    "DELETE FROM cache_bars WHERE source=? AND symbol=?", (source, symbol)
                )
                connection.execute(
                    "DELETE FROM cache_coverage WHERE source=? AND symbol=? AND dataset='bars'",
                    (source, symbol),
                )
            connection.executemany(
                "INSERT OR REPLACE INTO cache_bars VALUES (?,?,?,?,?,?,?,?,?,?)", rows
            )
            self._add_coverage(connection, source, symbol, "bars", covered, stamp, fingerprint)

    def read_bars(self, source: str, symbol: str, start: date, end: date) -> CachedFrame:
        with connected(self.db_path) as connection:
            rows = connection.execute(
                "SELECT date, open, high, low, close, volume, fetched_at FROM cache_bars "
                "WHERE source=? AND symbol=? AND date>=? AND date<=? ORDER BY date",
                (source, symbol, start.isoformat(), end.isoformat()),
            ).fetchall()
        index = pd.DatetimeIndex([r["date"] for r in rows], name="date").as_unit("ns")
        frame = pd.DataFrame(
            {c: [float(r[c]) for r in rows] for c in BAR_COLUMNS}, index=index, dtype=float
        )
        return CachedFrame(frame=frame, fetched_at=_oldest(r["fetched_at"] for r in rows))

    def store_observations(
        self,
        source: str,
        series_id: str,
        dataset: Dataset,
        frame: pd.DataFrame,
        *,
        covered: Sequence[DateRange],
        fetched_at: datetime,
        fingerprint: str,
    ) -> None:
        """Upsert observations (one row per period and vintage) and record `covered`."""
        stamp = fetched_at.isoformat()
        rows = [
            (
                source,
                series_id,
                dataset,
                period.date().isoformat(),
                pd.Timestamp(available).date().isoformat(),
                None if pd.isna(value) else float(value),
                stamp,
                fingerprint,
            )
            for period, value, available in zip(
                frame.index, frame["value"], frame["available"], strict=True
            )
        ]
        with connected(self.db_path) as connection, transaction(connection):
            connection.executemany(
                "INSERT OR REPLACE INTO cache_observations VALUES (?,?,?,?,?,?,?,?)", rows
            )
            self._add_coverage(connection, source, series_id, dataset, covered, stamp, fingerprint)

    def read_observations(
        self, source: str, series_id: str, dataset: Dataset, start: date, end: date
    ) -> CachedFrame:
        with connected(self.db_path) as connection:
            rows = connection.execute(
                "SELECT date, available, value, fetched_at FROM cache_observations "
                "WHERE source=? AND series_id=? AND dataset=? AND date>=? AND date<=? "
                "ORDER BY date, available",
                (source, series_id, dataset, start.isoformat(), end.isoformat()),
            ).fetchall()
        index = pd.DatetimeIndex([r["date"] for r in rows], name="date").as_unit("ns")
        frame = pd.DataFrame(
            {
                "value": pd.array(
                    [float("nan") if r["value"] is None else r["value"] for r in rows],
                    dtype=float,
                ),
                "available": pd.DatetimeIndex([r["available"] for r in rows]).as_unit("ns"),
            },
            index=index,
        )
        return CachedFrame(frame=frame, fetched_at=_oldest(r["fetched_at"] for r in rows))

    def entries(self) -> list[CacheEntry]:
        """Every cached dataset with its row count, date range, coverage and last fetch."""
        with connected(self.db_path) as connection:
            stats = connection.execute(
                "SELECT source, symbol, 'bars' AS dataset, count(*) AS rows, min(date) AS first, "
                "max(date) AS last FROM cache_bars GROUP BY source, symbol "
                "UNION ALL "
                "SELECT source, series_id, dataset, count(*), min(date), max(date) "
                "FROM cache_observations GROUP BY source, series_id, dataset"
            ).fetchall()
            spans = connection.execute(
                "SELECT source, symbol, dataset, start, end, fetched_at FROM cache_coverage"
            ).fetchall()
        counted = {(r["source"], r["symbol"], r["dataset"]): r for r in stats}
        covered: dict[tuple[str, str, str], list[DateRange]] = {}
        fetched: dict[tuple[str, str, str], str] = {}
        for span in spans:
            key = (span["source"], span["symbol"], span["dataset"])
            covered.setdefault(key, []).append(
                DateRange(date.fromisoformat(span["start"]), date.fromisoformat(span["end"]))
            )
            fetched[key] = max(fetched.get(key, ""), span["fetched_at"])
        entries = []
        for key in sorted(set(counted) | set(covered)):
            stat = counted.get(key)
            entries.append(
                CacheEntry(
                    source=key[0],
                    symbol=key[1],
                    dataset=key[2],
                    rows=stat["rows"] if stat else 0,
                    start=date.fromisoformat(stat["first"]) if stat else None,
                    end=date.fromisoformat(stat["last"]) if stat else None,
                    covered=[str(r) for r in merge_ranges(covered.get(key, []))],
                    fetched_at=datetime.fromisoformat(fetched[key]) if key in fetched else None,
                )
            )
        return entries

    def clear(self, *, source: str | None = None, symbol: str | None = None) -> int:
        """Delete cached rows and coverage (all, or one source and/or symbol); returns the
        number of data rows removed."""
        removed = 0
        with connected(self.db_path) as connection, transaction(connection):
            for table, symbol_column, counts in (
                ("cache_bars", "symbol", True),
                ("cache_observations", "series_id", True),
                ("cache_coverage", "symbol", False),
            ):
                filters = [(c, v) for c, v in (("source", source), (symbol_column, symbol)) if v]
                clause = " AND ".join(f"{column}=?" for column, _ in filters)
                cursor = connection.execute(
                    f"DELETE FROM {table}" + (f" WHERE {clause}" if clause else ""),
                    [value for _, value in filters],
                )
                removed += cursor.rowcount if counts else 0
        return int(removed)

    @staticmethod
    def _add_coverage(
        connection: sqlite3.Connection,
        source: str,
        symbol: str,
        dataset: Dataset,
        covered: Sequence[DateRange],
        stamp: str,
        fingerprint: str,
    ) -> None:
        connection.executemany(
            "INSERT OR REPLACE INTO cache_coverage VALUES (?,?,?,?,?,?,?)",
            [
                (
                    source,
                    symbol,
                    dataset,
                    r.start.isoformat(),
                    r.end.isoformat(),
                    stamp,
                    fingerprint,
                )
                for r in covered
            ],
        )


def _row_query(source: str, symbol: str, dataset: Dataset) -> tuple[str, str, str, tuple[str, ...]]:
    if dataset == "bars":
        return "cache_bars", "symbol", "", (source, symbol)
    return "cache_observations", "series_id", " AND dataset=?", (source, symbol, dataset)


def _oldest(stamps: Iterable[str]) -> datetime | None:
    values = list(stamps)
    return datetime.fromisoformat(min(values)) if values else None
