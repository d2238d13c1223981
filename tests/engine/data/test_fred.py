"""FredSource against the fake server: vintages, "." values, key errors, paging, cache."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from mltrainer.engine.data.fred import FredSource
from mltrainer.engine.data.http import RetryPolicy
from mltrainer.engine.data.sample import SampleSource
from mltrainer.engine.errors import DataSourceError
from mltrainer.engine.settings import Settings
from tests.engine.data.market_fakes import FIRST_RELEASE_FACTOR, FakeMarket, Reply

OBSERVATIONS = "/fred/series/observations"


@pytest.fixture
def fred(settings: Settings, fast_retry: RetryPolicy) -> FredSource:
    return FredSource(settings, retry=fast_retry)


def known_on(frame: pd.DataFrame, period: str, day: str) -> float:
    """The value of `period` as a researcher standing on `day` could have seen it."""
    rows = frame.loc[[pd.Timestamp(period)]]
    visible = rows[rows["available"] <= pd.Timestamp(day)]
    return float(visible["value"].iloc[-1]) if len(visible) else math.nan


def test_as_of_is_the_default_and_asks_for_every_vintage(
    fred: FredSource, market: FakeMarket
) -> None:
    series = fred.series("GDPC1", date(2000, 1, 1), date(2000, 12, 31))

    query = market.requests[0].query
    assert (query["realtime_start"], query["realtime_end"]) == ("1776-07-04", "9999-12-31")
    assert query["file_type"] == "json"
    assert query["api_key"] == "FREDKEY-SECRET-456"
    assert series.point_in_time is True
    assert len(series.frame) == 8  # four quarters, each a first release and a revision


def test_revised_value_is_not_visible_before_its_realtime_start(fred: FredSource) -> None:
    series = fred.series("GDPC1", date(2000, 1, 1), date(2000, 12, 31))
    final = SampleSource().series("GDPC1").frame.loc[pd.Timestamp("2000-01-01"), "value"]

    # 2000Q1 is first published 2000-04-30 and revised 60 days later, on 2000-06-29.
    assert math.isnan(known_on(series.frame, "2000-01-01", "2000-04-29"))
    assert known_on(series.frame, "2000-01-01", "2000-04-30") == pytest.approx(
        final * FIRST_RELEASE_FACTOR, abs=1e-3
    )
    assert known_on(series.frame, "2000-01-01", "2000-06-28") == pytest.approx(
        final * FIRST_RELEASE_FACTOR, abs=1e-3
    )
    assert known_on(series.frame, "2000-01-01", "2000-06-29") == pytest.approx(final, abs=1e-3)


def test_available_is_the_vintage_start(fred: FredSource) -> None:
    series = fred.series("GDPC1", date(2000, 1, 1), date(2000, 3, 31))

    assert list(series.frame["available"]) == [
        pd.Timestamp("2000-04-30"),
        pd.Timestamp("2000-06-29"),
    ]


def test_latest_mode_returns_one_value_per_period_labelled_not_point_in_time(
    fred: FredSource, market: FakeMarket
) -> None:
    series = fred.series("GDPC1", date(2000, 1, 1), date(2000, 12, 31), as_of=False)

    assert "realtime_start" not in market.requests[0].query
    assert series.point_in_time is False
    assert "NOT point in time" in series.provenance.note
    assert list(series.frame.index) == list(series.frame["available"])
    assert len(series.frame) == 4


def test_dot_values_are_missing(fred: FredSource) -> None:
    series = fred.series("VIXCLS", date(2015, 12, 23), date(2015, 12, 29))

    values = series.frame["value"]
    assert math.isnan(values.loc[pd.Timestamp("2015-12-25")])
    assert values.loc[pd.Timestamp("2015-12-24")] == 15.74


def test_pages_are_followed_with_offset(fred: FredSource, market: FakeMarket) -> None:
    market.fred_page_size = 10

    series = fred.series("GDPC1", date(2000, 1, 1), date(2004, 12, 31))

    assert len(series.frame) == 40
    assert [r.query["offset"] for r in market.requests] == ["0", "10", "20", "30"]


def test_bad_key_400_is_reported_as_a_key_problem(fred: FredSource, market: FakeMarket) -> None:
    market.fred_key = "another-key"

    with pytest.raises(
        DataSourceError, match=r"FRED rejected the API key \(HTTP 400.*FRED_API_KEY"
    ):
        fred.series("GDPC1", date(2000, 1, 1), date(2000, 12, 31))
    assert len(market.requests) == 1


def test_unknown_series_is_reported_by_name(fred: FredSource) -> None:
    with pytest.raises(DataSourceError, match="FRED has no series 'NOSUCH'"):
        fred.series("NOSUCH", date(2000, 1, 1), date(2000, 12, 31))


def test_invalid_series_id_never_reaches_the_wire(fred: FredSource, market: FakeMarket) -> None:
    with pytest.raises(DataSourceError, match="not a valid FRED series id"):
        fred.series("GDP;DROP", date(2000, 1, 1), date(2000, 12, 31))
    assert market.requests == []


def test_429_then_success_returns_the_series(fred: FredSource, market: FakeMarket) -> None:
    market.script(Reply(429, {"error_code": 429, "error_message": "Too Many Requests."}))

    series = fred.series("GDPC1", date(2000, 1, 1), date(2000, 12, 31))

    assert len(series.frame) == 8
    assert len(market.requests) == 2


def test_server_error_on_every_attempt_is_reported(fred: FredSource, market: FakeMarket) -> None:
    market.script(*[Reply(500, {"error_code": 500, "error_message": "Internal"})] * 3)

    with pytest.raises(DataSourceError, match=r"FRED server error HTTP 500.*after 3 attempt"):
        fred.series("GDPC1", date(2000, 1, 1), date(2000, 12, 31))


def test_repeat_of_a_covered_range_makes_no_request(fred: FredSource, market: FakeMarket) -> None:
    fred.series("GDPC1", date(2000, 1, 1), date(2004, 12, 31))

    again = fred.series("GDPC1", date(2001, 1, 1), date(2003, 12, 31))

    assert len(market.requests) == 1
    assert again.provenance.cached is True
    assert again.point_in_time is True
    assert len(again.frame) == 24


def test_wider_range_fetches_only_the_missing_parts(fred: FredSource, market: FakeMarket) -> None:
    fred.series("GDPC1", date(2000, 1, 1), date(2004, 12, 31))

    series = fred.series("GDPC1", date(1998, 1, 1), date(2006, 12, 31))

    spans = [(r.query["observation_start"], r.query["observation_end"]) for r in market.requests]
    assert spans == [
        ("2000-01-01", "2004-12-31"),
        ("1998-01-01", "1999-12-31"),
        ("2005-01-01", "2006-12-31"),
    ]
    assert len(series.frame) == 72


def test_vintage_and_latest_caches_are_separate(fred: FredSource, market: FakeMarket) -> None:
    fred.series("GDPC1", date(2000, 1, 1), date(2000, 12, 31))

    latest = fred.series("GDPC1", date(2000, 1, 1), date(2000, 12, 31), as_of=False)

    assert len(market.requests) == 2
    assert len(latest.frame) == 4


def test_no_key_serves_the_cache_labelled_as_cached(
    fred: FredSource, market: FakeMarket, monkeypatch: pytest.MonkeyPatch
) -> None:
    fred.series("GDPC1", date(2000, 1, 1), date(2000, 12, 31))
    monkeypatch.delenv("FRED_API_KEY")

    series = FredSource(Settings()).series("GDPC1", date(2000, 1, 1), date(2001, 12, 31))

    assert len(market.requests) == 1
    assert series.provenance.cached is True
    assert "not cached: 2001-01-01..2001-12-31" in series.provenance.note


def test_no_key_and_nothing_cached_names_fred_api_key_and_sample_series() -> None:
    with pytest.raises(DataSourceError, match=r"FRED_API_KEY.*VIXCLS"):
        FredSource(Settings()).series("DGS10", date(2000, 1, 1), date(2000, 12, 31))
