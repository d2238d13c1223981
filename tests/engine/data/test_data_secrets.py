"""Recognisable fake keys go through fetches that succeed and fail; then every log line, every
exception (message, repr, traceback), every provenance and the raw database bytes are searched
for them. Zero hits is the only pass."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from mltrainer.engine.data.fred import FredSource
from mltrainer.engine.data.http import RetryPolicy
from mltrainer.engine.data.polygon import PolygonSource
from mltrainer.engine.data.registry import list_sources
from mltrainer.engine.errors import DataSourceError
from mltrainer.engine.settings import Settings
from tests.engine.data.market_fakes import FRED_KEY, POLYGON_KEY, FakeMarket, Reply

KEYS = (POLYGON_KEY, FRED_KEY)


def test_keys_never_reach_logs_exceptions_or_the_database(
    settings: Settings,
    market: FakeMarket,
    fast_retry: RetryPolicy,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG)
    polygon = PolygonSource(settings, retry=fast_retry)
    fred = FredSource(settings, retry=fast_retry)
    texts: list[str] = []

    def run(fetch: Callable[[], object]) -> None:
        try:
            result = fetch()
        except DataSourceError as error:
            texts.extend([str(error), repr(error), "".join(traceback.format_exception(error))])
        else:
            texts.append(repr(result))

    run(lambda: polygon.bars("MSFT", date(2015, 1, 1), date(2015, 3, 31)))
    run(lambda: fred.series("GDPC1", date(2000, 1, 1), date(2001, 12, 31)))
    run(lambda: fred.series("VIXCLS", date(2015, 1, 1), date(2015, 3, 31), as_of=False))
    market.script(*[Reply(500, {"error_code": 500, "error_message": "boom"})] * 3)
    run(lambda: fred.series("GDPC1", date(1990, 1, 1), date(1990, 12, 31)))
    market.script(*[Reply(500, {"status": "ERROR", "error": "boom"})] * 3)
    run(lambda: polygon.bars("MSFT", date(2014, 1, 1), date(2014, 1, 31)))
    market.script(*[Reply(200, "{}", delay=1.0)] * 3)
    run(
        lambda: FredSource(Settings(http_timeout_seconds=0.2), retry=fast_retry).series(
            "GDPC1", date(1991, 1, 1), date(1991, 12, 31)
        )
    )
    market.script(*[Reply(200, '{"observations": [', declared_length=400)] * 3)
    run(lambda: fred.series("GDPC1", date(1992, 1, 1), date(1992, 12, 31)))
    market.script(*[Reply(200, '{"observations": [')] * 3)
    run(lambda: fred.series("GDPC1", date(1993, 1, 1), date(1993, 12, 31)))
    market.fred_key = "another-key"
    run(lambda: fred.series("GDPC1", date(1994, 1, 1), date(1994, 12, 31)))
    market.polygon_key = "another-key"
    run(lambda: polygon.bars("MSFT", date(2013, 1, 1), date(2013, 1, 31)))
    monkeypatch.setenv("FRED_BASE_URL", "http://127.0.0.1:1")
    run(
        lambda: FredSource(Settings(), retry=fast_retry).series(
            "GDPC1", date(1995, 1, 1), date(1995, 12, 31)
        )
    )
    texts.append(repr(settings))
    texts.append(repr(list_sources(settings)))

    failures = [t for t in texts if "Traceback" in t]
    assert len(failures) == 8, "every failing fetch above must have raised"
    assert any("api_key=[REDACTED]" in r.getMessage() for r in caplog.records)
    logged = [caplog.text, *(r.getMessage() for r in caplog.records)]
    database = b"".join(
        path.read_bytes() for path in Path(settings.home).glob("mltrainer.db*") if path.is_file()
    )
    assert database, "the cache must have written the database"
    for key in KEYS:
        assert [t for t in logged if key in t] == []
        assert [t for t in texts if key in t] == []
        assert key.encode() not in database
