"""`sp20`: adjusted daily closes of 20 large S&P 500 stocks, 1990-2022, shipped with mltrainer
(skfolio's sp500 dataset, BSD-3; `sp20/PROVENANCE.md` says where it came from). Offline, no key,
close only: no open, high, low or volume, so features that need them are refused by name.

`auto` reaches it after the live sources: with a Polygon key a stock gets full, current bars; on
a fresh machine it gets these. As a universe, `sp20` reads all 20 from here at once.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from importlib.resources import files

import pandas as pd

from mltrainer.engine.data.base import (
    BarSet,
    DataSource,
    Shortfall,
    SymbolInfo,
    clip_dates,
    make_provenance,
)
from mltrainer.engine.data.universes import SP20_MEMBERS
from mltrainer.engine.errors import DataSourceError

SP20_FILE = "sp500_dataset.csv.gz"
SP20_NOTE = (
    "adjusted closes only (no open, high, low or volume), rounded to 3 decimals; from "
    "skfolio 1.12.2's sp500 dataset (BSD-3), shipped with mltrainer"
)


@cache
def sp20_closes() -> pd.DataFrame:
    """The 20 stocks' adjusted closes, a column each, 1990-01-02 to 2022-12-28."""
    path = files("mltrainer.engine.data") / "sp20" / SP20_FILE
    with path.open("rb") as handle:
        frame = pd.read_csv(handle, compression="gzip", index_col="Date", parse_dates=True)
    frame.index = pd.DatetimeIndex(frame.index).as_unit("ns").rename("date")
    frame.columns = frame.columns.rename("symbol")
    return frame.astype(float).sort_index()


class Sp20Source(DataSource):
    name = "sp20"
    kind = "real"

    def symbols(self) -> list[SymbolInfo]:
        return [
            SymbolInfo(
                symbol=symbol,
                source=self.name,
                kind="bars",
                description=f"{symbol}: adjusted daily closes 1990-2022, close only",
                start=date(1990, 1, 2),
                end=date(2022, 12, 28),
            )
            for symbol in SP20_MEMBERS
        ]

    def offers(
        self,
        symbol: str,
        start: date | None = None,
        end: date | None = None,
        *,
        series: bool = False,
        as_of: bool = True,
    ) -> bool:
        return not series and symbol.upper() in SP20_MEMBERS

    def shortfall(self, *, series: bool = False) -> Shortfall:
        if series:
            return Shortfall("sp20 has stock closes, not macro series")
        return Shortfall(
            "it is not one of the 20 offline stocks",
            f"use one of the offline stocks: {', '.join(SP20_MEMBERS)}",
        )

    def bars(self, symbol: str, start: date | None = None, end: date | None = None) -> BarSet:
        key = symbol.upper()
        if key not in SP20_MEMBERS:
            raise DataSourceError(
                f"sp20 has no '{symbol}'; its stocks are {', '.join(SP20_MEMBERS)}"
            )
        frame = clip_dates(sp20_closes()[[key]].set_axis(["close"], axis=1), start, end)
        if frame.empty:
            raise DataSourceError(f"sp20 has no closes of {key} between {start} and {end}")
        return BarSet(
            frame.copy(),
            make_provenance(frame, source=self.name, kind="real", symbol=key, note=SP20_NOTE),
        )
