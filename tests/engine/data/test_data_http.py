"""Shared HTTP: retries, Retry-After, timeouts, broken bodies, the rate limiter, redaction."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from mltrainer.engine.data.http import (
    HttpFailure,
    JsonFetcher,
    RateLimiter,
    RetryPolicy,
    parse_retry_after,
)
from mltrainer.engine.errors import DataSourceError
from mltrainer.engine.redaction import redact_text as redact
from tests.engine.data.market_fakes import FakeMarket, Reply, SleepLog

OK = {"status": "OK", "results": []}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def fetcher(fast_retry: RetryPolicy) -> Iterator[JsonFetcher]:
    with JsonFetcher("polygon", secrets=["POLYKEY-SECRET-123"], policy=fast_retry) as fetcher:
        yield fetcher


def test_429_with_retry_after_seconds_waits_that_long(
    fetcher: JsonFetcher, market: FakeMarket, sleeps: SleepLog
) -> None:
    market.script(Reply(429, {"error": "slow down"}, headers={"Retry-After": "7"}), Reply(200, OK))

    reply = fetcher.get(market.url + "/v2/aggs/x")

    assert reply.status == 200
    assert reply.attempts == 2
    assert sleeps.calls == [7.0]


def test_429_with_retry_after_http_date_waits_until_then(
    fetcher: JsonFetcher, market: FakeMarket, sleeps: SleepLog
) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    market.script(
        Reply(429, {"error": "slow down"}, headers={"Retry-After": later}), Reply(200, OK)
    )

    reply = fetcher.get(market.url + "/v2/aggs/x")

    assert reply.status == 200
    assert len(sleeps.calls) == 1
    assert 27.0 <= sleeps.calls[0] <= 30.0


def test_429_without_retry_after_backs_off_exponentially_with_jitter(
    fetcher: JsonFetcher, market: FakeMarket, sleeps: SleepLog
) -> None:
    market.script(Reply(429, {}), Reply(429, {}), Reply(200, OK))

    reply = fetcher.get(market.url + "/v2/aggs/x")

    assert reply.status == 200
    first, second = sleeps.calls
    assert 0.1 <= first <= 0.2
    assert 0.2 <= second <= 0.4


def test_retry_after_longer_than_the_cap_is_not_waited_for(
    fetcher: JsonFetcher, market: FakeMarket, sleeps: SleepLog
) -> None:
    market.script(Reply(429, {"error": "come back later"}, headers={"Retry-After": "3600"}))

    reply = fetcher.get(market.url + "/v2/aggs/x")

    assert reply.status == 429
    assert reply.retry_after == 3600.0
    assert reply.attempts == 1
    assert sleeps.calls == []


def test_5xx_exhausting_every_attempt_returns_the_last_reply(
    fetcher: JsonFetcher, market: FakeMarket
) -> None:
    market.script(Reply(503, {}), Reply(502, {}), Reply(500, {"error": "still down"}))

    reply = fetcher.get(market.url + "/v2/aggs/x")

    assert (reply.status, reply.attempts, reply.message()) == (500, 3, "still down")


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_client_errors_are_never_retried(
    fetcher: JsonFetcher, market: FakeMarket, status: int
) -> None:
    market.script(Reply(status, {"error": "no"}))

    reply = fetcher.get(market.url + "/v2/aggs/x")

    assert (reply.status, reply.attempts) == (status, 1)
    assert len(market.requests) == 1


def test_timeout_is_retried_then_succeeds(market: FakeMarket, fast_retry: RetryPolicy) -> None:
    market.script(Reply(200, OK, delay=1.0), Reply(200, OK))
    with JsonFetcher("polygon", timeout_seconds=0.2, policy=fast_retry) as fetcher:
        reply = fetcher.get(market.url + "/v2/aggs/x")

    assert (reply.status, reply.attempts) == (200, 2)


def test_timeout_on_every_attempt_raises_http_failure(
    market: FakeMarket, fast_retry: RetryPolicy
) -> None:
    market.script(*[Reply(200, OK, delay=1.0)] * 3)
    with (
        JsonFetcher("polygon", timeout_seconds=0.2, policy=fast_retry) as fetcher,
        pytest.raises(HttpFailure, match=r"after 3 attempt\(s\): ReadTimeout"),
    ):
        fetcher.get(market.url + "/v2/aggs/x")


def test_body_cut_short_is_retried_then_succeeds(fetcher: JsonFetcher, market: FakeMarket) -> None:
    market.script(Reply(200, '{"status": "OK", "res', declared_length=500), Reply(200, OK))

    reply = fetcher.get(market.url + "/v2/aggs/x")

    assert (reply.status, reply.attempts, reply.payload) == (200, 2, OK)


def test_body_cut_short_every_time_raises_http_failure(
    fetcher: JsonFetcher, market: FakeMarket
) -> None:
    market.script(*[Reply(200, '{"status": "OK", "res', declared_length=500)] * 3)

    with pytest.raises(HttpFailure, match="RemoteProtocolError"):
        fetcher.get(market.url + "/v2/aggs/x")


def test_invalid_json_is_a_clear_error(fetcher: JsonFetcher, market: FakeMarket) -> None:
    market.script(*[Reply(200, '{"status": "OK", "results": [')] * 3)

    with pytest.raises(DataSourceError, match=r"not valid JSON.*after 3 attempt"):
        fetcher.get(market.url + "/v2/aggs/x")


def test_unreachable_host_raises_http_failure(fast_retry: RetryPolicy) -> None:
    with (
        JsonFetcher("fred", policy=fast_retry) as fetcher,
        pytest.raises(HttpFailure, match="ConnectError"),
    ):
        fetcher.get("http://127.0.0.1:1/fred/series/observations", {"api_key": "k"})


def test_rate_limiter_lets_a_burst_through_then_spaces_requests() -> None:
    clock = FakeClock()
    limiter = RateLimiter(5, clock=clock, sleep=clock.sleep)

    waits = [limiter.acquire() for _ in range(7)]

    assert waits == [0.0, 0.0, 0.0, 0.0, 0.0, 60.0, 0.0]
    assert clock.slept == [60.0]


def test_rate_limiter_with_a_fractional_limit_uses_a_longer_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter(0.5, clock=clock, sleep=clock.sleep)

    limiter.acquire()
    clock.now += 30.0
    waited = limiter.acquire()

    assert waited == 90.0


def test_rate_limiter_is_applied_before_every_attempt(
    market: FakeMarket, fast_retry: RetryPolicy
) -> None:
    clock = FakeClock()
    limiter = RateLimiter(1, clock=clock, sleep=clock.sleep)
    market.script(Reply(500, {}), Reply(200, OK))

    with JsonFetcher("polygon", policy=fast_retry, limiter=limiter) as fetcher:
        fetcher.get(market.url + "/v2/aggs/x")

    assert clock.slept == [60.0]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        (" 1.5 ", 1.5),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    now = datetime(2015, 10, 21, 7, 28, tzinfo=UTC)
    assert parse_retry_after(header, now=now) == expected


def test_redact_removes_known_secrets_and_key_shaped_parameters() -> None:
    text = "GET https://x/obs?series_id=GDP&api_key=abc123&file_type=json Bearer tok.en MYSECRET"

    assert redact(text, ["MYSECRET"]) == (
        "GET https://x/obs?series_id=GDP&api_key=[REDACTED]&file_type=json "
        "Bearer [REDACTED] [REDACTED]"
    )


def test_httpx2_request_log_lines_are_redacted(
    market: FakeMarket, caplog: pytest.LogCaptureFixture, fast_retry: RetryPolicy
) -> None:
    caplog.set_level(logging.DEBUG)
    with JsonFetcher("fred", policy=fast_retry) as fetcher:
        fetcher.get(
            market.url + "/fred/series/observations", {"api_key": "abc123", "series_id": "X"}
        )

    request_lines = [r.getMessage() for r in caplog.records if r.name == "httpx2"]
    assert request_lines
    assert all("api_key=[REDACTED]" in line for line in request_lines)
    assert "abc123" not in caplog.text
