"""Fixtures for the live sources: a fake Polygon/FRED server and settings pointed at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mltrainer.engine.data.http import RetryPolicy
from mltrainer.engine.settings import Settings
from tests.engine.data.market_fakes import FRED_KEY, POLYGON_KEY, FakeMarket, SleepLog


@pytest.fixture
def market() -> Iterator[FakeMarket]:
    server = FakeMarket().start()
    yield server
    server.stop()


@pytest.fixture
def live_env(market: FakeMarket, monkeypatch: pytest.MonkeyPatch) -> FakeMarket:
    """Keys, base URLs and generous limits in the environment, as a user would set them."""
    monkeypatch.setenv("POLYGON_API_KEY", POLYGON_KEY)
    monkeypatch.setenv("FRED_API_KEY", FRED_KEY)
    monkeypatch.setenv("POLYGON_BASE_URL", market.url)
    monkeypatch.setenv("FRED_BASE_URL", market.url)
    monkeypatch.setenv("POLYGON_REQUESTS_PER_MINUTE", "100000")
    monkeypatch.setenv("FRED_REQUESTS_PER_MINUTE", "100000")
    monkeypatch.setenv("MLTRAINER_HTTP_TIMEOUT", "2")
    monkeypatch.setenv("MLTRAINER_HTTP_ATTEMPTS", "3")
    return market


@pytest.fixture
def settings(live_env: FakeMarket) -> Settings:
    return Settings()


@pytest.fixture
def sleeps() -> SleepLog:
    return SleepLog()


@pytest.fixture
def fast_retry(sleeps: SleepLog) -> RetryPolicy:
    return RetryPolicy(attempts=3, backoff_seconds=0.2, max_backoff_seconds=1.0, sleep=sleeps)
