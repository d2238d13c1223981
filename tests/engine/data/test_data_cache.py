"""MarketCache: coverage arithmetic, storage round trips, listing and clearing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from mltrainer.engine.data.cache import (
    DateRange,
    MarketCache,
    merge_ranges,
    missing_ranges,
    request_fingerprint,
)
from mltrainer.engine.data.polygon import _settled_part

FETCHED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def span(start: str, end: str) -> DateRange:
    return DateRange(date.fromisoformat(start), date.fromisoformat(end))


def bars(*days: str) -> pd.DataFrame:
    index = pd.DatetimeIndex(list(days), name="date").as_unit("ns")
    values = [float(i + 1) for i in range(len(days))]
    return pd.DataFrame(
        {c: values for c in ("open", "high", "low", "close", "volume")}, index=index
    )


@pytest.fixture
def cache(tmp_path: Path) -> MarketCache:
    return MarketCache(tmp_path / "cache.db")


def test_missing_ranges_of_an_uncovered_request_is_the_request() -> None:
    assert missing_ranges(span("2020-01-01", "2020-12-31"), []) == [
        span("2020-01-01", "2020-12-31")
    ]


def test_missing_ranges_inside_coverage_is_empty() -> None:
    covered = [span("2020-01-01", "2020-12-31")]
    assert missing_ranges(span("2020-03-01", "2020-04-30"), covered) == []


def test_missing_ranges_are_the_edges_and_the_holes() -> None:
    covered = [span("2020-03-01", "2020-03-31"), span("2020-06-01", "2020-06-30")]

    gaps = missing_ranges(span("2020-01-01", "2020-12-31"), covered)

    assert gaps == [
        span("2020-01-01", "2020-02-29"),
        span("2020-04-01", "2020-05-31"),
        span("2020-07-01", "2020-12-31"),
    ]


def test_merge_joins_overlapping_and_touching_ranges() -> None:
    merged = merge_ranges(
        [
            span("2020-02-01", "2020-02-29"),
            span("2020-01-01", "2020-01-31"),
            span("2020-05-01", "2020-05-02"),
        ]
    )
    assert merged == [span("2020-01-01", "2020-02-29"), span("2020-05-01", "2020-05-02")]


def test_range_with_start_after_end_is_refused() -> None:
    with pytest.raises(ValueError, match="2020-02-01 is after its end 2020-01-01"):
        span("2020-02-01", "2020-01-01")


def test_fingerprint_ignores_keys_and_parameter_order() -> None:
    with_key = request_fingerprint("fred", "/obs", {"series_id": "GDP", "api_key": "SECRET"})
    reordered = request_fingerprint("fred", "/obs", {"series_id": "GDP"})

    assert with_key == reordered
    assert "SECRET" not in with_key
    assert request_fingerprint("fred", "/obs", {"series_id": "UNRATE"}) != reordered


def test_todays_bar_is_not_counted_as_covered() -> None:
    settled = date(2024, 5, 9)
    assert _settled_part(span("2024-05-01", "2024-05-10"), settled) == [
        span("2024-05-01", "2024-05-09")
    ]
    assert _settled_part(span("2024-05-10", "2024-05-10"), settled) == []


def test_bars_round_trip_with_coverage(cache: MarketCache) -> None:
    frame = bars("2020-01-02", "2020-01-03", "2020-01-06")
    cache.store_bars(
        "polygon",
        "MSFT",
        frame,
        covered=[span("2020-01-01", "2020-01-06")],
        fetched_at=FETCHED,
        fingerprint="f1",
    )

    stored = cache.read_bars("polygon", "MSFT", date(2020, 1, 1), date(2020, 1, 31))

    pd.testing.assert_frame_equal(stored.frame, frame)
    assert stored.fetched_at == FETCHED
    assert cache.coverage("polygon", "MSFT", "bars") == [span("2020-01-01", "2020-01-06")]


def test_replace_drops_the_old_history(cache: MarketCache) -> None:
    cache.store_bars(
        "polygon",
        "MSFT",
        bars("2019-01-02"),
        covered=[span("2019-01-01", "2019-01-02")],
        fetched_at=FETCHED,
        fingerprint="f1",
    )
    cache.store_bars(
        "polygon",
        "MSFT",
        bars("2020-01-02"),
        covered=[span("2020-01-01", "2020-01-02")],
        fetched_at=FETCHED,
        fingerprint="f2",
        replace=True,
    )

    assert cache.coverage("polygon", "MSFT", "bars") == [span("2020-01-01", "2020-01-02")]
    assert not cache.has_rows("polygon", "MSFT", "bars", date(2019, 1, 1), date(2019, 12, 31))


def test_observations_keep_one_row_per_period_and_vintage(cache: MarketCache) -> None:
    frame = pd.DataFrame(
        {
            "value": [1.0, 1.1, float("nan")],
            "available": pd.DatetimeIndex(["2020-04-30", "2020-06-29", "2020-07-30"]).as_unit("ns"),
        },
        index=pd.DatetimeIndex(["2020-01-01", "2020-01-01", "2020-04-01"], name="date").as_unit(
            "ns"
        ),
    )
    cache.store_observations(
        "fred",
        "GDPC1",
        "vintages",
        frame,
        covered=[span("2020-01-01", "2020-06-30")],
        fetched_at=FETCHED,
        fingerprint="f1",
    )

    stored = cache.read_observations(
        "fred", "GDPC1", "vintages", date(2020, 1, 1), date(2020, 12, 31)
    )

    pd.testing.assert_frame_equal(stored.frame, frame)


def test_entries_list_what_is_cached(cache: MarketCache) -> None:
    cache.store_bars(
        "polygon",
        "MSFT",
        bars("2020-01-02", "2020-01-03"),
        covered=[span("2020-01-01", "2020-01-05")],
        fetched_at=FETCHED,
        fingerprint="f1",
    )

    (entry,) = cache.entries()

    assert (entry.source, entry.symbol, entry.dataset, entry.rows) == ("polygon", "MSFT", "bars", 2)
    assert (entry.start, entry.end) == (date(2020, 1, 2), date(2020, 1, 3))
    assert entry.covered == ["2020-01-01..2020-01-05"]
    assert entry.fetched_at == FETCHED


def test_clear_by_symbol_keeps_the_others(cache: MarketCache) -> None:
    for symbol in ("MSFT", "AAPL"):
        cache.store_bars(
            "polygon",
            symbol,
            bars("2020-01-02"),
            covered=[span("2020-01-01", "2020-01-02")],
            fetched_at=FETCHED,
            fingerprint="f1",
        )

    removed = cache.clear(symbol="MSFT")

    assert removed == 1
    assert [e.symbol for e in cache.entries()] == ["AAPL"]
    assert cache.coverage("polygon", "MSFT", "bars") == []
