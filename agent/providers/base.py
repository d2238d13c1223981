"""The interface every LLM provider implements, and the errors it may raise."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from mltrainer.agent.messages import AssistantTurn, Message, ToolSpec
from mltrainer.engine.errors import MLTrainerError


class ProviderError(MLTrainerError):
    """The provider failed after its retries. `status` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


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

    @abstractmethod
    async def complete(
        self,
        *,
        system: str,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
    ) -> AssistantTurn:
        """One model call. Raises `ProviderError` when the call fails after retries."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook, most providers hold nothing
        """Release HTTP clients; the default holds nothing to release."""
