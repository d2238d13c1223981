"""A provider whose next turn is computed by a function of the conversation, in the manner of
pydantic-ai's `FunctionModel`: for tests, and for custom model back-ends in a few lines.

    def turn(messages, info):
        if not any(isinstance(m, ToolResults) for m in messages):
            return AssistantTurn("", (ToolCall("c1", "list_models", "{}"),))
        return AssistantTurn("", (ToolCall("c2", "finish", '{"conclusion": "done"}'),))

    provider = FunctionProvider(turn)

The function gets every message so far (so a resumed session continues where the
conversation is, not where a script counter was) and a `FunctionInfo` with the system prompt
and the specs of the session's tools. It may be async, and may return a plain string for a
text-only turn.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from mltrainer.agent.messages import AssistantTurn, Message, ToolSpec
from mltrainer.agent.providers.base import Provider, ProviderError


@dataclass(frozen=True)
class FunctionInfo:
    """What the model would be shown besides the messages."""

    system: str
    tools: tuple[ToolSpec, ...]
    model: str


TurnFunction = Callable[
    [tuple[Message, ...], FunctionInfo], AssistantTurn | str | Awaitable[AssistantTurn | str]
]


class FunctionProvider(Provider):
    """Calls `function(messages, info)` for each turn. `offline` (default True) tells the loop
    the function answers without waiting on the network, so it is not raced against the clock;
    set it False for a function that calls a remote model."""

    name = "function"

    def __init__(self, function: TurnFunction, *, model: str = "function", offline: bool = True):
        if not callable(function):
            raise TypeError(f"FunctionProvider takes a function, got {type(function).__name__}")
        self.function = function
        self.model = model
        self.offline = offline

    async def complete(
        self,
        *,
        system: str,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        timeout: float | None = None,
    ) -> AssistantTurn:
        info = FunctionInfo(system=system, tools=tuple(tools), model=self.model)
        turn = self.function(tuple(messages), info)
        if inspect.isawaitable(turn):
            turn = await turn
        if isinstance(turn, str):
            return AssistantTurn(text=turn, model=self.model)
        if not isinstance(turn, AssistantTurn):
            raise ProviderError(
                f"the function of a FunctionProvider must return an AssistantTurn or a str, "
                f"got {type(turn).__name__}"
            )
        return turn
