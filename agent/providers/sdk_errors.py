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

from mltrainer.agent.providers.base import Provider, ProviderError
from mltrainer.engine.redaction import redact_text


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
) -> Iterator[None]:
    """Every SDK and transport failure inside the block as one `ProviderError`.

    `api` names the API in messages ("Anthropic API", "OpenAI-compatible API"); `base_error`
    is the SDK's root exception (`openai.OpenAIError`, `anthropic.AnthropicError`)."""

    def scrub(text: str) -> str:
        return redact_text(text, [key])

    try:
        yield
    except sdk.APIStatusError as error:
        raise ProviderError(
            scrub(
                f"{api} at {base_url} answered HTTP {error.status_code}: {error_detail(error.body)}"
            ),
            status=error.status_code,
            body=scrub(body_text(error.body)),
        ) from error
    except sdk.APITimeoutError as error:
        raise ProviderError(
            scrub(f"{api} at {base_url} did not answer within {wait:g} s (after {retries} retries)")
        ) from error
    except sdk.APIConnectionError as error:
        raise ProviderError(
            scrub(
                f"could not reach the {api} at {base_url} (after {retries} retries): "
                f"{error.__cause__ or error}"
            )
        ) from error
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


class SdkProvider(Provider):
    """What the OpenAI and Anthropic providers share around their SDK client: closing it,
    scrubbing the key from text, and the error mapping. A subclass names its SDK module, the
    SDK's root error and the API, and sets `_client`, `_key` and `_base_url`."""

    sdk: ModuleType
    sdk_error: type[Exception]
    api: str
    _client: Any
    _key: str
    _base_url: str

    async def aclose(self) -> None:
        await self._client.close()

    def _scrub(self, text: str) -> str:
        return redact_text(text, [self._key])

    def _mapped_errors(self, wait: float) -> AbstractContextManager[None]:
        return mapped_sdk_errors(
            self.sdk,
            self.sdk_error,
            api=self.api,
            base_url=self._base_url,
            key=self._key,
            wait=wait,
            retries=self._client.max_retries,
        )
