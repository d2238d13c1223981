"""Real market and macro data that ships inside PyPI packages: works offline, needs no key.

- `SPX`, `IXIC`: S&P 500 and NASDAQ Composite daily OHLCV 1999-2018 (`arch.data`).
- `MSFT`: Microsoft daily OHLCV 1986-2017 (`pmdarima.datasets.load_msft`).
- `VIXCLS`, `DCOILWTICO`, `CPILFESL`: VIX close, WTI spot, core CPI (`arch.data`), as FRED ids.
- `GDPC1`, `UNRATE`, `TB3MS`, `CPIAUCSL`: US quarterly macro 1959-2009 (`statsmodels`).

These are final (latest-vintage) values, so `available` adds a conservative publication lag to
each period instead of claiming point-in-time accuracy; the provenance note says so.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from datetime import date
from functools import cache
from pathlib import Path

import pandas as pd

from mltrainer.engine.data.base import (
    BarSet,
    DataSource,
    SeriesSet,
    Shortfall,
    SymbolInfo,
    clip_dates,
    make_provenance,
)
from mltrainer.engine.errors import DataSourceError


def _arch_data(module: str, filename: str) -> pd.DataFrame:
    """A data set `arch` ships, read as `arch.data.<module>.load()` reads it but without
    importing `arch`, whose package imports matplotlib and statsmodels (a second or two of CPU
    in every process that loads SPX) to hand over a CSV. A test checks both readings agree."""
    spec = importlib.util.find_spec("arch")
    if spec is None or not spec.submodule_search_locations:
        raise DataSourceError("the sample data needs the 'arch' package: pip install 'arch>=7.0'")
    path = Path(spec.submodule_search_locations[0]) / "data" / module / filename
    if not path.is_file():
        raise DataSourceError(f"the installed 'arch' package has no sample file {path}")
    raw = pd.read_csv(path)
    if "Date" in raw:
        raw["Date"] = pd.to_datetime(raw["Date"])
        raw = raw.set_index("Date")
    for column in raw:
        raw[column] = pd.to_numeric(raw[column], errors="coerce")
    return raw


def _arch_bars(module: str) -> pd.DataFrame:
    raw = _arch_data(module, f"{module}.csv.gz")
    frame = pd.DataFrame(
        {
            # Adjusted close keeps returns honest across dividends; OHLC are scaled to match.
            "open": raw["Open"] * raw["Adj Close"] / raw["Close"],
            "high": raw["High"] * raw["Adj Close"] / raw["Close"],
            "low": raw["Low"] * raw["Adj Close"] / raw["Close"],
            "close": raw["Adj Close"],
            "volume": raw["Volume"].astype(float),
        }
    )
    return frame


def _msft_bars() -> pd.DataFrame:
    from pmdarima.datasets import load_msft

    raw = load_msft()
    frame = pd.DataFrame(
        {
            "open": raw["Open"].to_numpy(float),
            "high": raw["High"].to_numpy(float),
            "low": raw["Low"].to_numpy(float),
            "close": raw["Close"].to_numpy(float),
            "volume": raw["Volume"].to_numpy(float),
        },
        index=pd.to_datetime(raw["Date"]),
    )
    return frame


def _arch_series(module: str, filename: str, column: str, lag_days: int) -> pd.DataFrame:
    raw = _arch_data(module, filename)[column].dropna()
    return pd.DataFrame(
        {"value": raw.astype(float), "available": raw.index + pd.Timedelta(days=lag_days)},
        index=raw.index,
    )


def _macro_series(column: str) -> pd.DataFrame:
    from statsmodels.datasets import macrodata

    raw = macrodata.load_pandas().data
    periods = pd.PeriodIndex.from_fields(
        year=raw["year"].astype(int), quarter=raw["quarter"].astype(int), freq="Q"
    )
    starts = periods.to_timestamp(how="start")
    # The advance GDP estimate appears about a month after the quarter ends; 35 days is safe.
    available = periods.to_timestamp(how="end").normalize() + pd.Timedelta(days=35)
    return pd.DataFrame(
        {"value": raw[column].to_numpy(float), "available": available}, index=starts
    )


# symbol -> (loader, description)
_BARS: dict[str, tuple[Callable[[], pd.DataFrame], str]] = {
    "SPX": (lambda: _arch_bars("sp500"), "S&P 500 index, daily OHLCV 1999-2018 (arch.data)"),
    "IXIC": (lambda: _arch_bars("nasdaq"), "NASDAQ Composite, daily OHLCV 1999-2018 (arch.data)"),
    "MSFT": (_msft_bars, "Microsoft, daily OHLCV 1986-2017 (pmdarima.datasets)"),
}

# series id -> (loader, description); lags are publication delays for latest-vintage values.
_SERIES: dict[str, tuple[Callable[[], pd.DataFrame], str]] = {
    # VIX settles at 4:15 pm, after the equity close, so a day's value is usable the next day.
    "VIXCLS": (
        lambda: _arch_series("vix", "vix.csv.gz", "vix", 1),
        "CBOE VIX close, daily 2014-2018, usable the next day",
    ),
    "DCOILWTICO": (
        lambda: _arch_series("wti", "wti.csv.gz", "DCOILWTICO", 1),
        "WTI crude spot price, daily 1986-2018, usable the next day",
    ),
    "CPILFESL": (
        lambda: _arch_series("core_cpi", "core-cpi.csv.gz", "CPILFESL", 60),
        "Core CPI (less food and energy), monthly 1957-2018, +60 day release lag",
    ),
    "GDPC1": (lambda: _macro_series("realgdp"), "Real GDP, quarterly 1959-2009 (statsmodels)"),
    "UNRATE": (lambda: _macro_series("unemp"), "Unemployment rate, quarterly 1959-2009"),
    "TB3MS": (lambda: _macro_series("tbilrate"), "3-month T-bill rate, quarterly 1959-2009"),
    "CPIAUCSL": (lambda: _macro_series("cpi"), "CPI, quarterly 1959-2009 (statsmodels)"),
}


@cache
def _load_bars(symbol: str) -> pd.DataFrame:
    frame = _BARS[symbol][0]().astype(float)
    frame.index = pd.DatetimeIndex(frame.index).as_unit("ns").rename("date")
    return frame.sort_index()


@cache
def _load_series(series_id: str) -> pd.DataFrame:
    frame = _SERIES[series_id][0]()
    frame.index = pd.DatetimeIndex(frame.index).as_unit("ns").rename("date")
    frame["available"] = pd.DatetimeIndex(frame["available"]).as_unit("ns")
    return frame.sort_index()


class SampleSource(DataSource):
    name = "sample"
    kind = "real"

    def symbols(self) -> list[SymbolInfo]:
        infos = [
            SymbolInfo(symbol=s, source=self.name, kind="bars", description=d)
            for s, (_, d) in _BARS.items()
        ]
        infos += [
            SymbolInfo(symbol=s, source=self.name, kind="series", description=d)
            for s, (_, d) in _SERIES.items()
        ]
        return infos

    def bars(self, symbol: str, start: date | None = None, end: date | None = None) -> BarSet:
        key = symbol.upper()
        if key not in _BARS:
            raise DataSourceError(
                f"sample data has no bars for '{symbol}'; sample symbols are "
                f"{', '.join(sorted(_BARS))} (series: {', '.join(sorted(_SERIES))})"
            )
        frame = clip_dates(_load_bars(key), start, end)
        if frame.empty:
            raise DataSourceError(f"sample bars for {key} have no rows between {start} and {end}")
        return BarSet(
            frame.copy(), make_provenance(frame, source=self.name, kind="real", symbol=key)
        )

    def series(
        self,
        series_id: str,
        start: date | None = None,
        end: date | None = None,
        *,
        as_of: bool = True,
    ) -> SeriesSet:
        key = series_id.upper()
        if key not in _SERIES:
            raise DataSourceError(
                f"sample data has no series '{series_id}'; sample series are "
                f"{', '.join(sorted(_SERIES))}"
            )
        frame = clip_dates(_load_series(key), start, end)
        note = "latest-vintage values; availability assumes a fixed publication lag"
        return SeriesSet(
            frame.copy(),
            make_provenance(frame, source=self.name, kind="real", symbol=key, note=note),
            point_in_time=False,
        )

    def offers(
        self,
        symbol: str,
        start: date | None = None,
        end: date | None = None,
        *,
        series: bool = False,
        as_of: bool = True,
    ) -> bool:
        return self.has_series(symbol) if series else self.has_bars(symbol)

    def shortfall(self, *, series: bool = False) -> Shortfall:
        kind = "series" if series else "bars"
        offline = ", ".join(s.symbol for s in self.symbols() if s.kind == kind)
        what = "series" if series else "symbols"
        return Shortfall(
            "it is not in the sample data",
            f"use one of the sample {what} that work offline: {offline}",
        )

    def has_bars(self, symbol: str) -> bool:
        return symbol.upper() in _BARS

    def has_series(self, series_id: str) -> bool:
        return series_id.upper() in _SERIES
