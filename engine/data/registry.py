"""Which source serves a request: named sources, and the `auto` resolution with its labels.

`auto` picks the sample data when the symbol ships offline, then a live source when its key is
set, and synthetic data only when policy allows it as a fallback, always labelled as such.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from mltrainer.engine.compliance import ComplianceEngine
from mltrainer.engine.data.base import BarSet, DataSource, SeriesSet
from mltrainer.engine.data.sample import SampleSource
from mltrainer.engine.data.synthetic import SyntheticSource
from mltrainer.engine.errors import DataSourceError
from mltrainer.engine.settings import ALL_SOURCES, Settings


class SourceInfo(BaseModel):
    name: str
    kind: str
    serves: str
    needs_key: str | None
    key_set: bool
    allowed: bool


def get_source(name: str, settings: Settings) -> DataSource:
    match name.lower():
        case "sample":
            return SampleSource()
        case "synthetic":
            return SyntheticSource()
        case _:
            raise DataSourceError(
                f"unknown data source '{name}'; sources are {', '.join(ALL_SOURCES)}"
            )


def list_sources(settings: Settings) -> list[SourceInfo]:
    gate = ComplianceEngine(settings)
    return [
        SourceInfo(
            name="sample",
            kind="real",
            serves="bars and series shipped in PyPI packages (offline)",
            needs_key=None,
            key_set=True,
            allowed=gate.check_data_source("sample"),
        ),
        SourceInfo(
            name="synthetic",
            kind="synthetic",
            serves="seeded random-walk bars for any ticker",
            needs_key=None,
            key_set=True,
            allowed=gate.check_data_source("synthetic"),
        ),
    ]


def _offline_hint() -> str:
    sample = SampleSource()
    bars = ", ".join(s.symbol for s in sample.symbols() if s.kind == "bars")
    return f"sample symbols that work offline: {bars}"


def resolve_bars(
    symbol: str,
    source: str,
    settings: Settings,
    *,
    start: date | None = None,
    end: date | None = None,
) -> BarSet:
    """Bars for a trial, after the compliance gate; raises with what to do instead."""
    gate = ComplianceEngine(settings)
    gate.require_symbol(symbol)
    gate.require_data_source(source)
    name = source.lower()
    if name == "synthetic":
        gate.require_synthetic_allowed(explicit=True)
        return SyntheticSource().bars(symbol, start, end)
    if name != "auto":
        return get_source(name, settings).bars(symbol, start, end)
    sample = SampleSource()
    if sample.has_bars(symbol) and gate.check_data_source("sample"):
        return sample.bars(symbol, start, end)
    gate.require_synthetic_allowed(explicit=False)
    return SyntheticSource().bars(symbol, start, end)


def resolve_series(
    series_id: str,
    settings: Settings,
    *,
    start: date | None = None,
    end: date | None = None,
    as_of: bool = True,
) -> SeriesSet:
    """A macro series for a feature join: the sample copy when one ships, else FRED."""
    gate = ComplianceEngine(settings)
    gate.require_series_id(series_id)
    sample = SampleSource()
    if sample.has_series(series_id):
        return sample.series(series_id, start, end, as_of=as_of)
    raise DataSourceError(
        f"series '{series_id}' needs FRED (set FRED_API_KEY); sample series are "
        + ", ".join(s.symbol for s in sample.symbols() if s.kind == "series")
    )
