"""Which source serves a request: named sources, and the `auto` resolution with its labels.

`auto` tries the sources the catalog gives an `auto` place, in that order, and takes the first
that can serve without failing for want of a key (for bars: the sample data when the symbol
ships offline, then Polygon when its key is set or the range is cached). A synthetic source is
reached only as a fallback policy allows, labelled SYNTHETIC DATA in its provenance; otherwise
the error names what each source lacks and how to fix it. Nothing falls back silently.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from mltrainer.engine.compliance import ComplianceEngine
from mltrainer.engine.data.base import BarSet, DataSource, SeriesSet, Shortfall
from mltrainer.engine.data.catalog import (
    REGISTERED_SOURCES,
    RegisteredSource,
    auto_sources,
    file_source_names,
    series_source_names,
    source_entry,
    source_names,
)
from mltrainer.engine.data.provenance import SourceInfo
from mltrainer.engine.errors import ComplianceError, DataSourceError
from mltrainer.engine.settings import Settings


def get_source(name: str, settings: Settings) -> DataSource:
    return _entry(name).factory(settings)


def _entry(name: str) -> RegisteredSource:
    entry = source_entry(name)
    if entry is None:
        raise DataSourceError(
            f"unknown data source '{name}'; sources are {', '.join(source_names())}"
        )
    return entry


def list_sources(settings: Settings) -> list[SourceInfo]:
    """Every registered source in registration order, with whether the policy allows it and
    its key is set."""
    gate = ComplianceEngine(settings)
    return [
        SourceInfo(
            name=source.name,
            kind=source.kind,
            serves=source.serves,
            needs_key=source.needs_key,
            key_set=source.needs_key is None or source.key(settings) is not None,
            allowed=gate.check_data_source(source.name),
        )
        for source in REGISTERED_SOURCES.values()
    ]


class _Tried:
    """The sources `auto` tries in turn, and what it found missing at each one it passed, for
    the message or the fallback's note."""

    def __init__(self, gate: ComplianceEngine, settings: Settings) -> None:
        self.gate = gate
        self.settings = settings
        self.missing: list[tuple[RegisteredSource, Shortfall]] = []

    def ready(
        self,
        entry: RegisteredSource,
        symbol: str,
        start: date | None,
        end: date | None,
        *,
        series: bool = False,
        as_of: bool = True,
    ) -> DataSource | None:
        """The source when it is allowed and can serve `symbol` now; else None, noting why."""
        if not self.gate.check_data_source(entry.name):
            self.missing.append((entry, Shortfall(f"{entry.name} is not an allowed source")))
            return None
        data = entry.factory(self.settings)
        if data.offers(symbol, start, end, series=series, as_of=as_of):
            return data
        self.missing.append((entry, data.shortfall(series=series)))
        return None

    def reasons(self, joint: str) -> str:
        return joint.join(shortfall.reason for _, shortfall in self.missing)

    def explained(self) -> str:
        """Every reason, then every remedy: a key reaches any symbol, so those remedies come
        first and the offline alternatives last."""
        keyed = sorted(self.missing, key=lambda tried: tried[0].needs_key is None)
        remedies = ", or ".join(s.remedy for _, s in keyed if s.remedy)
        return self.reasons(" and ") + (f"; {remedies}" if remedies else "")


def _real_bar_sources() -> list[str]:
    return [s.name for s in REGISTERED_SOURCES.values() if s.bars and s.kind == "real"]


def resolve_bars(
    symbol: str,
    source: str,
    settings: Settings,
    *,
    start: date | None = None,
    end: date | None = None,
    path: Path | None = None,
) -> BarSet:
    """Bars for a trial, after the compliance gate; raises with what to do instead. `path`
    names the file a file source (`csv`) reads."""
    gate = ComplianceEngine(settings)
    gate.require_symbol(symbol)
    gate.require_data_source(source)
    gate.require_date_range(start, end)
    if path is not None:
        entry = source_entry(source)
        if entry is None or not entry.files:
            raise DataSourceError(
                f"a path names a file for a source that reads files "
                f"({', '.join(file_source_names())}), not for '{source}'"
            )
        return entry.factory(settings).file_bars(path, symbol, start, end)
    if source.lower() == "auto":
        return _auto_bars(symbol, settings, gate, start, end)
    entry = _entry(source)
    if not entry.bars:
        raise DataSourceError(
            f"{entry.name} serves macro series, not bars; use it for macro features "
            f"(e.g. DGS10, UNRATE) and {' or '.join(_real_bar_sources())} for '{symbol}'"
        )
    if entry.kind == "synthetic":
        gate.require_synthetic_allowed(explicit=True)
    return entry.factory(settings).bars(symbol, start, end)


def _auto_bars(
    symbol: str, settings: Settings, gate: ComplianceEngine, start: date | None, end: date | None
) -> BarSet:
    tried = _Tried(gate, settings)
    for entry in auto_sources():
        if entry.kind == "synthetic":
            return _fallback(entry, symbol, settings, gate, tried, start, end)
        data = tried.ready(entry, symbol, start, end)
        if data is not None:
            return data.bars(symbol, start, end)
    raise DataSourceError(f"no real bars for '{symbol}': {tried.explained()}")


def _fallback(
    entry: RegisteredSource,
    symbol: str,
    settings: Settings,
    gate: ComplianceEngine,
    tried: _Tried,
    start: date | None,
    end: date | None,
) -> BarSet:
    """Synthetic bars where no real source could serve, labelled as a fallback, when policy
    allows it; otherwise the error naming what each real source lacked."""
    try:
        gate.require_synthetic_allowed(explicit=False)
    except ComplianceError as refused:
        raise DataSourceError(
            f"no real bars for '{symbol}': {tried.explained()} "
            f"(synthetic fallback refused: {refused})"
        ) from refused
    fallback = entry.factory(settings).bars(symbol, start, end)
    reason = f"fallback: no real bars for '{symbol.upper()}' ({tried.reasons('; ')})"
    provenance = fallback.provenance.model_copy(
        update={"note": f"{fallback.provenance.note}; {reason}"}
    )
    return BarSet(fallback.frame, provenance)


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
    if source.lower() != "auto":
        entry = source_entry(source)
        if entry is None or not entry.series:
            raise DataSourceError(
                f"source '{source}' has no macro series; series come from "
                f"{' or '.join(series_source_names())}"
            )
        return entry.factory(settings).series(series_id, start, end, as_of=as_of)
    tried = _Tried(gate, settings)
    for entry in auto_sources(series=True):
        data = tried.ready(entry, series_id, start, end, series=True, as_of=as_of)
        if data is not None:
            return data.series(series_id, start, end, as_of=as_of)
    raise DataSourceError(f"no series '{series_id}': {tried.explained()}")
