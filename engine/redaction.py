"""One redaction of credentials for every message, log record and transcript line.

Removed wherever they appear in text: secrets the process knows (API keys from settings, keys
a provider was built with), strings shaped like API keys (`sk-...`), user info in URLs
(`https://user:password@host`), credential-like query parameters (`?token=`, `&api_key=`,
`key=`, `access_token=`, `signature=` ...) and `Bearer` tokens. Agent and engine both call
`redact`; log records are redacted by a record factory installed on import.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

REDACTED = "[REDACTED]"
T = TypeVar("T")

# Shapes of common API keys, caught even when the value is not one we were configured with.
_KEY_SHAPES = re.compile(r"\b(sk-(?:ant-|proj-)?[A-Za-z0-9_\-]{16,})\b")
_CREDENTIAL_NAME = (
    r"(?:[A-Za-z0-9_.\-]*[_.\-])?"
    r"(?:api_?key|apikey|key|token|secret|password|passwd|pwd|signature|sig|auth|credential)"
)


@dataclass(frozen=True)
class _Rules:
    """The credential patterns, for one kind of text: plain, or serialized JSON (where a
    value may hold `\\` for a backslash but must stop before `\"`, or the JSON breaks)."""

    userinfo: re.Pattern[str]
    parameter: re.Pattern[str]
    bearer: re.Pattern[str]

    @classmethod
    def over(cls, chars: str) -> _Rules:
        return cls(
            # `scheme://user:password@host` or `scheme://token@host`: everything before `@`.
            userinfo=re.compile(rf"(?i)\b([a-z][a-z0-9+.\-]*://)(?:{chars.format('/@?')})+@"),
            # A parameter whose name ends in a credential word: `?token=`, `api_key=`.
            parameter=re.compile(
                rf"(?i)(?<![A-Za-z0-9])({_CREDENTIAL_NAME}=)(?:{chars.format('&')})+"
            ),
            bearer=re.compile(rf"(?i)(bearer\s+)(?!\[REDACTED\])(?:{chars.format(',')})+"),
        )


# `{}` takes the characters that also end a value in that position.
_PLAIN = _Rules.over(r"[^\s'\"<>#{}]")
_JSON = _Rules.over(r"[^\s'\"<>#{}\\]|\\\\")

# Secrets shorter than this are not registered: replacing "a" everywhere would wreck the text.
# Nothing shorter can hold a registered secret, a key shape or a credential in a URL.
_MIN_SECRET = 6
_registered_lock = threading.Lock()
# Longest first, so a secret that contains another is replaced whole; each also in the form
# JSON gives it (quotes and backslashes escaped), for redacting serialized lines.
_registered: tuple[str, ...] = ()


def register_secrets(secrets: Iterable[str | None]) -> None:
    """Remember secrets for the life of the process, so log records are cleaned of them too."""
    global _registered
    with _registered_lock:
        added = [s for s in secrets if s and len(s) >= _MIN_SECRET]
        known = {*_registered, *added, *(json.dumps(s)[1:-1] for s in added)}
        _registered = tuple(sorted(known, key=len, reverse=True))


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without known secrets, key-shaped strings or credentials in URLs."""
    return _apply(text, secrets, _PLAIN)


def redact_json_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Redact serialized JSON in one pass. No rule consumes a quote or a lone backslash, so the
    result is JSON of the same structure; secrets are matched as JSON escapes them."""
    return _apply(text, [json.dumps(s)[1:-1] for s in secrets if s], _JSON)


def _apply(text: str, secrets: Iterable[str], rules: _Rules) -> str:
    if len(text) < _MIN_SECRET:
        return text
    extra = [s for s in secrets if s]
    known = sorted((*_registered, *extra), key=len, reverse=True) if extra else _registered
    for secret in known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    if "sk-" in text:
        text = _KEY_SHAPES.sub(REDACTED, text)
    if "://" in text:
        text = rules.userinfo.sub(rf"\g<1>{REDACTED}@", text)
    if "=" in text:
        text = rules.parameter.sub(rf"\g<1>{REDACTED}", text)
    return rules.bearer.sub(rf"\g<1>{REDACTED}", text)


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
