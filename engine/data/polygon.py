"""Polygon (now Massive) daily bars: split- and dividend-adjusted aggregates, cached in SQLite.

All of Polygon's wire format lives here: the aggregates URL and its `next_url` cursor, the bar
fields (`t o h l c v`), New York trading dates, and HTTP statuses turned into messages that say
what to do.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from urllib.parse import parse_qsl, quote, urlencode
from zoneinfo import ZoneInfo

import httpx2
import numpy as np
import pandas as pd

from mltrainer.engine.data.base import (
    BAR_COLUMNS,
    BarSet,
    SymbolInfo,
    make_provenance,
)
from mltrainer.engine.data.cache import (
    DateRange,
    request_fingerprint,
    utc_now,
)
from mltrainer.engine.data.http import (
    HttpFailure,
    JsonFetcher,
    JsonReply,
)
from mltrainer.engine.data.live import LiveSource
from mltrainer.engine.data.sample import SampleSource
from mltrainer.engine.errors import DataSourceError
from mltrainer.engine.trial import TICKER_PATTERN

NEW_YORK = ZoneInfo("America/New_York")
# The free tier serves about two years of daily history; older ranges answer 403.
DEFAULT_HISTORY = timedelta(days=730)
KEY_HINT = "set POLYGON_API_KEY (or MASSIVE_API_KEY) in the environment or .env"
# A cached bar this close to a missing range is re-fetched with it, to check that the adjusted
# prices still agree (a split since the last fetch rescales the whole history).
_ANCHOR_REACH = timedelta(days=7)
_MAX_PAGES = 1000
_EXAMPLES = ("AAPL", "MSFT", "SPY", "QQQ", "NVDA", "BRK.B")


def bar_dates(timestamps_ms: pd.Series | np.ndarray | list[int]) -> pd.DatetimeIndex:
    """Polygon's `t` (UTC milliseconds of midnight New York) as New York trading dates.

    Midnight in New York is 05:00 UTC in winter and 04:00 UTC in summer; converting through the
    exchange's zone (not UTC, not the machine's) gives the right day on both sides of DST.
    """
    instants = pd.to_datetime(np.asarray(timestamps_ms, dtype="int64"), unit="ms", utc=True)
    local = pd.DatetimeIndex(instants).tz_convert(NEW_YORK).normalize().tz_localize(None)
    return local.as_unit("ns").rename("date")


def new_york_today() -> date:
    return datetime.now(NEW_YORK).date()


class PolygonSource(LiveSource):
    """Daily adjusted bars for any ticker Polygon/Massive knows; needs POLYGON_API_KEY unless
    the range is cached."""

    name = "polygon"
    kind = "real"
    key_setting = "polygon_api_key"
    key_hint = KEY_HINT
    base_url_setting = "polygon_base_url"
    rate_setting = "polygon_requests_per_minute"

    def symbols(self) -> list[SymbolInfo]:
        cached = self.cached_symbols("bars", "daily bars")
        examples = [
            SymbolInfo(
                symbol=ticker,
                source=self.name,
                kind="bars",
                description="example: any US stock or ETF ticker, daily adjusted bars "
                "(needs POLYGON_API_KEY)",
            )
            for ticker in _EXAMPLES
            if ticker not in {info.symbol for info in cached}
        ]
        return cached + examples

    def offers(
        self,
        symbol: str,
        start: date | None = None,
        end: date | None = None,
        *,
        series: bool = False,
        as_of: bool = True,
    ) -> bool:
        return not series and (self.has_key() or self.has_cached(symbol, start, end))

    def has_cached(self, symbol: str, start: date | None = None, end: date | None = None) -> bool:
        """Whether any bar for `symbol` in the range is cached (so it can be served offline)."""
        wanted = self._wanted(start, end)
        return self.cache.has_rows(self.name, _ticker(symbol), "bars", wanted.start, wanted.end)

    def bars(self, symbol: str, start: date | None = None, end: date | None = None) -> BarSet:
        ticker = _ticker(symbol)
        wanted = self._wanted(start, end)
        gaps = self.cache.missing(self.name, ticker, "bars", wanted)
        if not gaps:
            return self._from_cache(ticker, wanted, cached=True, note="served from the cache")
        key = self._key()
        if key is None:
            return self._offline(ticker, wanted, gaps, "no API key is set")
        try:
            requests = self._fetch(ticker, wanted, gaps, key)
        except HttpFailure as failure:
            return self._offline(ticker, wanted, gaps, str(failure))
        ranges = ", ".join(str(gap) for gap in gaps)
        note = f"adjusted daily aggregates; fetched {ranges} in {requests} request(s)"
        return self._from_cache(ticker, wanted, cached=False, note=note)

    def _wanted(self, start: date | None, end: date | None) -> DateRange:
        last = end or new_york_today()
        first = start or (last - DEFAULT_HISTORY)
        if first > last:
            raise DataSourceError(f"start {first} is after end {last}; give start <= end")
        return DateRange(first, last)

    def _from_cache(self, ticker: str, wanted: DateRange, *, cached: bool, note: str) -> BarSet:
        stored = self.cache.read_bars(self.name, ticker, wanted.start, wanted.end)
        if stored.frame.empty:
            raise DataSourceError(
                f"polygon has no bars for '{ticker}' between {wanted.start} and {wanted.end}: "
                "the ticker is unknown to Polygon/Massive or did not trade in that range"
            )
        provenance = make_provenance(
            stored.frame,
            source=self.name,
            kind="real",
            symbol=ticker,
            cached=cached,
            fetched_at=stored.fetched_at,
            note=note,
        )
        return BarSet(stored.frame, provenance)

    def _offline(
        self, ticker: str, wanted: DateRange, gaps: list[DateRange], reason: str
    ) -> BarSet:
        """Cached bars when live data cannot be had; otherwise an error that says what to do."""
        if self.cache.has_rows(self.name, ticker, "bars", wanted.start, wanted.end):
            missing = ", ".join(str(gap) for gap in gaps)
            note = f"offline, served from the cache ({reason}); not cached: {missing}"
            return self._from_cache(ticker, wanted, cached=True, note=note)
        sample = ", ".join(s.symbol for s in SampleSource().symbols() if s.kind == "bars")
        raise DataSourceError(
            f"polygon cannot deliver {ticker} {wanted}: {reason}; nothing is cached for it. "
            + (f"To fetch it, {KEY_HINT}. " if self._key() is None else "")
            + f"Offline, use --source sample with {sample}"
        )

    def _fetch(self, ticker: str, wanted: DateRange, gaps: list[DateRange], key: str) -> int:
        """Download every gap (with anchor bars beside it) into the cache; returns requests."""
        settled = new_york_today() - timedelta(days=1)
        fetched_at = utc_now()
        requests = 0
        with self.http(key) as http:
            for gap in gaps:
                before, after = self.cache.bar_dates_around(self.name, ticker, gap)
                before = before if before and gap.start - before <= _ANCHOR_REACH else None
                after = after if after and after - gap.end <= _ANCHOR_REACH else None
                span = DateRange(before or gap.start, after or gap.end)
                frame, fingerprint, pages = self._download(http, key, ticker, span)
                requests += pages
                if self._anchors_moved(ticker, frame, [d for d in (before, after) if d]):
                    frame, fingerprint, pages = self._download(http, key, ticker, wanted)
                    requests += pages
                    self.cache.store_bars(
                        self.name,
                        ticker,
                        frame,
                        covered=_settled_part(wanted, settled),
                        fetched_at=fetched_at,
                        fingerprint=fingerprint,
                        replace=True,
                    )
                    return requests
                self.cache.store_bars(
                    self.name,
                    ticker,
                    frame,
                    covered=_settled_part(gap, settled),
                    fetched_at=fetched_at,
                    fingerprint=fingerprint,
                )
        return requests

    def _anchors_moved(self, ticker: str, frame: pd.DataFrame, anchors: list[date]) -> bool:
        """True when a re-fetched cached bar no longer matches: the adjusted history changed."""
        for anchor in anchors:
            old = self.cache.read_bars(self.name, ticker, anchor, anchor).frame
            stamp = pd.Timestamp(anchor)
            if stamp not in frame.index:
                return True
            if not np.isclose(frame.at[stamp, "close"], old["close"].iloc[0], rtol=1e-6):
                return True
        return False

    def _download(
        self, http: JsonFetcher, key: str, ticker: str, span: DateRange
    ) -> tuple[pd.DataFrame, str, int]:
        path = f"/v2/aggs/ticker/{quote(ticker, safe='.-')}/range/1/day/{span.start}/{span.end}"
        params: dict[str, str] | None = {"adjusted": "true", "sort": "asc", "limit": "50000"}
        fingerprint = request_fingerprint(self.name, path, params or {})
        headers = {"Authorization": f"Bearer {key}"}
        url: str | None = self.base_url + path
        results: list[dict[str, object]] = []
        pages = 0
        while url is not None:
            if pages >= _MAX_PAGES:
                raise DataSourceError(
                    f"polygon kept paginating {ticker} {span} past {_MAX_PAGES} pages; stopped"
                )
            reply = http.get(url, params, headers)
            pages += 1
            payload = _check(reply, ticker, span, http)
            page = payload.get("results") or []
            if not isinstance(page, list):
                raise DataSourceError(f"polygon sent 'results' that is not a list for {ticker}")
            results.extend(page)
            next_url = payload.get("next_url")
            url, params = self._follow(next_url) if isinstance(next_url, str) else (None, None)
        return _bars_frame(results, ticker), fingerprint, pages

    def _follow(self, next_url: str) -> tuple[str, dict[str, str] | None]:
        """Polygon's `next_url` names its own host and may carry an `apiKey`: keep the path and
        cursor, and send it to our base URL with our header."""
        target = httpx2.URL(next_url)
        if not target.path.startswith("/v2/aggs/ticker/"):
            raise DataSourceError(
                "polygon sent a next_url outside the aggregates endpoint; not following it"
            )
        query = [
            (k, v)
            for k, v in parse_qsl(target.query.decode(), keep_blank_values=True)
            if k.lower() not in {"apikey", "api_key"}
        ]
        suffix = ("?" + urlencode(query)) if query else ""
        return self.base_url + target.path + suffix, None


def _ticker(symbol: str) -> str:
    ticker = symbol.strip().upper()
    if not re.fullmatch(TICKER_PATTERN, ticker):
        raise DataSourceError(
            f"'{symbol}' is not a valid ticker; use 1-10 letters, digits, '.' or '-' "
            "starting with a letter (e.g. MSFT, BRK.B)"
        )
    return ticker


def _settled_part(span: DateRange, settled: date) -> list[DateRange]:
    """The part of `span` whose daily bars are final: today's bar may still change."""
    if span.start > settled:
        return []
    return [DateRange(span.start, min(span.end, settled))]


