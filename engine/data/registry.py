"""Which source serves a request: named sources, and the `auto` resolution with its labels.

`auto` bars: the sample data when the symbol ships offline, then Polygon when its key is set or
the range is cached, then synthetic data only when policy allows it as a fallback (labelled
SYNTHETIC DATA in its provenance), else an error that says which key to set and which sample
symbols work offline. Nothing falls back silently.
"""

from __future__ import annotations

import os
from datetime import date

from pydantic import SecretStr

from mltrainer.engine.compliance import ComplianceEngine
from mltrainer.engine.data.base import BarSet, DataSource, SeriesSet
from mltrainer.engine.data.catalog import REGISTERED_SOURCES, source_names
from mltrainer.engine.data.fred import FredSource
from mltrainer.engine.data.polygon import KEY_HINT as POLYGON_KEY_HINT
from mltrainer.engine.data.polygon import PolygonSource
from mltrainer.engine.data.provenance import SourceInfo
from mltrainer.engine.data.sample import SampleSource
from mltrainer.engine.data.synthetic import SyntheticSource
from mltrainer.engine.errors import ComplianceError, DataSourceError
from mltrainer.engine.settings import Settings


def get_source(name: str, settings: Settings) -> DataSource:
    match name.lower():
        case "sample":
            return SampleSource()
        case "synthetic":
            return SyntheticSource()
        case "polygon":
            return PolygonSource(settings)
        case "fred":
            return FredSource(settings)
        case registered if registered in REGISTERED_SOURCES:
            return REGISTERED_SOURCES[registered].factory(settings)
        case _:
            raise DataSourceError(
                f"unknown data source '{name}'; sources are {', '.join(source_names())}"
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
            name="polygon",
            kind="real",
            serves="daily adjusted bars for any US ticker (Polygon/Massive; cached ranges offline)",
            needs_key="POLYGON_API_KEY",
            key_set=_key_set(settings.polygon_api_key),
            allowed=gate.check_data_source("polygon"),
        ),
        SourceInfo(
            name="fred",
            kind="real",
            serves="any FRED macro series, point in time via ALFRED vintages (cached offline)",
            needs_key="FRED_API_KEY",
            key_set=_key_set(settings.fred_api_key),
            allowed=gate.check_data_source("fred"),
        ),
        SourceInfo(
            name="synthetic",
            kind="synthetic",
            serves="seeded random-walk bars for any ticker",
            needs_key=None,
            key_set=True,
            allowed=gate.check_data_source("synthetic"),
        ),
        *(
            SourceInfo(
                name=source.name,
                kind=get_source(source.name, settings).kind,
                serves=source.serves,
                needs_key=source.needs_key,
                key_set=source.needs_key is None or bool(os.environ.get(source.needs_key)),
                allowed=gate.check_data_source(source.name),
            )
            for source in REGISTERED_SOURCES.values()
        ),
    ]


def _key_set(secret: SecretStr | None) -> bool:
    return secret is not None and bool(secret.get_secret_value().strip())


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
    gate.require_date_range(start, end)
    name = source.lower()
    if name == "synthetic":
        gate.require_synthetic_allowed(explicit=True)
        return SyntheticSource().bars(symbol, start, end)
    if name == "fred":
        raise DataSourceError(
            "FRED serves macro series, not bars; use it for macro features "
            f"(e.g. DGS10, UNRATE) and polygon or sample for '{symbol}'"
        )
    if name != "auto":
        return get_source(name, settings).bars(symbol, start, end)
    sample = SampleSource()
    if sample.has_bars(symbol) and gate.check_data_source("sample"):
        return sample.bars(symbol, start, end)
    if gate.check_data_source("polygon"):
        polygon = PolygonSource(settings)
        if polygon.has_key() or polygon.has_cached(symbol, start, end):
            return polygon.bars(symbol, start, end)
    try:
        gate.require_synthetic_allowed(explicit=False)
    except ComplianceError as refused:
        raise DataSourceError(
            f"no real bars for '{symbol}': it is not in the sample data and polygon "
            f"{_polygon_state(gate)}; {POLYGON_KEY_HINT}, or use one of the "
            f"{_offline_hint()} (synthetic fallback refused: {refused})"
        ) from refused
    fallback = SyntheticSource().bars(symbol, start, end)
    reason = (
        f"fallback: no real bars for '{symbol.upper()}' (not in the sample data; polygon "
        f"{_polygon_state(gate)})"
    )
    provenance = fallback.provenance.model_copy(
        update={"note": f"{fallback.provenance.note}; {reason}"}
    )
    return BarSet(fallback.frame, provenance)


def _polygon_state(gate: ComplianceEngine) -> str:
    if not gate.check_data_source("polygon"):
        return "is not an allowed source"
    return "has no key and nothing cached for this range"


def resolve_series(
    series_id: str,
    settings: Settings,
    *,
    start: date | None = None,
    end: date | None = None,
    as_of: bool = True,
    source: str = "auto",
) -> SeriesSet:
    """A macro series for a feature join, as-of by default. `auto`: FRED's point-in-time
    vintages when its key is set or the range is cached; otherwise the sample copy (latest
    vintage with a fixed publication lag, labelled as such) when one ships offline."""
    gate = ComplianceEngine(settings)
    gate.require_series_id(series_id)
    gate.require_data_source(source)
    gate.require_date_range(start, end)
    name = source.lower()
    if name not in ("auto", "fred", "sample"):
        raise DataSourceError(
            f"source '{source}' has no macro series; series come from fred or sample"
        )
    sample = SampleSource()
    fred = FredSource(settings)
    fred_usable = gate.check_data_source("fred") and (
        fred.has_key() or fred.has_cached(series_id, start, end, as_of=as_of)
    )
    if name == "fred" or (name == "auto" and fred_usable):
        return fred.series(series_id, start, end, as_of=as_of)
    if sample.has_series(series_id) and gate.check_data_source("sample"):
        return sample.series(series_id, start, end, as_of=as_of)
    state = (
        "is not an allowed source"
        if not gate.check_data_source("fred")
        else ("has no key and nothing cached for this range")
    )
    raise DataSourceError(
        f"series '{series_id}' needs FRED, which {state}; set FRED_API_KEY in the environment "
        "or .env; sample series that work offline: "
        + ", ".join(s.symbol for s in sample.symbols() if s.kind == "series")
    )
