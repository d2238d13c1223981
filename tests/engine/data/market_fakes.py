"""A local HTTP server that speaks Polygon's aggregates and FRED's observations JSON.

Its data is generated from the offline sample data (MSFT bars, GDPC1 and VIXCLS series), so no
vendor response is committed. Tests script failures (status, headers, delays, cut-off bodies)
with `FakeMarket.script`, and count what reached the wire with `FakeMarket.requests`.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd

from mltrainer.engine.data.sample import SampleSource

POLYGON_KEY = "POLYKEY-SECRET-123"
FRED_KEY = "FREDKEY-SECRET-456"
FOREIGN_HOST = "https://api.massive.example"
FIRST_RELEASE_FACTOR = 0.99
REVISION_DELAY = timedelta(days=60)
MISSING_VIX_DATES = ("2015-12-25", "2016-01-01")


@dataclass(frozen=True)
class Reply:
    """One scripted answer: served to the next request instead of the normal one."""

    status: int = 200
    body: bytes | str | dict[str, Any] = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    declared_length: int | None = None


class SleepLog:
    """Stands in for `time.sleep` in retry policies: records waits, never waits."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@dataclass(frozen=True)
class Recorded:
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass(frozen=True)
class Observation:
    date: str
    value: str
    realtime_start: str
    realtime_end: str