def _check(reply: JsonReply, ticker: str, span: DateRange, http: JsonFetcher) -> dict[str, object]:
    """The JSON object of a good reply, or the error that says what went wrong and what to do."""
    detail = http.redact(reply.message())[:300]
    said = f": {detail}" if detail else ""
    status = reply.status
    if status == 200 and isinstance(reply.payload, dict):
        if reply.payload.get("status") == "ERROR":
            raise DataSourceError(f"polygon reported an error for {ticker} {span}{said}")
        return reply.payload
    if status == 200:
        raise DataSourceError(f"polygon answered {ticker} {span} with JSON that is not an object")
    if status == 401:
        raise DataSourceError(
            f"polygon rejected the API key (HTTP 401{said}); {KEY_HINT} to a valid key"
        )
    if status == 403:
        raise DataSourceError(
            f"polygon refused {ticker} {span} (HTTP 403{said}): the plan does not cover this "
            "data or this date range (the free tier has about two years of daily bars); "
            "use a later --start or a plan that includes it"
        )
    if status == 404:
        raise DataSourceError(f"polygon does not know ticker '{ticker}' (HTTP 404{said})")
    if status == 429:
        wait = f"; it asks to wait {reply.retry_after:.0f} s" if reply.retry_after else ""
        raise DataSourceError(
            f"polygon rate limit (HTTP 429) still hit after {reply.attempts} attempt(s){wait}; "
            "wait a minute and retry (POLYGON_REQUESTS_PER_MINUTE sets the client-side limit, "
            "5 on the free tier)"
        )
    if status >= 500:
        raise DataSourceError(
            f"polygon server error HTTP {status} for {ticker} {span} after "
            f"{reply.attempts} attempt(s){said}; try again later"
        )
    raise DataSourceError(f"polygon answered HTTP {status} for {ticker} {span}{said}")


def _bars_frame(results: list[dict[str, object]], ticker: str) -> pd.DataFrame:
    if not results:
        return pd.DataFrame(
            {c: pd.Series(dtype=float) for c in BAR_COLUMNS},
            index=pd.DatetimeIndex([], name="date").as_unit("ns"),
        )
    raw = pd.DataFrame(results)
    missing = [field for field in ("t", "o", "h", "l", "c", "v") if field not in raw.columns]
    if missing:
        raise DataSourceError(f"polygon bars for {ticker} lack fields {missing}")
    frame = pd.DataFrame(
        {
            "open": raw["o"].astype(float).to_numpy(),
            "high": raw["h"].astype(float).to_numpy(),
            "low": raw["l"].astype(float).to_numpy(),
            "close": raw["c"].astype(float).to_numpy(),
            "volume": raw["v"].astype(float).to_numpy(),
        },
        index=bar_dates(raw["t"].to_numpy()),
    )
    return frame[~frame.index.duplicated(keep="last")].sort_index()
