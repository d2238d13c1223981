"""Direct mode, as in the seed's chat: no LLM. A person's own words are the turns; the bridge
reads each one as it would read an LLM's free text, runs what it asks for, and the feedback
is the answer the person sees. Offline, and needs no key.

The person types in another thread (the UI's), so words arrive through a thread-safe queue;
`leave` ends the session at the next turn with a normal stop and its summary.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence

from mltrainer.agent.messages import AssistantTurn, Message, ToolSpec
from mltrainer.agent.providers.base import Provider, ScriptFinished


class DirectProvider(Provider):
    """Each turn is the next thing the person said, waited for as long as it takes.

    The wait is an event on the session's own loop, never a blocked worker thread, so a
    server that shuts down while a session waits for words exits at once.
    """

    name = "direct"
    speaks_for_a_person = True

    def __init__(self, *, model: str = "person") -> None:
        self.model = model
        self._words: deque[str] = deque()
        self._left: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._arrived: asyncio.Event | None = None

    def say(self, text: str) -> None:
        """Queue the person's next words (from any thread)."""
        self._words.append(text)
        self._wake()

    def leave(self, reason: str) -> None:
        """End the session: a turn waiting for words returns at once, later ones never ask."""
        self._left = reason
        self._wake()

    def _wake(self) -> None:
        loop, arrived = self._loop, self._arrived
        if loop is not None and arrived is not None and not loop.is_closed():
            loop.call_soon_threadsafe(arrived.set)

    async def complete(
        self,
        *,
        system: str,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        timeout: float | None = None,
    ) -> AssistantTurn:
        # `timeout` needs nothing here: the loop cancels this wait when the session's time ends.
        if self._arrived is None or self._loop is not asyncio.get_running_loop():
            self._arrived = asyncio.Event()
            self._loop = asyncio.get_running_loop()
        while True:
            if self._left is not None:
                raise ScriptFinished(self._left)
            if self._words:
                return AssistantTurn(text=self._words.popleft(), model=self.model)
            self._arrived.clear()
            # Words said between the checks above and the clear must not be missed.
            if self._words or self._left is not None:
                continue
            await self._arrived.wait()