def polygon_t(day: pd.Timestamp) -> int:
    """Midnight New York of `day` in UTC milliseconds, as Polygon sends `t`."""
    local = pd.Timestamp(day.date()).tz_localize("America/New_York")
    return int(local.tz_convert("UTC").value // 1_000_000)


@cache
def _gdp_vintages() -> tuple[Observation, ...]:
    """Each quarter first published 30 days after it ends at 99% of its final value, revised
    60 days later."""
    frame = SampleSource().series("GDPC1").frame
    rows = []
    for period, value in zip(frame.index, frame["value"], strict=True):
        quarter_end = (pd.Period(period, freq="Q").end_time).date()
        first = quarter_end + timedelta(days=30)
        revised = first + REVISION_DELAY
        rows.append(
            Observation(
                period.date().isoformat(),
                f"{value * FIRST_RELEASE_FACTOR:.3f}",
                first.isoformat(),
                (revised - timedelta(days=1)).isoformat(),
            )
        )
        rows.append(
            Observation(
                period.date().isoformat(), f"{value:.3f}", revised.isoformat(), "9999-12-31"
            )
        )
    return tuple(rows)


@cache
def _vix_observations() -> tuple[Observation, ...]:
    """VIX closes known the next day, with FRED's "." on two market holidays."""
    frame = SampleSource().series("VIXCLS").frame
    rows = [
        Observation(
            period.date().isoformat(),
            f"{value:.2f}",
            (period.date() + timedelta(days=1)).isoformat(),
            "9999-12-31",
        )
        for period, value in zip(frame.index, frame["value"], strict=True)
    ]
    for day in MISSING_VIX_DATES:
        known = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
        rows.append(Observation(day, ".", known, "9999-12-31"))
    return tuple(sorted(rows, key=lambda r: (r.date, r.realtime_start)))


class FakeMarket:
    """Polygon and FRED on 127.0.0.1:<free port>, with scripted failures and a request log."""

    def __init__(self) -> None:
        self.bars: dict[str, pd.DataFrame] = {"MSFT": SampleSource().bars("MSFT").frame.copy()}
        self.series: dict[str, list[Observation]] = {
            "GDPC1": list(_gdp_vintages()),
            "VIXCLS": list(_vix_observations()),
        }
        self.polygon_key = POLYGON_KEY
        self.fred_key = FRED_KEY
        self.polygon_page_size = 50000
        self.fred_page_size = 100000
        self.requests: list[Recorded] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        # A client that timed out has hung up; the late write fails and that is expected.
        self._server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeMarket:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def paths(self, prefix: str = "") -> list[str]:
        return [r.path for r in self.requests if r.path.startswith(prefix)]

    def _next_scripted(self) -> Reply | None:
        with self._lock:
            return self._script.popleft() if self._script else None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        market = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                headers = {name.lower(): value for name, value in self.headers.items()}
                with market._lock:
                    market.requests.append(Recorded(parts.path, query, headers))
                reply = market._next_scripted() or market._answer(parts.path, query, headers)
                if reply.delay:
                    time.sleep(reply.delay)
                self._send(reply)

            def _send(self, reply: Reply) -> None:
                body = reply.body
                if isinstance(body, dict):
                    body = json.dumps(body)
                data = body.encode() if isinstance(body, str) else body
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    length = (
                        reply.declared_length if reply.declared_length is not None else len(data)
                    )
                    self.send_header("Content-Length", str(length))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    if reply.declared_length is not None:
                        self.send_header("Connection", "close")
                        self.close_connection = True
                    self.end_headers()
                    self.wfile.write(data)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

        return Handler

    def _answer(self, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        if path.startswith("/v2/aggs/ticker/"):
            return self._polygon(path, query, headers)
        if path == "/fred/series/observations":
            return self._fred(query)
        return Reply(404, {"status": "NOT_FOUND", "message": f"no route {path}"})

    def _polygon(self, path: str, query: dict[str, str], headers: dict[str, str]) -> Reply:
        if headers.get("authorization") != f"Bearer {self.polygon_key}":
            return Reply(401, {"status": "ERROR", "request_id": "r1", "error": "Unknown API Key"})
        _, _, _, _, ticker, _, _, _, start, end = path.split("/")
        offset = 0
        if "cursor" in query:
            offset = json.loads(base64.urlsafe_b64decode(query["cursor"]))["offset"]
        frame = self.bars.get(ticker)
        body: dict[str, Any] = {
            "ticker": ticker,
            "adjusted": query.get("adjusted") == "true",
            "status": "OK",
            "request_id": f"req-{len(self.requests)}",
        }
        if frame is None:
            return Reply(200, body | {"queryCount": 0, "resultsCount": 0})
        window = frame[(frame.index >= pd.Timestamp(start)) & (frame.index <= pd.Timestamp(end))]
        page = window.iloc[offset : offset + self.polygon_page_size]
        results = [
            {
                "v": float(row.volume),
                "vw": round((row.high + row.low + row.close) / 3, 4),
                "o": float(row.open),
                "c": float(row.close),
                "h": float(row.high),
                "l": float(row.low),
                "t": polygon_t(day),
                "n": 1000,
            }
            for day, row in page.iterrows()
        ]
        body |= {"queryCount": len(window), "resultsCount": len(results), "count": len(results)}
        if results:
            body["results"] = results
        if offset + len(page) < len(window):
            cursor = base64.urlsafe_b64encode(
                json.dumps({"offset": offset + len(page)}).encode()
            ).decode()
            body["next_url"] = f"{FOREIGN_HOST}{path}?cursor={cursor}"
        return Reply(200, body)

    def _fred(self, query: dict[str, str]) -> Reply:
        if query.get("api_key") != self.fred_key:
            return Reply(
                400,
                {
                    "error_code": 400,
                    "error_message": "Bad Request.  The value for variable api_key is not "
                    "registered.  Read https://fred.stlouisfed.org/docs/api/api_key.html",
                },
            )
        rows = self.series.get(query.get("series_id", ""))
        if rows is None:
            return Reply(
                400,
                {"error_code": 400, "error_message": "Bad Request.  The series does not exist."},
            )
        today = date.today().isoformat()
        realtime_start = query.get("realtime_start", today)
        realtime_end = query.get("realtime_end", today)
        first = query.get("observation_start", "1776-07-04")
        last = query.get("observation_end", "9999-12-31")
        visible = [
            Observation(
                r.date,
                r.value,
                max(r.realtime_start, realtime_start),
                min(r.realtime_end, realtime_end),
            )
            for r in rows
            if first <= r.date <= last
            and r.realtime_start <= realtime_end
            and r.realtime_end >= realtime_start
        ]
        offset = int(query.get("offset", "0"))
        limit = min(int(query.get("limit", "100000")), self.fred_page_size)
        page = visible[offset : offset + limit]
        return Reply(
            200,
            {
                "realtime_start": realtime_start,
                "realtime_end": realtime_end,
                "observation_start": first,
                "observation_end": last,
                "units": "lin",
                "output_type": 1,
                "file_type": "json",
                "order_by": "observation_date",
                "sort_order": "asc",
                "count": len(visible),
                "offset": offset,
                "limit": limit,
                "observations": [r.__dict__ for r in page],
            },
        )
