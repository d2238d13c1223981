"""Source resolution with the live sources: `auto` order, explicit sources, labels, the gate."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from mltrainer.engine.compliance import ComplianceEngine
from mltrainer.engine.data.base import BarSet, DataSource, Shortfall, SymbolInfo, make_provenance
from mltrainer.engine.data.catalog import REGISTERED_SOURCES, register_source
from mltrainer.engine.data.fred import FredSource
from mltrainer.engine.data.polygon import PolygonSource
from mltrainer.engine.data.registry import get_source, list_sources, resolve_bars, resolve_series
from mltrainer.engine.data.sample import SampleSource
from mltrainer.engine.errors import ComplianceError, DataSourceError
from mltrainer.engine.settings import Settings
from tests.engine.data.market_fakes import FakeMarket

JAN_2015 = {"start": date(2015, 1, 1), "end": date(2015, 1, 31)}


def test_get_source_knows_the_live_sources(settings: Settings) -> None:
    assert isinstance(get_source("polygon", settings), PolygonSource)
    assert isinstance(get_source("FRED", settings), FredSource)


def test_list_sources_reports_keys_without_revealing_them(settings: Settings) -> None:
    infos = {info.name: info for info in list_sources(settings)}

    assert set(infos) == {"sample", "polygon", "fred", "synthetic", "sp20", "csv"}
    assert (infos["polygon"].needs_key, infos["polygon"].key_set) == ("POLYGON_API_KEY", True)
    assert (infos["fred"].needs_key, infos["fred"].key_set) == ("FRED_API_KEY", True)
    assert "SECRET" not in repr(infos)


def test_auto_prefers_sample_data_for_sample_symbols(
    settings: Settings, market: FakeMarket
) -> None:
    bars = resolve_bars("MSFT", "auto", settings, **JAN_2015)

    assert bars.provenance.source == "sample"
    assert market.requests == []


def test_auto_uses_polygon_when_the_key_is_set(settings: Settings, market: FakeMarket) -> None:
    market.bars["TSLA"] = market.bars["MSFT"]

    bars = resolve_bars("TSLA", "auto", settings, **JAN_2015)

    assert bars.provenance.source == "polygon"
    assert bars.provenance.kind == "real"


def test_auto_reads_an_offline_stock_from_sp20_without_a_key() -> None:
    bars = resolve_bars("AAPL", "auto", Settings())

    assert (bars.provenance.source, bars.provenance.kind, bars.fields) == (
        "sp20",
        "real",
        ("close",),
    )
    assert (str(bars.frame.index[0].date()), len(bars.frame)) == ("1990-01-02", 8313)


def test_auto_takes_polygons_full_bars_of_an_offline_stock_when_the_key_is_set(
    settings: Settings, market: FakeMarket
) -> None:
    market.bars["AAPL"] = market.bars["MSFT"]

    bars = resolve_bars("AAPL", "auto", settings, **JAN_2015)

    assert (bars.provenance.source, bars.fields) == (
        "polygon",
        ("open", "high", "low", "close", "volume"),
    )


def test_auto_uses_a_cached_range_without_a_key(
    settings: Settings, market: FakeMarket, monkeypatch: pytest.MonkeyPatch
) -> None:
    market.bars["TSLA"] = market.bars["MSFT"]
    resolve_bars("TSLA", "polygon", settings, **JAN_2015)
    monkeypatch.delenv("POLYGON_API_KEY")

    bars = resolve_bars("TSLA", "auto", Settings(), **JAN_2015)

    assert (bars.provenance.source, bars.provenance.cached) == ("polygon", True)
    assert len(market.requests) == 1


def test_auto_falls_back_to_labelled_synthetic_only_when_policy_allows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLTRAINER_ALLOW_SYNTHETIC_FALLBACK", "true")

    bars = resolve_bars("TSLA", "auto", Settings())

    assert bars.provenance.kind == "synthetic"
    assert "SYNTHETIC DATA" in bars.provenance.note
    assert "fallback: no real bars for 'TSLA'" in bars.provenance.note


def test_auto_without_fallback_names_the_key_and_the_sample_symbols() -> None:
    # The fallback is off unless switched on: a symbol with no data is an error.
    with pytest.raises(DataSourceError) as raised:
        resolve_bars("TSLA", "auto", Settings())

    message = str(raised.value)
    assert "POLYGON_API_KEY (or MASSIVE_API_KEY)" in message
    assert "sample symbols that work offline: SPX, IXIC, MSFT" in message


def test_strict_mode_never_falls_back_to_synthetic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLTRAINER_STRICT", "true")

    with pytest.raises(DataSourceError, match="strict mode"):
        resolve_bars("TSLA", "auto", Settings())


def test_polygon_failure_in_auto_is_raised_not_replaced_by_synthetic(
    settings: Settings, market: FakeMarket
) -> None:
    market.polygon_key = "another-key"

    with pytest.raises(DataSourceError, match="HTTP 401"):
        resolve_bars("TSLA", "auto", settings, **JAN_2015)


def test_explicit_polygon_without_key_or_cache_is_a_clear_error() -> None:
    with pytest.raises(DataSourceError, match=r"POLYGON_API_KEY.*MSFT"):
        resolve_bars("MSFT", "polygon", Settings(), **JAN_2015)


def test_polygon_outside_the_allowlist_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLTRAINER_ALLOWED_SOURCES", "sample")

    with pytest.raises(ComplianceError, match="'polygon' is not allowed"):
        resolve_bars("TSLA", "polygon", Settings())


def test_start_after_end_is_refused_before_any_request(
    settings: Settings, market: FakeMarket
) -> None:
    with pytest.raises(ComplianceError, match="start 2015-02-01 is after end 2015-01-01"):
        resolve_bars("TSLA", "polygon", settings, start=date(2015, 2, 1), end=date(2015, 1, 1))
    assert market.requests == []


def test_fred_has_no_bars(settings: Settings) -> None:
    refusal = r"fred serves macro series, not bars; .* sample or polygon or sp20 or csv for 'MSFT'"
    with pytest.raises(DataSourceError, match=refusal):
        resolve_bars("MSFT", "fred", settings)


def test_explicit_fred_source_serves_as_of_data_even_for_sample_ids(settings: Settings) -> None:
    series = resolve_series(
        "GDPC1", settings, source="fred", start=date(2000, 1, 1), end=date(2000, 12, 31)
    )

    assert (series.provenance.source, series.point_in_time) == ("fred", True)


def test_series_auto_prefers_fred_vintages_when_the_key_is_set(
    settings: Settings, market: FakeMarket
) -> None:
    series = resolve_series("GDPC1", settings, start=date(2000, 1, 1), end=date(2000, 12, 31))

    assert (series.provenance.source, series.point_in_time) == ("fred", True)
    assert len(market.requests) == 1


def test_series_auto_uses_the_sample_copy_without_a_key(
    settings: Settings, market: FakeMarket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FRED_API_KEY")

    series = resolve_series("GDPC1", Settings())

    assert (series.provenance.source, series.point_in_time) == ("sample", False)
    assert market.requests == []


def test_series_auto_uses_fred_for_ids_the_sample_lacks(
    settings: Settings, market: FakeMarket
) -> None:
    market.series["DGS10"] = market.series["VIXCLS"]

    series = resolve_series("DGS10", settings, start=date(2015, 1, 1), end=date(2015, 3, 31))

    assert (series.provenance.source, series.point_in_time) == ("fred", True)


def test_series_without_fred_key_names_fred_api_key() -> None:
    with pytest.raises(DataSourceError, match=r"FRED_API_KEY.*sample series.*GDPC1"):
        resolve_series("DGS10", Settings())


def test_series_id_check_refuses_anything_but_fred_syntax() -> None:
    gate = ComplianceEngine(Settings())

    assert gate.check_series_id("DGS10") is True
    assert gate.check_series_id("dgs10") is False
    assert gate.check_series_id("DGS10; DROP TABLE") is False


def test_start_in_the_future_is_refused() -> None:
    with pytest.raises(ComplianceError, match="in the future"):
        ComplianceEngine(Settings()).require_date_range(date(2999, 1, 1), None)


class Vault(DataSource):
    """A plugin's source holding one ticker: the sample's MSFT bars under the name ZZZQ."""

    name = "vault"

    def symbols(self) -> list[SymbolInfo]:
        return [SymbolInfo(symbol="ZZZQ", source=self.name, kind="bars", description="vault")]

    def offers(self, symbol, start=None, end=None, *, series=False, as_of=True) -> bool:  # type: ignore[no-untyped-def]
        return symbol.upper() == "ZZZQ"

    def shortfall(self, *, series: bool = False) -> Shortfall:
        return Shortfall("the vault holds only ZZZQ", "ask the vault for ZZZQ")

    def bars(self, symbol: str, start: date | None = None, end: date | None = None) -> BarSet:
        frame = SampleSource().bars("MSFT", start, end).frame
        return BarSet(frame, make_provenance(frame, source=self.name, kind="real", symbol=symbol))


@pytest.fixture
def vault() -> Iterator[None]:
    saved = dict(REGISTERED_SOURCES)
    register_source("vault", lambda settings: Vault(), serves="one ticker", auto=0)
    yield
    REGISTERED_SOURCES.clear()
    REGISTERED_SOURCES.update(saved)


def test_auto_tries_a_registered_source_at_its_place(vault: None) -> None:
    assert resolve_bars("ZZZQ", "auto", Settings()).provenance.source == "vault"
    assert resolve_bars("MSFT", "auto", Settings()).provenance.source == "sample"


def test_auto_names_what_a_registered_source_lacked(vault: None) -> None:
    with pytest.raises(DataSourceError) as raised:
        resolve_bars("TSLA", "auto", Settings())

    assert str(raised.value).startswith(
        "no real bars for 'TSLA': the vault holds only ZZZQ and it is not in the sample data "
        "and polygon has no key and nothing cached for this range and it is not one of the 20 "
        "offline stocks; set POLYGON_API_KEY (or MASSIVE_API_KEY) in the environment or .env, "
        "or ask the vault for ZZZQ, or use one of the sample symbols that work offline: SPX, "
        "IXIC, MSFT, or use one of the offline stocks: AAPL, AMD, BAC, BBY, CVX, GE, HD, JNJ, "
        "JPM, KO, LLY, MRK, MSFT, PEP, PFE, PG, RRC, UNH, WMT, XOM (synthetic fallback refused: "
    )


def test_strict_mode_refuses_a_source_registered_as_synthetic(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    saved = dict(REGISTERED_SOURCES)
    register_source("dice", lambda settings: Vault(), serves="made up", kind="synthetic")
    monkeypatch.setenv("MLTRAINER_STRICT", "true")
    try:
        with pytest.raises(ComplianceError, match=r"strict mode refuses synthetic data; use a "
                           r"real source \(sample, polygon, fred, sp20, csv\)"):  # fmt: skip
            resolve_bars("ZZZQ", "dice", Settings())
    finally:
        REGISTERED_SOURCES.clear()
        REGISTERED_SOURCES.update(saved)


def test_auto_says_which_sources_policy_kept_it_from(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLTRAINER_ALLOWED_SOURCES", "fred")

    with pytest.raises(DataSourceError) as raised:
        resolve_bars("TSLA", "auto", Settings())

    assert str(raised.value).startswith(
        "no real bars for 'TSLA': sample is not an allowed source and polygon is not an "
        "allowed source and sp20 is not an allowed source (synthetic fallback refused: "
        "synthetic data is not allowed by policy"
    )
