"""FRED macro series, point in time by default: every ALFRED vintage, so a value is used only
from the day it was published, never with hindsight. Cached in SQLite.

All of FRED's wire format lives here: `/fred/series/observations`, string values with "." for
missing, `realtime_start` as the day a value became known, and FRED's 400-for-a-bad-key.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pandas as pd

from mltrainer.engine.data.base import SeriesSet, SymbolInfo, make_provenance
from mltrainer.engine.data.cache import (
    Dataset,
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

# FRED's own bounds for "all of time": the earliest observation and the open real-time end.
EARLIEST = date(1776, 7, 4)
REALTIME_END = "9999-12-31"
KEY_HINT = (
    "set FRED_API_KEY in the environment or .env "
    "(a free key: https://fredaccount.stlouisfed.org/apikeys)"
)
# Values for recent periods are still being published and revised; a cached range counts as
# complete only for periods older than this, so the recent tail is always asked for again.
REVISION_WINDOW = timedelta(days=400)
_PAGE_LIMIT = 100000
_MAX_PAGES = 1000
_SERIES_ID = re.compile(r"^[A-Z][A-Z0-9_]{0,29}$")
_EXAMPLES = {
    "DGS10": "10-year Treasury constant maturity yield, daily",
    "VIXCLS": "CBOE VIX close, daily",
    "UNRATE": "civilian unemployment rate, monthly (revised)",
    "PAYEMS": "nonfarm payrolls, monthly (revised)",
    "CPIAUCSL": "consumer price index, monthly (revised)",
    "GDPC1": "real GDP, quarterly (revised)",
}
_LATEST_NOTE = (
    "latest values, NOT point in time: `available` is the period date, so revisions and "
    "publication lags leak; use as_of=True for research"
)


class FredSource(LiveSource):
    """Any FRED series by id; as-of (vintage) data by default. Needs FRED_API_KEY unless cached."""

    name = "fred"
    kind = "real"
    key_setting = "fred_api_key"
    key_hint = KEY_HINT
    base_url_setting = "fred_base_url"
    rate_setting = "fred_requests_per_minute"

    def symbols(self) -> list[SymbolInfo]:
        cached = self.cached_symbols("series")
        seen = {info.symbol for info in cached}
        return cached + [
            SymbolInfo(
                symbol=series_id,
                source=self.name,
                kind="series",
                description=f"example: {text} (any FRED id works; needs FRED_API_KEY)",
            )
            for series_id, text in _EXAMPLES.items()
            if series_id not in seen
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
        return series and (self.has_key() or self.has_cached(symbol, start, end, as_of=as_of))

    def has_cached(
        self,
        series_id: str,
        start: date | None = None,
        end: date | None = None,
        *,
        as_of: bool = True,
    ) -> bool:
        wanted = _wanted(start, end)
        dataset: Dataset = "vintages" if as_of else "latest"
        return self.cache.has_rows(
            self.name, _series_id(series_id), dataset, wanted.start, wanted.end
        )

    def series(
        self,
        series_id: str,
        start: date | None = None,
        end: date | None = None,
        *,
        as_of: bool = True,
    ) -> SeriesSet:
        """One row per (period, vintage) with `available` = the vintage's first day when
        `as_of`; one row per period with `available` = the period date otherwise."""
        sid = _series_id(series_id)
        wanted = _wanted(start, end)
        dataset: Dataset = "vintages" if as_of else "latest"
        gaps = self.cache.missing(self.name, sid, dataset, wanted)
        if not gaps:
            return self._from_cache(sid, dataset, wanted, cached=True, note="served from the cache")
        key = self._key()
        if key is None:
            return self._offline(sid, dataset, wanted, gaps, "no API key is set")
        try:
            requests = self._fetch(sid, dataset, gaps, key)
        except HttpFailure as failure:
            return self._offline(sid, dataset, wanted, gaps, str(failure))
        ranges = ", ".join(str(gap) for gap in gaps)
        note = f"fetched {ranges} in {requests} request(s)"
        return self._from_cache(sid, dataset, wanted, cached=False, note=note)

    def _from_cache(
        self, sid: str, dataset: Dataset, wanted: DateRange, *, cached: bool, note: str
    ) -> SeriesSet:
        stored = self.cache.read_observations(self.name, sid, dataset, wanted.start, wanted.end)
        if stored.frame.empty:
            raise DataSourceError(
                f"FRED has no observations of {sid} between {wanted.start} and {wanted.end}"
            )
        as_of = dataset == "vintages"
        label = "ALFRED vintages, available = first day each value was published; " if as_of else ""
        provenance = make_provenance(
            stored.frame,
            source=self.name,
            kind="real",
            symbol=sid,
            cached=cached,
            fetched_at=stored.fetched_at,
            note=label + (note if as_of else f"{_LATEST_NOTE}; {note}"),
        )
        return SeriesSet(stored.frame, provenance, point_in_time=as_of)

    def _offline(
        self, sid: str, dataset: Dataset, wanted: DateRange, gaps: list[DateRange], reason: str
    ) -> SeriesSet:
        if self.cache.has_rows(self.name, sid, dataset, wanted.start, wanted.end):
            missing = ", ".join(str(gap) for gap in gaps)
            note = f"offline, served from the cache ({reason}); not cached: {missing}"
            return self._from_cache(sid, dataset, wanted, cached=True, note=note)
        sample = ", ".join(s.symbol for s in SampleSource().symbols() if s.kind == "series")
        raise DataSourceError(
            f"FRED cannot deliver {sid} {wanted}: {reason}; nothing is cached for it. "
            + (f"To fetch it, {KEY_HINT}. " if self._key() is None else "")
            + f"Offline, use --source sample with {sample}"
        )

    def _fetch(self, sid: str, dataset: Dataset, gaps: list[DateRange], key: str) -> int:
        settled = date.today() - REVISION_WINDOW
        fetched_at = utc_now()
        requests = 0
        with self.http(key) as http:
            for gap in gaps:
                frame, fingerprint, pages = self._download(http, key, sid, dataset, gap)
                requests += pages
                covered = (
                    [] if gap.start > settled else [DateRange(gap.start, min(gap.end, settled))]
                )
                self.cache.store_observations(
                    self.name,
                    sid,
                    dataset,
                    frame,
                    covered=covered,
                    fetched_at=fetched_at,
                    fingerprint=fingerprint,
                )
        return requests

    def _download(
        self, http: JsonFetcher, key: str, sid: str, dataset: Dataset, span: DateRange
    ) -> tuple[pd.DataFrame, str, int]:
        path = "/fred/series/observations"
        params = {
            "series_id": sid,
            "file_type": "json",
            "observation_start": span.start.isoformat(),
            "observation_end": span.end.isoformat(),
            "sort_order": "asc",
            "limit": str(_PAGE_LIMIT),
        }
        if dataset == "vintages":
            params |= {"realtime_start": EARLIEST.isoformat(), "realtime_end": REALTIME_END}
        fingerprint = request_fingerprint(self.name, path, params)
        rows: list[dict[str, object]] = []
        pages = 0
        while True:
            if pages >= _MAX_PAGES:
                raise DataSourceError(f"FRED kept paginating {sid} past {_MAX_PAGES} pages")
            page_params = params | {"offset": str(len(rows)), "api_key": key}
            reply = http.get(self.base_url + path, page_params)
            pages += 1
            payload = _check(reply, sid, http)
            page = payload.get("observations") or []
            if not isinstance(page, list):
                raise DataSourceError(f"FRED sent 'observations' that is not a list for {sid}")
            rows.extend(page)
            total = payload.get("count")
            if not page or not isinstance(total, int) or len(rows) >= total:
                break
        return _observations_frame(rows, sid, dataset), fingerprint, pages


def _series_id(series_id: str) -> str:
    sid = series_id.strip().upper()
    if not _SERIES_ID.fullmatch(sid):
        raise DataSourceError(
            f"'{series_id}' is not a valid FRED series id; use letters, digits and '_' "
            "(e.g. DGS10, UNRATE)"
        )
    return sid


def _wanted(start: date | None, end: date | None) -> DateRange:
    first = start or EARLIEST
    last = end or date.today()
    if first > last:
        raise DataSourceError(f"start {first} is after end {last}; give start <= end")
    return DateRange(first, last)


def _check(reply: JsonReply, sid: str, http: JsonFetcher) -> dict[str, object]:
    """The JSON object of a good reply, or the error that says what went wrong and what to do."""
    detail = http.redact(reply.message())[:300]
    said = f": {detail}" if detail else ""
    status = reply.status
    if status == 200 and isinstance(reply.payload, dict):
        return reply.payload
    if status == 200:
        raise DataSourceError(f"FRED answered {sid} with JSON that is not an object")
    lowered = detail.lower()
    if status in (400, 401, 403) and ("api_key" in lowered or "api key" in lowered):
        raise DataSourceError(f"FRED rejected the API key (HTTP {status}{said}); {KEY_HINT}")
    if status in (401, 403):
        raise DataSourceError(f"FRED refused the request (HTTP {status}{said}); {KEY_HINT}")
    if status in (400, 404) and "does not exist" in lowered:
        raise DataSourceError(f"FRED has no series '{sid}' (HTTP {status}{said})")
    if status == 429:
        raise DataSourceError(
            f"FRED rate limit (HTTP 429) still hit after {reply.attempts} attempt(s); wait a "
            "minute and retry (FRED_REQUESTS_PER_MINUTE sets the client-side limit, 120 default)"
        )
    if status >= 500:
        raise DataSourceError(
            f"FRED server error HTTP {status} for {sid} after {reply.attempts} attempt(s)"
            f"{said}; try again later"
        )
    raise DataSourceError(f"FRED answered HTTP {status} for {sid}{said}")


def _observations_frame(rows: list[dict[str, object]], sid: str, dataset: Dataset) -> pd.DataFrame:
    periods: list[str] = []
    values: list[float] = []
    available: list[str] = []
    for row in rows:
        try:
            period = str(row["date"])
            text = str(row["value"])
            known = str(row["realtime_start"]) if dataset == "vintages" else period
        except KeyError as missing:
            raise DataSourceError(f"FRED observation of {sid} lacks {missing}") from None
        try:
            value = float("nan") if text == "." else float(text)
        except ValueError:
            raise DataSourceError(
                f"FRED sent a non-numeric value {text!r} for {sid} on {period}"
            ) from None
        periods.append(period)
        values.append(value)
        available.append(known)
    frame = pd.DataFrame(
        {
            "value": pd.array(values, dtype=float),
            "available": pd.DatetimeIndex(available).as_unit("ns"),
        },
        index=pd.DatetimeIndex(periods, name="date").as_unit("ns"),
    )
    frame = frame.reset_index().drop_duplicates(["date", "available"], keep="last")
    return frame.sort_values(["date", "available"]).set_index("date")
