"""One redaction for every text: known secrets, key shapes, credentials in URLs and query
strings, bearer tokens; in plain text, in serialized JSON (which must stay valid JSON) and in
every log record of the process."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mltrainer.engine.redaction import (
    REDACTED,
    redact,
    redact_json_text,
    redact_text,
    register_secrets,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://user:hunter2@llm.example/v1", "https://[REDACTED]@llm.example/v1"),
        ("http://TOKEN123@host:8080/v1/", "http://[REDACTED]@host:8080/v1/"),
        ("http://host/v1?token=abc123&model=x", "http://host/v1?token=[REDACTED]&model=x"),
        ("http://host/v1?key=abc123", "http://host/v1?key=[REDACTED]"),
        (
            "https://x/obs?api_key=abc123&file_type=json",
            "https://x/obs?api_key=[REDACTED]&file_type=json",
        ),
        ("GET /a?access_token=s3cr3t#frag", "GET /a?access_token=[REDACTED]#frag"),
        ("x-api-key=abcdef and apikey=ghijkl", "x-api-key=[REDACTED] and apikey=[REDACTED]"),
        ("?sig=0a1b2c&signature=3d4e5f", "?sig=[REDACTED]&signature=[REDACTED]"),
        ("Authorization: Bearer tok.en-123", "Authorization: Bearer [REDACTED]"),
        ("key sk-abcdefghijklmnop0123 here", f"key {REDACTED} here"),
    ],
)
def test_credentials_in_text_are_redacted(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "monkey=5, input_tokens=120, max_tokens=2048",
        "http://127.0.0.1:8080/v1/chat/completions",
        "risk-adjusted returns, sk-learn, user@example.com",
        "train_ratio=0.8 lookback=20",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact_text(text) == text


def test_known_secrets_are_redacted_longest_first() -> None:
    assert redact_text("a LONGSECRET and SECRET", ["SECRET", "LONGSECRET"]) == (
        f"a {REDACTED} and {REDACTED}"
    )


def test_registered_secrets_are_redacted_everywhere_after() -> None:
    register_secrets(["registered-canary-9f8e7d"])

    assert redact_text("the key registered-canary-9f8e7d leaked") == f"the key {REDACTED} leaked"


def test_nested_values_are_redacted() -> None:
    value = {"url": "http://u:p@h/v1", "list": ["?token=abc", 3, None], "n": 1.5}

    assert redact(value) == {
        "url": f"http://{REDACTED}@h/v1",
        "list": [f"?token={REDACTED}", 3, None],
        "n": 1.5,
    }


def test_json_text_is_redacted_including_escaped_secrets() -> None:
    value = {"text": 'my key is se"cret\\1 ok', "url": 'https://a:b@h/?token=x\\y"z&k=1'}

    cleaned = json.loads(redact_json_text(json.dumps(value), ['se"cret\\1']))

    assert cleaned == {
        "text": f"my key is {REDACTED} ok",
        "url": f'https://{REDACTED}@h/?token={REDACTED}"z&k=1',
    }


_PIECES = [*"abc:/@?&=#\"\\ \n'<>,.-_", "token=", "https://", "Bearer ", "sk-", "ab" * 9]
_TEXTS = st.lists(st.sampled_from(_PIECES), max_size=20).map("".join)
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | _TEXTS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXTS, inner, max_size=4),
    max_leaves=12,
)


@given(_VALUES)
def test_redacting_serialized_json_keeps_it_json_of_the_same_shape(value: object) -> None:
    text = json.dumps(value, ensure_ascii=False)

    cleaned = json.loads(redact_json_text(text))

    assert _shape(cleaned) == _shape(value)


def _shape(value: object) -> object:
    """Lists and scalar types as they are; objects only as objects (two keys that differ
    only in a redacted part can become one)."""
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return type(value).__name__


def test_log_records_are_redacted_when_made(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    logger = logging.getLogger("some.library")

    logger.info("calling %s", "https://user:pw@host/v1?token=abc")
    try:
        raise ValueError("failed at https://user:pw@host/?api_key=abc")
    except ValueError:
        logger.exception("request failed")

    assert "pw@" not in caplog.text
    assert "abc" not in caplog.text
    assert caplog.records[0].getMessage() == f"calling https://{REDACTED}@host/v1?token={REDACTED}"
