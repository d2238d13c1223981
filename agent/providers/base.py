"""The interface every LLM provider implements, and the errors it may raise."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from mltrainer.agent.messages import AssistantTurn, Message, ToolSpec
from mltrainer.engine.errors import MLTrainerError
from mltrainer.tools.base import json_depth

# Replies of both APIs nest a handful of levels; a tool's input a few more. Anything deeper is
# refused before the JSON parser recurses into it (it gives up near 1,000 levels).
MAX_REPLY_DEPTH = 100
_SHOWN_BODY_CHARS = 80


class ProviderError(MLTrainerError):
    """The provider failed after its retries. `status` is the HTTP status when there was one;
    `retryable` marks failures that a fresh attempt may not repeat (a garbled reply)."""

    retryable = False

    def __init__(self, message: str, *, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class MalformedReplyError(ProviderError):
    """The server answered, but not with a reply of its API's shape: HTML, cut-off JSON, `[]`,
    a message without content. Proxies and overloaded servers do this now and then, so the
    call is worth one more try."""

    retryable = True


class ReplyTooLargeError(MalformedReplyError):
    """A reply over the size limit (`reply_limit.py`): it was not read to the end, and nothing
    of it was parsed."""


class ProviderConfigError(ProviderError):
    """A provider cannot start: missing key, unknown model, unreadable script."""


class ScriptFinished(ProviderError):
    """A scripted (or replayed) provider has played every turn it had: a normal end, not a
    failure. The session stops with the message as its reason ("script finished")."""


class ReplayDivergence(ProviderError):
    """A replayed session asked the model something the recording does not match."""


class Provider(ABC):
    """Turns the conversation so far into the model's next turn."""

    name: str
    model: str
    # True when the turns are a person's own words (direct mode): no tools, and a turn with
    # nothing to run gets a hint instead of ending the session the second time.
    speaks_for_a_person: bool = False
    # Offline providers (scripted, replay) answer without waiting on anything, so the loop
    # does not race them against the clock and Ctrl-C.
    offline: bool = False

    @abstractmethod
    async def complete(
        self,
        *,
        system: str,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        timeout: float | None = None,
    ) -> AssistantTurn:
        """One model call. Raises `ProviderError` when the call fails after retries.

        `timeout` (seconds) is what is left of the session's time: a provider that waits on the
        network gives up by then (the loop also cancels the call at that moment)."""

    def resumed_after(self, assistant_turns: int) -> Provider:
        """This provider for a session resumed after `assistant_turns` of its turns. A model
        reads the conversation so far, so it needs nothing; a provider that plays fixed turns
        skips those it played."""
        return self

    async def aclose(self) -> None:  # noqa: B027 - optional hook, most providers hold nothing
        """Release HTTP clients; the default holds nothing to release."""


def reply_object(body: bytes, where: str) -> dict[str, Any]:
    """A reply body as a JSON object, or `MalformedReplyError` saying what it was instead."""
    text = body.decode("utf-8", errors="replace")
    if not text.strip():
        raise MalformedReplyError(f"{where} sent an empty reply")
    depth = json_depth(text)
    if depth > MAX_REPLY_DEPTH:
        raise MalformedReplyError(
            f"{where} sent a reply nested {depth} levels deep (the limit is {MAX_REPLY_DEPTH})"
        )
    try:
        data = json.loads(text)
    except ValueError:
        raise MalformedReplyError(
            f"{where} sent a reply that is not JSON (it starts {_start(text)})"
        ) from None
    if not isinstance(data, dict):
        kind = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
        raise MalformedReplyError(
            f"{where} sent {kind.get(type(data), 'a number')} ({_start(text)}) instead of a "
            "reply object"
        )
    return data


def shape_problem(error: ValidationError) -> str:
    """The first thing wrong with a reply's shape, for a `MalformedReplyError`."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "reply"
    # pydantic names our private wire classes ("or instance of _Message"); the reader needs
    # only the JSON side of it.
    return f"{where}: {first['msg'].split(' or instance of ')[0]}"


def _start(text: str) -> str:
    shown = " ".join(text.split())
    return repr(shown if len(shown) <= _SHOWN_BODY_CHARS else shown[:_SHOWN_BODY_CHARS] + "...")
