"""What the live sources (Polygon, FRED) share: settings, base URL, cache, retry policy, a
per-provider rate limiter, and their key, read from settings and never stored elsewhere."""

from __future__ import annotations

from typing import Literal

import httpx2

from mltrainer.engine.data.base import DataSource, Shortfall, SymbolInfo
from mltrainer.engine.data.cache import MarketCache
from mltrainer.engine.data.http import JsonFetcher, RateLimiter, RetryPolicy, shared_rate_limiter
from mltrainer.engine.settings import Settings


class LiveSource(DataSource):
    # Names of this provider's Settings attributes: its key, base URL and request rate.
    key_setting: str
    base_url_setting: str
    rate_setting: str
    # How a user sets the key, for messages that say why nothing could be fetched.
    key_hint: str

    def __init__(
        self,
        settings: Settings,
        *,
        client: httpx2.Client | None = None,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.base_url = str(getattr(settings, self.base_url_setting)).rstrip("/")
        self.cache = MarketCache(settings.db_path)
        self._client = client
        self.retry = retry or RetryPolicy(attempts=settings.http_max_attempts)
        self.limiter = limiter or shared_rate_limiter(
            self.name, float(getattr(settings, self.rate_setting))
        )

    def cached_symbols(
        self, kind: Literal["bars", "series"], what: str | None = None
    ) -> list[SymbolInfo]:
        """What this source has cached (described as `what`, else its dataset name): it works
        offline."""
        return [
            SymbolInfo(
                symbol=entry.symbol,
                source=self.name,
                kind=kind,
                description=f"cached {what or entry.dataset} ({entry.rows} rows), works offline",
                start=entry.start,
                end=entry.end,
            )
            for entry in self.cache.entries()
            if entry.source == self.name and entry.rows
        ]

    def http(self, key: str) -> JsonFetcher:
        """A fetcher with this source's retries, rate limit and timeout; `key` is redacted."""
        return JsonFetcher(
            self.name,
            secrets=[key],
            timeout_seconds=self.settings.http_timeout_seconds,
            policy=self.retry,
            limiter=self.limiter,
            client=self._client,
        )

    def has_key(self) -> bool:
        return self._key() is not None

    def shortfall(self, *, series: bool = False) -> Shortfall:
        return Shortfall(f"{self.name} has no key and nothing cached for this range", self.key_hint)

    def _key(self) -> str | None:
        secret = getattr(self.settings, self.key_setting)
        value = secret.get_secret_value().strip() if secret is not None else ""
        return value or None
