"""Asking the model for its next turn within the session's limits.

The call is one task raced against the time left and against Ctrl-C: a server that trickles a
byte every few seconds (which resets an HTTP read timeout each time) or never answers is
cancelled when the session's time is up, whatever the SDK's own timeouts do. A reply that was
malformed (HTML, cut-off JSON, a message without content) is asked for again a few times
while time is left; every other provider error ends the turn as it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from typing import Any

from mltrainer.agent.messages import AssistantTurn, Message, ToolSpec
from mltrainer.agent.metrics import provider_request, record_retry
from mltrainer.agent.providers.base import Provider, ProviderError

MALFORMED_REPLY_RETRIES = 2
RETRY_PAUSE_SECONDS = 0.5


class CallStopped(Exception):
    """The model call was abandoned; `kind` says why ("deadline" or "interrupted")."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


async def ask_model(
    provider: Provider,
    *,
    system: str,
    messages: Sequence[Message],
    tools: Sequence[ToolSpec],
    seconds_left: float,
    interrupt: asyncio.Event,
) -> AssistantTurn:
    """The provider's next turn. Raises `CallStopped` at the deadline or on Ctrl-C, and
    `ProviderError` when the provider fails for good."""
    if provider.offline:
        with provider_request(provider.name):
            return await provider.complete(system=system, messages=messages, tools=tools)
    deadline = time.monotonic() + seconds_left
    attempt = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise CallStopped("deadline")
        call = provider.complete(system=system, messages=messages, tools=tools, timeout=left)
        try:
            with provider_request(provider.name):
                return await _race(asyncio.ensure_future(call), left, interrupt)
        except ProviderError as error:
            if not error.retryable or attempt >= MALFORMED_REPLY_RETRIES:
                raise
            record_retry(provider.name, error)
        attempt += 1
        pause = min(RETRY_PAUSE_SECONDS * attempt, max(deadline - time.monotonic(), 0.0))
        if await _interrupted_within(interrupt, pause):
            raise CallStopped("interrupted")


async def _race(
    call: asyncio.Future[AssistantTurn], seconds: float, interrupt: asyncio.Event
) -> AssistantTurn:
    stop: asyncio.Future[Any] = asyncio.ensure_future(interrupt.wait())
    try:
        racing: set[asyncio.Future[Any]] = {call, stop}
        done, _ = await asyncio.wait(racing, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    except BaseException:
        call.cancel()
        raise
    finally:
        stop.cancel()
    if call in done:
        return call.result()
    call.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await call
    raise CallStopped("interrupted" if stop in done else "deadline")


async def _interrupted_within(interrupt: asyncio.Event, seconds: float) -> bool:
    try:
        await asyncio.wait_for(interrupt.wait(), seconds)
    except TimeoutError:
        return False
    return True
