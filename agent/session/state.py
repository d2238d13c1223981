"""Session state: budgets, what a person can do from outside (SessionControl), the conversation
so far, and the small "next step" values a turn yields (continue, finished, stopped), which
`loop.py` dispatches on.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from mltrainer.agent.bridge import Bridge
from mltrainer.agent.messages import (
    Message,
    ToolSpec,
    Usage,
)
from mltrainer.agent.providers.base import Provider
from mltrainer.agent.session.dispatch import ToolExecutor, ToolRun
from mltrainer.agent.session.transcript import Transcript, message_to_event
from mltrainer.engine.plugins import load_plugins
from mltrainer.engine.results import FinalSummary, TrialSummary
from mltrainer.engine.trial import FinalResult
from mltrainer.prompts import load_text
from mltrainer.tools import TOOLS_BY_NAME, Tool
from mltrainer.tools.results import trials_in

MessageHook = Callable[[Message], None]


@dataclass(frozen=True)
class Budgets:
    max_turns: int = 20
    max_tool_calls: int = 60
    max_tokens: int = 400_000
    max_cost_usd: float | None = None
    max_seconds: float = 900.0


@dataclass(frozen=True)
class Continue:
    kind: Literal["continue"] = "continue"


@dataclass(frozen=True)
class Finished:
    conclusion: str
    best_trial: int | None
    kind: Literal["finished"] = "finished"


@dataclass(frozen=True)
class Stopped:
    reason: str
    resumable: bool = False
    kind: Literal["stopped"] = "stopped"


INTERRUPTED = "interrupted (Ctrl-C)"


NextStep = Continue | Finished | Stopped


@dataclass
class SessionControl:
    """What a person can do to a running session from outside its loop (the UI's chat): add a
    message, which becomes the next user turn, and ask it to stop, which it does at the next
    turn boundary with its summary. Safe across threads: deque appends and pops and attribute
    writes are atomic."""

    inbox: deque[str] = field(default_factory=deque)
    stop_reason: str | None = None


def registered_tools() -> tuple[Tool, ...]:
    """The registry's tools as a session's set: built-ins, registered and plugin tools."""
    load_plugins()
    return tuple(TOOLS_BY_NAME.values())


def tool_specs(tools: tuple[Tool, ...] | None = None) -> tuple[ToolSpec, ...]:
    """The specs the model sees for a tool set (the registry's as it is now when None)."""
    return _specs(tools if tools is not None else registered_tools())


@cache
def _specs(tools: tuple[Tool, ...]) -> tuple[ToolSpec, ...]:
    """Cached per set: a set's schemas never change, and building them costs milliseconds."""
    return tuple(ToolSpec(t.name, t.description, t.parameters()) for t in tools)


@dataclass
class SessionState:
    provider: Provider
    executor: ToolExecutor
    transcript: Transcript
    budgets: Budgets = field(default_factory=Budgets)
    bridge: Bridge = field(default_factory=Bridge)
    system: str = field(default_factory=lambda: load_text("system.md"))
    messages: list[Message] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    turns: int = 0
    tool_calls: int = 0
    reminded: bool = False
    trials: list[TrialSummary] = field(default_factory=list)
    finalized: list[FinalSummary] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)
    interrupt: asyncio.Event = field(default_factory=asyncio.Event)
    call_ids: set[str] = field(default_factory=set)
    on_message: MessageHook | None = None  # e.g. the CLI, printing the LLM's text as it comes
    control: SessionControl = field(default_factory=SessionControl)
    tools: tuple[Tool, ...] = field(default_factory=registered_tools)

    def ends_session(self, name: str) -> bool:
        return any(tool.name == name and tool.ends_session for tool in self.tools)

    def add(self, message: Message, **extra: Any) -> None:
        self.messages.append(message)
        self.transcript.write({**message_to_event(message), **extra})
        if self.on_message is not None:
            self.on_message(message)

    def seconds_left(self) -> float:
        return self.budgets.max_seconds - (time.monotonic() - self.started)

    def deadline(self) -> float:
        """The wall-time budget's end in epoch seconds, as the engine's tools take it."""
        return time.time() + self.seconds_left()

    def wall_time_reason(self) -> str:
        return f"wall-time budget reached ({self.budgets.max_seconds:.0f} s)"

    def budget_hit(self) -> str | None:
        b = self.budgets
        if self.turns >= b.max_turns:
            return f"turn budget reached ({b.max_turns} turns)"
        if self.tool_calls >= b.max_tool_calls:
            return f"tool-call budget reached ({b.max_tool_calls} calls)"
        if self.usage.total_tokens >= b.max_tokens:
            return f"token budget reached ({self.usage.total_tokens} >= {b.max_tokens})"
        if b.max_cost_usd is not None and (self.usage.cost_usd or 0.0) >= b.max_cost_usd:
            return f"cost budget reached (${self.usage.cost_usd:.4f} >= ${b.max_cost_usd})"
        if self.seconds_left() <= 0:
            return self.wall_time_reason()
        return None

    def record_run(self, run: ToolRun) -> None:
        """Written the moment the tool returns: a kill later in the turn loses nothing."""
        self.transcript.write(run.event())
        self.note_run(run)

    def note_run(self, run: ToolRun) -> None:
        """Keep what the summary shows (every trial, every holdout score) and what the bridge
        builds on."""
        self.bridge.observe_tool_run(run.output, run.arguments)
        self.trials.extend(trials_in(run.output))
        if isinstance(run.output, FinalResult):
            self.finalized.append(FinalSummary.of(run.output))
