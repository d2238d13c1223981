"""Direct mode, as in the seed's chat: no LLM. A person's own words are the turns; the bridge
reads each one as it would read an LLM's free text, runs what it asks for, and the feedback
is the answer the person sees. Offline, and needs no key.

The person types in another thread (the UI's), so words arrive through a thread-safe queue;
`leave` ends the session at the next turn with a normal stop and its summary.
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Sequence

from mltrainer.agent.messages import AssistantTurn, Message, ToolSpec
from mltrainer.agent.providers.base import Provider, ScriptFinished


class DirectProvider(Provider):
    """Each turn is the next thing the person said, waited for as long as it takes."""

    name = "direct"
    speaks_for_a_person = True

    def __init__(self, *, model: str = "person") -> None:
        self.model = model
        self._words: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._left: str | None = None

    def say(self, text: str) -> None:
        """Queue the person's next words (from any thread)."""
        self._words.put(text)

    def leave(self, reason: str) -> None:
        """End the session: a turn waiting for words returns at once, later ones never ask."""
        self._left = reason
        self._words.put(None)

    async def complete(
        self,
        *,
        system: str,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
    ) -> AssistantTurn:
        if self._left is not None:
            raise ScriptFinished(self._left)
        # A worker thread waits on the queue, so the event loop stays free meanwhile.
        text = await asyncio.to_thread(self._words.get)
        if text is None or self._left is not None:
            raise ScriptFinished(self._left or "the person left")
        return AssistantTurn(text=text, model=self.model)
