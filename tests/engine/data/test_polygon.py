"""PolygonSource against the fake server: wire format, pagination, dates, errors, cache."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from mltrainer.engine.data.http import RetryPolicy
from mltrainer.engine.data.polygon import PolygonSource, bar_dates
from mltrainer.engine.data.sample import SampleSource
from mltrainer.engine.errors import DataSourceError
from mltrainer.engine.settings import Settings
from tests.engine.data.market_fakes import FOREIGN_HOST, FakeMarket, Reply, SleepLog, polygon_t

AGGS = "/v2/aggs/ticker/MSFT/range/1/day/"


def sample_msft(start: str, end: str) -> pd.DataFrame:
    return SampleSource().bars("MSFT", date.fromisoformat(start), date.fromisoformat(end)).frame


def utc_ms(instant: str) -> int:
    return int(pd.Timestamp(instant).value // 1_000_000)


@pytest.fixture
def polygon(settings: Settings, fast_retry: RetryPolicy) -> PolygonSource:
    return PolygonSource(settings, retry=fast_retry)


def test_bars_match_the_sample_data_they_were_served_from(
    polygon: PolygonSource, market: FakeMarket
) -> None:
    bars = polygon.bars("msft", date(2015, 1, 1), date(2015, 3, 31))

    pd.testing.assert_frame_equal(bars.frame, sample_msft("2015-01-01", "2015-03-31"))
    assert bars.provenance.source == "polygon"
    assert bars.provenance.kind == "real"
    assert bars.provenance.symbol == "MSFT"
    assert bars.provenance.cached is False
    assert market.paths() == [AGGS + "2015-01-01/2015-03-31"]


def test_request_uses_bearer_header_and_documented_parameters(
    polygon: PolygonSource, market: FakeMarket
) -> None:
    polygon.bars("MSFT", date(2015, 1, 1), date(2015, 1, 31))

    request = market.requests[0]
    assert request.headers["authorization"] == "Bearer POLYKEY-SECRET-123"
    assert request.query == {"adjusted": "true", "sort": "asc", "limit": "50000"}


def test_pagination_follows_next_url_on_our_host_with_our_header(
    polygon: PolygonSource, market: FakeMarket
) -> None:
    market.polygon_page_size = 100

    bars = polygon.bars("MSFT", date(2015, 1, 1), date(2015, 12, 31))

    assert len(bars.frame) == 252
    pd.testing.assert_frame_equal(bars.frame, sample_msft("2015-01-01", "2015-12-31"))
    assert len(market.requests) == 3
    assert [r.query.get("cursor") is not None for r in market.requests] == [False, True, True]
    assert all(r.headers["authorization"] == "Bearer POLYKEY-SECRET-123" for r in market.requests)
    assert all(r.path == AGGS + "2015-01-01/2015-12-31" for r in market.requests)


def test_next_url_outside_the_aggregates_endpoint_is_refused(
    polygon: PolygonSource, market: FakeMarket
) -> None:
    market.script(
        Reply(200, {"status": "OK", "results": [], "next_url": f"{FOREIGN_HOST}/v1/other?x=1"})
    )

    with pytest.raises(DataSourceError, match="next_url outside the aggregates endpoint"):
        polygon.bars("MSFT", date(2015, 1, 1), date(2015, 1, 31))


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        ("2016-03-11T05:00:00Z", "2016-03-11"),  # EST: midnight New York is 05:00 UTC
        ("2016-03-14T04:00:00Z", "2016-03-14"),  # EDT after the March switch: 04:00 UTC
        ("2016-11-04T04:00:00Z", "2016-11-04"),  # EDT before the November switch
        ("2016-11-07T05:00:00Z", "2016-11-07"),  # EST again
        ("2016-03-14T03:00:00Z", "2016-03-13"),  # 23:00 the evening before in New York
    ],
)
def test_bar_dates_are_new_york_dates(instant: str, expected: str) -> None:
    assert bar_dates([utc_ms(instant)])[0] == pd.Timestamp(expected)


def test_fixture_timestamps_straddle_daylight_saving(market: FakeMarket) -> None:
    assert polygon_t(pd.Timestamp("2016-03-11")) == utc_ms("2016-03-11T05:00:00Z")
    assert polygon_t(pd.Timestamp("2016-03-14")) == utc_ms("2016-03-14T04:00:00Z")


def test_bars_across_the_dst_switch_keep_their_trading_dates(polygon: PolygonSource) -> None:
    bars = polygon.bars("MSFT", date(2016, 3, 9), date(2016, 3, 16))

    assert [d.date().isoformat() for d in bars.frame.index] == [
        "2016-03-09",
        "2016-03-10",
        "2016-03-11",
        "2016-03-14",
        "2016-03-15",
        "2016-03-16",
    ]


def test_unknown_ticker_without_results_is_a_clear_error(polygon: PolygonSource) -> None:
    with pytest.raises(DataSourceError, match=r"no bars for 'ZZZZ'.*unknown to Polygon"):
        polygon.bars("ZZZZ", date(2015, 1, 1), date(2015, 1, 31))


def test_missing_results_key_in_a_range_means_no_bars(
    polygon: PolygonSource, market: FakeMarket
) -> None:
    polygon.bars("MSFT", date(2015, 1, 1), date(2015, 1, 31))
    market.script(Reply(200, {"ticker": "MSFT", "status": "OK", "resultsCount": 0}))

    bars = polygon.bars("MSFT", date(2015, 1, 1), date(2015, 2, 1))

    assert bars.frame.index[-1] == pd.Timestamp("2015-01-30")


def test_invalid_ticker_never_reaches_the_wire(polygon: PolygonSource, market: FakeMarket) -> None:
    with pytest.raises(DataSourceError, match="not a valid ticker"):
        polygon.bars("../etc", date(2015, 1, 1), date(2015, 1, 31))
    assert market.requests == []


def test_401_names_the_key_settings_and_is_not_retried(
    polygon: PolygonSource, market: FakeMarket, sleeps: SleepLog
) -> None:
    market.polygon_key = "another-key"

    with pytest.raises(DataSourceError, match=r"HTTP 401: Unknown API Key.*POLYGON_API_KEY"):
        polygon.bars("MSFT", date(2015, 1, 1), date(2015, 1, 31))
    assert len(market.requests) == 1


def test_403_says_the_plan_does_not_cover_the_range(
    polygon: PolygonSource, market: FakeMarket
) -> None:
    market.script(
        Reply(403, {"status": "NOT_AUTHORIZED", "message": "Your plan doesn't include this data"})
    )

    with pytest.raises(DataSourceError, match=r"HTTP 403.*plan does not cover"):
        polygon.bars("MSFT", date(2015, 1, 1), date(2015, 1, 31))
    assert len(market.requests) == 1


def test_404_is_not_retried(polygon: PolygonSource, market: FakeMarket) -> None:
    market.script(Reply(404, {"status": "NOT_FOUND", "message": "Not found"}))

    with pytest.raises(DataSourceError, match="HTTP 404"):
        polygon.bars("MSFT", date(2015, 1, 1), date(2015, 1, 31))
    assert len(market.requests) == 1


def test_429_after_every_attempt_is_reported_as_a_rate_limit(
    polygon: PolygonSource, market: FakeMarket
) -> None:
    market.script(*[Reply(429, {"status": "ERROR", "error": "too many"})] * 3)

    with pytest.raises(DataSourceError, match=r"rate limit \(HTTP 429\) still hit after 3"):
        polygon.bars("MSFT", date(2015, 1, 1), date(2015, 1, 31))
    assert len(market.requests) == 3


def test_500_then_success_returns_the_bars(
    polygon: PolygonSource, market: FakeMarket, sleeps: SleepLog
) -> None:
    market.script(Reply(500, {"status": "ERROR", "error": "internal"}))

    bars = polygon.bars("MSFT", date(2015, 1, 1), date(2015, 1, 31))

    assert len(bars.frame) == 20
    assert len(market.requests) == 2


def test_repeat_of_a_covered_range_makes_no_request(
    polygon: PolygonSource, market: FakeMarket
) -> None:
    first = polygon.bars("MSFT", date(2015, 1, 1), date(2015, 6, 30))
    again = polygon.bars("MSFT", date(2015, 2, 1), date(2015, 5, 31))

    assert len(market.requests) == 1
    assert again.provenance.cached is True
    assert again.provenance.fetched_at == first.provenance.fetched_at
    pd.testing.assert_frame_equal(again.frame, sample_msft("2015-02-01", "2015-05-31"))


def test_wider_range_fetches_only_the_missing_parts(
    polygon: PolygonSource, market: FakeMarket
) -> None:
    polygon.bars("MSFT", date(2015, 3, 1), date(2015, 6, 30))

    bars = polygon.bars("MSFT", date(2015, 1, 1), date(2015, 9, 30))

    # Each gap also asks for the cached bar beside it, to check the adjustments still agree.
    assert market.paths() == [
        AGGS + "2015-03-01/2015-06-30",
        AGGS + "2015-01-01/2015-03-02",
        AGGS + "2015-06-30/2015-09-30",
    ]
    assert bars.provenance.cached is False
    pd.testing.assert_frame_equal(bars.frame, sample_msft("2015-01-01", "2015-09-30"))


def test_changed_adjustments_replace_the_cached_history(
    polygon: PolygonSource, market: FakeMarket
) -> None:
    polygon.bars("MSFT", date(2015, 1, 1), date(2015, 6, 30))
    split = market.bars["MSFT"].copy()
    split[["open", "high", "low", "close"]] /= 2
    market.bars["MSFT"] = split

    bars = polygon.bars("MSFT", date(2015, 1, 1), date(2015, 9, 30))

    assert market.paths()[1:] == [AGGS + "2015-06-30/2015-09-30", AGGS + "2015-01-01/2015-09-30"]
    expected = sample_msft("2015-01-01", "2015-09-30")
    np.testing.assert_allclose(bars.frame["close"], expected["close"] / 2)


def test_no_key_serves_the_cache_labelled_as_cached(
    polygon: PolygonSource, market: FakeMarket, monkeypatch: pytest.MonkeyPatch
) -> None:
    polygon.bars("MSFT", date(2015, 1, 1), date(2015, 6, 30))
    monkeypatch.delenv("POLYGON_API_KEY")

    bars = PolygonSource(Settings()).bars("MSFT", date(2015, 1, 1), date(2015, 12, 31))

    assert len(market.requests) == 1
    assert bars.provenance.cached is True
    assert "offline" in bars.provenance.note
    assert "not cached: 2015-07-01..2015-12-31" in bars.provenance.note
    assert bars.frame.index[-1] == pd.Timestamp("2015-06-30")


def test_no_network_serves_the_cache_labelled_as_cached(
    polygon: PolygonSource, monkeypatch: pytest.MonkeyPatch, fast_retry: RetryPolicy
) -> None:
    polygon.bars("MSFT", date(2015, 1, 1), date(2015, 6, 30))
    monkeypatch.setenv("POLYGON_BASE_URL", "http://127.0.0.1:1")

    bars = PolygonSource(Settings(), retry=fast_retry).bars(
        "MSFT", date(2015, 1, 1), date(2015, 7, 31)
    )

    assert bars.provenance.cached is True
    assert "ConnectError" in bars.provenance.note


def test_no_network_and_nothing_cached_says_so_without_blaming_the_key(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, fast_retry: RetryPolicy
) -> None:
    monkeypatch.setenv("POLYGON_BASE_URL", "http://127.0.0.1:1")

    with pytest.raises(DataSourceError) as raised:
        PolygonSource(Settings(), retry=fast_retry).bars(
            "AAPL", date(2015, 1, 1), date(2015, 1, 31)
        )

    message = str(raised.value)
    assert "ConnectError" in message
    assert "nothing is cached" in message
    assert "To fetch it" not in message


def test_no_key_and_nothing_cached_says_which_key_and_sample_symbols(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(DataSourceError) as raised:
        PolygonSource(Settings()).bars("AAPL", date(2015, 1, 1), date(2015, 1, 31))

    message = str(raised.value)
    assert "POLYGON_API_KEY" in message
    assert "MASSIVE_API_KEY" in message
    assert "SPX, IXIC, MSFT" in message


def test_massive_api_key_is_accepted(market: FakeMarket, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MASSIVE_API_KEY", "POLYKEY-SECRET-123")
    monkeypatch.setenv("POLYGON_BASE_URL", market.url)

    bars = PolygonSource(Settings()).bars("MSFT", date(2015, 1, 1), date(2015, 1, 31))

    assert len(bars.frame) == 20


def test_symbols_lists_cached_tickers_first(polygon: PolygonSource) -> None:
    polygon.bars("MSFT", date(2015, 1, 1), date(2015, 1, 31))

    infos = polygon.symbols()

    assert infos[0].symbol == "MSFT"
    assert infos[0].start == date(2015, 1, 2)
    assert "AAPL" in [info.symbol for info in infos]
