"""One redaction of credentials for every message, log record and transcript line.

Removed wherever they appear in text: secrets the process knows (API keys from settings, keys
a provider was built with), strings shaped like API keys (`sk-...`), user info in URLs
(`https://user:password@host`), credential-like query parameters (`?token=`, `&api_key=`,
`key=`, `access_token=`, `signature=` ...) and `Bearer` tokens. Agent and engine both call
`redact`; log records are redacted by a record factory installed on import.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from typing import Any, TypeVar

REDACTED = "[REDACTED]"
T = TypeVar("T")

# Shapes of common API keys, caught even when the value is not one we were configured with.
_KEY_SHAPES = re.compile(r"\b(sk-(?:ant-|proj-)?[A-Za-z0-9_\-]{16,})\b")
# `scheme://user:password@host` or `scheme://token@host`: everything before the `@`.
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s@'\"<>?#]+@")
# A parameter whose name ends in a credential word, in a query string or as `name=value` text.
_CREDENTIAL_PARAM = re.compile(
    r"(?i)(?<![A-Za-z0-9])((?:[A-Za-z0-9_.\-]*[_.\-])?"
    r"(?:api_?key|apikey|key|token|secret|password|passwd|pwd|signature|sig|auth|credential)"
    r"=)[^&\s'\"#<>]+"
)
_BEARER = re.compile(r"(?i)(bearer\s+)(?!\[REDACTED\])[^\s'\",]+")

_registered: set[str] = set()
_registered_lock = threading.Lock()
# Secrets shorter than this are not registered: replacing "a" everywhere would wreck the text.
_MIN_SECRET = 6


def register_secrets(secrets: Iterable[str | None]) -> None:
    """Remember secrets for the life of the process, so log records are cleaned of them too."""
    with _registered_lock:
        _registered.update(s for s in secrets if s and len(s) >= _MIN_SECRET)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without known secrets, key-shaped strings or credentials in URLs."""
    with _registered_lock:
        known = sorted({*_registered, *(s for s in secrets if s)}, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _KEY_SHAPES.sub(REDACTED, text)
    if "://" in text:
        text = _URL_USERINFO.sub(rf"\g<1>{REDACTED}@", text)
    if "=" in text:
        text = _CREDENTIAL_PARAM.sub(rf"\g<1>{REDACTED}", text)
    return _BEARER.sub(rf"\g<1>{REDACTED}", text)


def redact(value: T, secrets: Iterable[str] = ()) -> T:
    """`value` with every string inside it (dict values, list items) redacted."""
    secret_list = [s for s in secrets if s]
    cleaned: T = _redact(value, secret_list)
    return cleaned


def _redact(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, dict):
        return {k: _redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(v, secrets) for v in value]
    return value


def _install_record_factory() -> None:
    """Every log record of the process, from any library, is redacted when it is made; its
    traceback text too, which formatters then reuse instead of formatting it again."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_mltrainer_redacting", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed %-format is logging's to report, not ours
            return record
        cleaned = redact_text(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
        return record

    factory._mltrainer_redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


_install_record_factory()
