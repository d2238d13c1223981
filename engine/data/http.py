"""HTTP for the live data sources: one httpx2 client, tenacity retries, a client-side rate
limiter, and redaction so an API key never reaches a log line, a message or a traceback.

Wire formats stay in the source modules; this module only moves JSON and says how it went.
"""

from __future__ import annotations

import json
import logging
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

import httpx2
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from mltrainer.engine.errors import DataSourceError
from mltrainer.engine.redaction import redact_text, register_secrets

logger = logging.getLogger(__name__)

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP date); None if absent
    or unreadable. A date in the past means "now": 0 seconds."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds):
        return None
    return max(0.0, seconds)


class RateLimiter:
    """At most `requests_per_minute` requests in any sliding window, so a burst up to the limit
    goes at once and the next request waits until the oldest one leaves the window."""

    def __init__(
        self,
        requests_per_minute: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if requests_per_minute <= 0:
            raise ValueError(f"requests_per_minute must be positive, got {requests_per_minute}")
        self.requests_per_minute = requests_per_minute
        self.capacity = max(1, math.floor(requests_per_minute))
        self.window_seconds = 60.0 * self.capacity / requests_per_minute
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Block until a request may go; returns the seconds waited."""
        waited = 0.0
        with self._lock:
            while True:
                now = self._clock()
                while self._sent and now - self._sent[0] >= self.window_seconds:
                    self._sent.popleft()
                if len(self._sent) < self.capacity:
                    self._sent.append(now)
                    return waited
                pause = self._sent[0] + self.window_seconds - now
                self._sleep(pause)
                waited += pause


_limiters: dict[tuple[str, float], RateLimiter] = {}
_limiters_lock = threading.Lock()


def shared_rate_limiter(provider: str, requests_per_minute: float) -> RateLimiter:
    """One limiter per provider and limit in this process, shared by every source instance."""
    with _limiters_lock:
        key = (provider, requests_per_minute)
        if key not in _limiters:
            _limiters[key] = RateLimiter(requests_per_minute)
        return _limiters[key]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry. `backoff_seconds` doubles per attempt (with jitter) up to
    `max_backoff_seconds`; a `Retry-After` longer than `max_retry_after_seconds` is not waited
    for: the reply goes back to the source, which reports it."""

    attempts: int = 5
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 30.0
    max_retry_after_seconds: float = 120.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def backoff(self, attempt_number: int) -> float:
        """Exponential backoff with equal jitter: half fixed, half random."""
        ceiling = min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (attempt_number - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


@dataclass(frozen=True)
class JsonReply:
    """The final answer to one GET: status, parsed JSON (None if the body was not JSON),
    how many attempts it took, and the URL with secrets removed (safe to show)."""

    status: int
    payload: Any
    attempts: int
    url: str
    retry_after: float | None = None

    def message(self) -> str:
        """The error text a JSON error body carries, if any (`error`, `message`, ...)."""
        if isinstance(self.payload, dict):
            for name in ("error_message", "message", "error"):
                value = self.payload.get(name)
                if isinstance(value, str) and value:
                    return value
        return ""


class HttpFailure(DataSourceError):
    """No complete HTTP answer (network, timeout, cut-off body) after every retry."""

    def __init__(self, message: str, *, url: str, attempts: int) -> None:
        super().__init__(message)
        self.url = url
        self.attempts = attempts


class _RetryableReply(Exception):
    def __init__(self, reply: JsonReply) -> None:
        super().__init__(f"HTTP {reply.status}")
        self.reply = reply


class _InvalidBody(Exception):
    def __init__(self, reply: JsonReply, detail: str) -> None:
        super().__init__(detail)
        self.reply = reply
        self.detail = detail


class JsonFetcher:
    """GET JSON from one provider with rate limiting and retries; secrets never leave redacted.

    `secrets` are the raw key values this fetcher may send; every URL and message it produces
    has them removed. An injected `client` is used as it is and never closed here.
    """

    def __init__(
        self,
        provider: str,
        *,
        secrets: Sequence[str] = (),
        timeout_seconds: float = 30.0,
        policy: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        client: httpx2.Client | None = None,
    ) -> None:
        self.provider = provider
        self.secrets = tuple(s for s in secrets if s)
        register_secrets(self.secrets)
        self.policy = policy or RetryPolicy()
        self.limiter = limiter
        self._own_client = client is None
        self.client = client or httpx2.Client(timeout=timeout_seconds, follow_redirects=True)

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    def __enter__(self) -> JsonFetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def redact(self, text: str) -> str:
        return redact_text(text, self.secrets)

    def get(
        self,
        url: str,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> JsonReply:
        """The final reply after retries. Retryable statuses that never recovered come back as a
        reply (the source words the error); no HTTP answer at all raises `HttpFailure`."""
        shown = self.redact(url + ("?" + urlencode(dict(params)) if params else ""))
        attempts = 0

        def attempt() -> JsonReply:
            nonlocal attempts
            attempts += 1
            if self.limiter is not None:
                waited = self.limiter.acquire()
                if waited:
                    logger.debug("%s: rate limiter waited %.2f s", self.provider, waited)
            response = self.client.get(url, params=params, headers=headers)
            reply = self._reply(response, shown, attempts)
            logger.debug(
                "%s: GET %s -> %d (attempt %d)", self.provider, shown, reply.status, attempts
            )
            if reply.status in RETRYABLE_STATUSES:
                raise _RetryableReply(reply)
            return reply

        retrying = Retrying(
            stop=stop_after_attempt(self.policy.attempts),
            wait=self._wait,
            retry=retry_if_exception(self._should_retry),
            sleep=self.policy.sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _RetryableReply as exhausted:
            return exhausted.reply
        except _InvalidBody as invalid:
            raise DataSourceError(
                f"{self.provider} answered GET {shown} with a body that is not valid JSON "
                f"({invalid.detail}) after {attempts} attempt(s); the response was truncated "
                "or is not from the API"
            ) from None
        except httpx2.HTTPError as error:
            # httpx2 errors carry the request (and FRED's key in its URL): never chained.
            raise HttpFailure(
                f"no complete answer from {self.provider} for GET {shown} after {attempts} "
                f"attempt(s): {type(error).__name__}: {self.redact(str(error)) or 'no detail'}",
                url=shown,
                attempts=attempts,
            ) from None
        except httpx2.InvalidURL as error:
            raise DataSourceError(
                f"{self.provider} URL {shown} is not valid ({self.redact(str(error))}); "
                "check the base URL setting"
            ) from None

    def _reply(self, response: httpx2.Response, shown: str, attempts: int) -> JsonReply:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        body = response.content
        try:
            payload = json.loads(body) if body else None
        except (ValueError, UnicodeDecodeError) as error:
            reply = JsonReply(response.status_code, None, attempts, shown, retry_after)
            if response.is_success:
                raise _InvalidBody(reply, f"{type(error).__name__}, {len(body)} bytes") from None
            return reply
        return JsonReply(response.status_code, payload, attempts, shown, retry_after)

    def _should_retry(self, error: BaseException) -> bool:
        if isinstance(error, _RetryableReply):
            wait = error.reply.retry_after
            return wait is None or wait <= self.policy.max_retry_after_seconds
        return isinstance(error, httpx2.TransportError | _InvalidBody)

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, _RetryableReply) and error.reply.retry_after is not None:
            return error.reply.retry_after
        return self.policy.backoff(state.attempt_number)

    def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        reason = type(error).__name__ if error is not None else "unknown"
        if isinstance(error, _RetryableReply):
            reason = f"HTTP {error.reply.status}"
        pause = state.next_action.sleep if state.next_action is not None else 0.0
        logger.warning(
            "%s: %s on attempt %d, retrying in %.2f s",
            self.provider,
            reason,
            state.attempt_number,
            pause,
        )
