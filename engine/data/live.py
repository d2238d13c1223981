"""What the live sources (Polygon, FRED) share: settings, base URL, cache, retry policy, a
per-provider rate limiter, and their key, read from settings and never stored elsewhere."""

from __future__ import annotations

import httpx2

from mltrainer.engine.data.base import DataSource
from mltrainer.engine.data.cache import MarketCache
from mltrainer.engine.data.http import RateLimiter, RetryPolicy, shared_rate_limiter
from mltrainer.engine.settings import Settings


class LiveSource(DataSource):
    key_setting: str  # the Settings attribute holding this provider's key

    def __init__(
        self,
        settings: Settings,
        *,
        base_url: str,
        requests_per_minute: float,
        client: httpx2.Client | None = None,
        retry: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.base_url = base_url.rstrip("/")
        self.cache = MarketCache(settings.db_path)
        self._client = client
        self.retry = retry or RetryPolicy(attempts=settings.http_max_attempts)
        self.limiter = limiter or shared_rate_limiter(self.name, requests_per_minute)

    def has_key(self) -> bool:
        return self._key() is not None

    def _key(self) -> str | None:
        secret = getattr(self.settings, self.key_setting)
        value = secret.get_secret_value().strip() if secret is not None else ""
        return value or None
