"""Daily bars from a CSV or Parquet file the user names: the ordinary way to bring one's own bars.

The file needs a date column (`date`, `datetime`, `timestamp` or `time`; for Parquet also a
date index) and `open`, `high`, `low`, `close`, `volume`, in any case. With an adjusted close
(`adj close`, `adj_close`, `adjusted_close`) the close is the adjusted one and open, high and
low are scaled to match, as the shipped sample data is, and the provenance says so. A file
that breaks a rule is refused with the rule, the column and the first date that breaks it;
nothing is dropped or filled in silently.

The symbol is the label the user gives the file. Which locked dataset the bars are is decided by
their content (`engine/datasets.py`), so a file of bars the ledger has seen under another name
inherits that name's holdout.
"""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pandas as pd

from mltrainer.engine.data.base import (
    BAR_COLUMNS,
    BarSet,
    DataSource,
    SymbolInfo,
    clip_dates,
    make_provenance,
)
from mltrainer.engine.errors import DataSourceError
from mltrainer.engine.trial import BARS_FILE_SUFFIXES

_DATE_COLUMNS = ("date", "datetime", "timestamp", "time")
_ADJUSTED = ("adj close", "adj_close", "adjclose", "adjusted_close", "adjusted close")


def file_kind(path: Path) -> str:
    """`csv` or `parquet` by the file's name; anything else is refused."""
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    raise DataSourceError(
        f"{path} is not a bars file this source reads; name a file ending in "
        f"{', '.join(BARS_FILE_SUFFIXES)}"
    )


class FileSource(DataSource):
    name = "csv"

    def symbols(self) -> list[SymbolInfo]:
        return []

    def bars(self, symbol: str, start: date | None = None, end: date | None = None) -> BarSet:
        raise DataSourceError(
            f"source '{self.name}' reads bars from a file: give its path (path=...; on the "
            "command line --path FILE), with the symbol as the label for its bars"
        )

    def file_bars(
        self, path: Path, symbol: str, start: date | None = None, end: date | None = None
    ) -> BarSet:
        kind = file_kind(path)
        if not path.is_file():
            raise DataSourceError(f"no file {path}; name an existing {kind.upper()} file")
        raw = _read(path, kind)
        frame, adjusted = _bars_frame(raw, path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        note = f"file {path} (sha256 {digest})" + (
            "; adjusted close, open/high/low scaled to match" if adjusted else ""
        )
        frame = clip_dates(frame, start, end)
        if frame.empty:
            raise DataSourceError(f"{path} has no bars between {start} and {end}")
        return BarSet(
            frame, make_provenance(frame, source=self.name, kind="real", symbol=symbol, note=note)
        )


def _read(path: Path, kind: str) -> pd.DataFrame:
    try:
        if kind == "parquet":
            frame = pd.read_parquet(path)
            if isinstance(frame.index, pd.DatetimeIndex):
                frame = frame.reset_index(names=frame.index.name or "date")
            return frame
        return pd.read_csv(path)
    except (OSError, ValueError, ImportError) as error:
        raise DataSourceError(f"cannot read {path} as {kind.upper()}: {error}") from error


def _bars_frame(raw: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, bool]:
    """The file's columns as daily bars; refuses what does not fit, naming where."""
    columns = {str(c).strip().lower(): c for c in raw.columns}
    date_column = next((columns[c] for c in _DATE_COLUMNS if c in columns), None)
    missing = [c for c in BAR_COLUMNS if c not in columns]
    if date_column is None or missing:
        needed = (["date"] if date_column is None else []) + missing
        raise DataSourceError(
            f"{path} lacks the column(s) {needed}: a bars file needs a date column (one of "
            f"{list(_DATE_COLUMNS)}) and {list(BAR_COLUMNS)}, in any case; it has "
            f"{[str(c) for c in raw.columns]}"
        )
    try:
        dates = pd.to_datetime(raw[date_column])
    except (ValueError, TypeError) as error:
        raise DataSourceError(
            f"{path}: column '{date_column}' does not hold dates: {error}"
        ) from error
    index = pd.DatetimeIndex(dates)
    if index.tz is not None:
        index = index.tz_convert(None)
    if (index != index.normalize()).any():
        index = index.normalize()
    index = index.as_unit("ns").rename("date")
    frame = pd.DataFrame(index=index)
    for name in BAR_COLUMNS:
        frame[name] = _numbers(raw[columns[name]].to_numpy(), name, index, path)
    adjusted_column = next((columns[c] for c in _ADJUSTED if c in columns), None)
    if adjusted_column is not None:
        factor = (
            _numbers(raw[adjusted_column].to_numpy(), "adjusted close", index, path)
            / (frame["close"])
        )
        for name in ("open", "high", "low", "close"):
            frame[name] = frame[name] * factor
    frame = frame.sort_index(kind="stable")
    repeated = frame.index[frame.index.duplicated()]
    if len(repeated):
        raise DataSourceError(
            f"{path} has {len(repeated)} repeated date(s), first {repeated[0].date()}: bars "
            "must be daily, one row per date"
        )
    bad = frame.index[frame["close"] <= 0]
    if len(bad):
        raise DataSourceError(
            f"{path}: close must be positive; it is not on {len(bad)} date(s), first "
            f"{bad[0].date()}"
        )
    return frame, adjusted_column is not None


def _numbers(values: object, name: str, index: pd.DatetimeIndex, path: Path) -> pd.Series:
    numbers = pd.to_numeric(pd.Series(values, index=index), errors="coerce")
    bad = index[numbers.isna().to_numpy()]
    if len(bad):
        raise DataSourceError(
            f"{path}: column '{name}' has {len(bad)} missing or non-numeric value(s), first on "
            f"{bad[0].date()}; every bar needs a number in every column"
        )
    return numbers.astype(float)
