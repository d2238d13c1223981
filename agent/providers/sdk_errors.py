"""The one mapping from the vendor SDKs' errors to `ProviderError`.

The OpenAI and Anthropic SDKs are generated from one template and raise the same family of
exceptions (`APIStatusError`, `APITimeoutError`, `APIConnectionError` under a base error), so
one context manager serves both; each vendor module passes its SDK module and how to name the
API in messages. Every message and body is scrubbed of the key and URL credentials.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from types import ModuleType
from typing import Any

import httpx2

from mltrainer.agent.providers.base import Provider, ProviderError
from mltrainer.agent.providers.keys import KeyRoute, key_for_server, no_key_hint
from mltrainer.agent.providers.reply_limit import bound_replies
from mltrainer.engine.redaction import redact_text, register_secrets
from mltrainer.engine.settings import load_settings


@contextmanager
def mapped_sdk_errors(
    sdk: ModuleType,
    base_error: type[Exception],
    *,
    api: str,
    base_url: str,
    key: str,
    wait: float,
    retries: int,
    refused_hint: str | None = None,
) -> Iterator[None]:
    """Every SDK and transport failure inside the block as one `ProviderError`.

    `api` names the API in messages ("Anthropic API", "OpenAI-compatible API"); `base_error`
    is the SDK's root exception (`openai.OpenAIError`, `anthropic.AnthropicError`);
    `refused_hint` is added when the server answers 401 or 403 (it got no key, say)."""

    def scrub(text: str) -> str:
        return redact_text(text, [key])

    try:
        yield
    except sdk.APIStatusError as error:
        hint = f"; {refused_hint}" if refused_hint and error.status_code in (401, 403) else ""
        raise ProviderError(
            scrub(
                f"{api} at {base_url} answered HTTP {error.status_code}: "
                f"{error_detail(error.body)}{hint}"
            ),
            status=error.status_code,
            body=scrub(body_text(error.body)),
        ) from error
    except sdk.APITimeoutError as error:
        raise ProviderError(
            scrub(f"{api} at {base_url} did not answer within {wait:g} s (after {retries} retries)")
        ) from error
    except sdk.APIConnectionError as error:
        if isinstance(error.__cause__, ProviderError):
            # The reply limit's hook refused the body while the SDK read it; the Anthropic SDK
            # files every exception raised there as a connection failure.
            raise error.__cause__ from error
        raise ProviderError(
            scrub(
                f"could not reach the {api} at {base_url} (after {retries} retries): "
                f"{error.__cause__ or error}"
            )
        ) from error
    except ProviderError:
        raise  # refused by the reply limit while the SDK read it: already ours, and scrubbed
    except base_error as error:
        raise ProviderError(scrub(f"{api} client error: {error}")) from error


def error_detail(body: object) -> str:
    """The server's own error message: `{"error": {"message"}}` (Anthropic, and OpenAI's raw
    body) or `{"message"}` (the OpenAI SDK unwraps `error`), else the body's start."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
    return body_text(body)[:300] or "no details"


def body_text(body: object) -> str:
    if body is None:
        return ""
    if isinstance(body, str):
        return body
    return json.dumps(body, ensure_ascii=False, default=str)


# What the SDK client is built with when the server gets no key (the SDKs require one).
PLACEHOLDER_KEY = "not-needed"


class SdkProvider(Provider):
    """What the OpenAI and Anthropic providers share around their SDK client: its bounded HTTP
    client, closing it, scrubbing the key from text, and the error mapping. A subclass names
    its SDK module, the SDK's root error, the API, the variable of its key and its own API's
    URL, sets `_base_url` and `_client`, and takes its key with `_take_key`."""

    sdk: ModuleType
    sdk_error: type[Exception]
    api: str
    key_variable: str
    home_url: str
    _client: Any
    _key: str
    _base_url: str
    _sends_key: bool

    def _take_key(self, given: str | None, route: KeyRoute) -> None:
        """The key `_base_url` gets (`key_for_server`: the provider's own API, or a server
        the route allows), known to the redactor; a placeholder when it gets none."""
        key = key_for_server(
            base_url=self._base_url,
            home_url=self.home_url,
            key_env=self.key_variable,
            given=given,
            route=route,
        )
        self._sends_key = key is not None
        self._key = key or PLACEHOLDER_KEY
        if key is not None:
            register_secrets([key])

    async def aclose(self) -> None:
        await self._client.close()

    def _scrub(self, text: str) -> str:
        return redact_text(text, [self._key])

    def _bounded_client(
        self, given: httpx2.AsyncClient | None, max_reply_bytes: int | None
    ) -> httpx2.AsyncClient:
        """The HTTP client the SDK talks through: `given`, or the SDK's default one without
        redirects (a redirect would carry the key's header to wherever it points), with every
        reply bounded (`reply_limit`) before the SDK reads it."""
        client = given or self.sdk.DefaultAsyncHttpxClient(follow_redirects=False)
        limit = max_reply_bytes or load_settings().max_reply_bytes
        where = self._scrub(f"the {self.api} at {self._base_url}")
        return bound_replies(client, limit=limit, where=where, sdk_error=self.sdk_error)

    def _mapped_errors(self, wait: float) -> AbstractContextManager[None]:
        return mapped_sdk_errors(
            self.sdk,
            self.sdk_error,
            api=self.api,
            base_url=self._base_url,
            key=self._key,
            wait=wait,
            retries=self._client.max_retries,
            refused_hint=None if self._sends_key else no_key_hint(self.key_variable, self.home_url),
        )
