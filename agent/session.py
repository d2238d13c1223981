"""Session state and one turn of it: budgets, the conversation so far, and the step that
decides what the loop does next. `loop.py` only dispatches on these steps.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from mltrainer.agent.bridge import MLAgentBridge
from mltrainer.agent.dispatch import DispatchReport, ToolExecutor, ToolRun
from mltrainer.agent.messages import (
    AssistantTurn,
    Message,
    ToolCall,
    ToolResults,
    ToolSpec,
    Usage,
    UserMessage,
    with_unique_call_ids,
)
from mltrainer.agent.metrics import record_turn
from mltrainer.agent.model_call import CallStopped, ask_model
from mltrainer.agent.plugins import load_plugins
from mltrainer.agent.providers.base import Provider, ProviderError, ScriptFinished
from mltrainer.agent.transcript import Transcript, message_to_event
from mltrainer.engine.runner import result_summary
from mltrainer.prompts import load_text
from mltrainer.tools import TOOLS_BY_NAME, Tool
from mltrainer.tools.base import trials_in
from mltrainer.tools.research import final_summary

REMINDER = (
    "Your last reply had no tool call and no instruction I could run. Use the tools "
    "(e.g. train_model) or call finish with your conclusion."
)
# Said to a person in direct mode, whose words are the turns: no tools, no second-strike end.
DIRECT_HINT = (
    "Nothing to run in that. Name a symbol and a model, e.g. 'Train a random forest on SPX "
    "with an 80/20 split', or say what to change in the last trial ('switch to logistic "
    "regression')."
)


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
    bridge: MLAgentBridge = field(default_factory=MLAgentBridge)
    system: str = field(default_factory=lambda: load_text("system.md"))
    messages: list[Message] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    turns: int = 0
    tool_calls: int = 0
    reminded: bool = False
    trials: list[dict[str, Any]] = field(default_factory=list)
    finalized: list[dict[str, Any]] = field(default_factory=list)
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
        self.bridge.observe_tool_run(run.result.name, run.payload, run.arguments)
        self.note_payload(run.payload)

    def note_payload(self, payload: dict[str, Any]) -> None:
        """Keep what the summary shows: every trial, and every holdout score."""
        for trial in trials_in(payload):  # a sweep's rows are already summaries
            self.trials.append(
                result_summary(trial) if trial.get("type") == "training_complete" else dict(trial)
            )
        if payload.get("status") == "success" and payload.get("type") == "finalized":
            self.finalized.append(final_summary(payload))


async def take_turn(state: SessionState) -> NextStep:
    """One model turn and what it leads to (see `loop.run_session` for the steps)."""
    if reason := state.budget_hit():
        return Stopped(reason)
    if state.interrupt.is_set():
        return Stopped(INTERRUPTED, resumable=True)
    if state.control.stop_reason is not None:
        return Stopped(state.control.stop_reason)
    while state.control.inbox:
        state.add(UserMessage(state.control.inbox.popleft()), source="person")
    asked = time.monotonic()
    try:
        turn = await ask_model(
            state.provider,
            system=state.system,
            messages=state.messages,
            tools=tool_specs(state.tools),
            seconds_left=state.seconds_left(),
            interrupt=state.interrupt,
        )
    except CallStopped as stop:
        if stop.kind == "interrupted":
            return Stopped(INTERRUPTED, resumable=True)
        return Stopped(state.wall_time_reason() + " while waiting for the model")
    except ScriptFinished as end:
        return Stopped(str(end))
    except ProviderError as error:
        return Stopped(f"provider error: {error}")
    state.turns += 1
    turn = with_unique_call_ids(turn, state.call_ids, state.turns)
    state.usage = state.usage + turn.usage
    record_turn(state.provider.name, turn.usage)
    state.add(turn, latency_s=round(time.monotonic() - asked, 3))
    if (
        state.budgets.max_cost_usd is not None
        and turn.usage.cost_usd is None
        and turn.usage.total_tokens
    ):
        return Stopped(
            f"a cost budget was set but no price is known for model '{turn.model or '?'}', "
            "so it cannot be enforced; use --max-tokens instead"
        )
    if turn.tool_calls:
        state.reminded = False
        return await _run_tool_calls(state, turn.tool_calls)
    return await _run_free_text(state, turn)


async def _execute(state: SessionState, calls: tuple[ToolCall, ...]) -> DispatchReport:
    """Run calls within the budgets: only as many new calls as the tool-call budget has left
    (the rest are answered as not run), none past the wall-time deadline."""
    report = await state.executor.execute(
        calls,
        deadline=state.deadline(),
        on_run=state.record_run,
        calls_left=max(state.budgets.max_tool_calls - state.tool_calls, 0),
    )
    state.tool_calls += sum(not run.recorded and not run.refused for run in report.runs)
    return report


async def _run_tool_calls(state: SessionState, calls: tuple[ToolCall, ...]) -> NextStep:
    report = await _execute(state, calls)
    state.add(ToolResults(tuple(run.result for run in report.runs)))
    if report.conclusion is not None:
        return Finished(
            str(report.conclusion.get("conclusion", "")), report.conclusion.get("best_trial")
        )
    if state.interrupt.is_set():
        return Stopped(INTERRUPTED, resumable=True)
    if report.exhausted:
        return Stopped(report.exhausted)
    return Continue()


async def _run_free_text(state: SessionState, turn: AssistantTurn) -> NextStep:
    """The regex fallback: a free-text conclusion ends the session, a request to compare runs
    compare_trials, and an instruction runs train_model on the whole configuration the bridge
    makes of it with the conversation so far. What it cannot do is said back; nothing runs."""
    parsed = state.bridge.parse_mltrainer_response(turn.text)
    action = parsed["extracted_params"].get("action")
    if action == "finish":
        return Finished(turn.text, None)
    call_id = f"text_{state.turns}"
    if action == "compare":
        call = ToolCall(id=call_id, name="compare_trials", arguments="{}")
        return await _run_text_call(state, call, "Read from your text: compare_trials {}.")
    resolution = state.bridge.resolve(parsed)
    if resolution.config is None:
        if resolution.not_done:
            state.reminded = False
            state.add(UserMessage(state.bridge.describe(resolution)))
            return Continue()
        if state.reminded and not state.provider.speaks_for_a_person:
            return Stopped("the model replied without a tool call or a runnable instruction twice")
        state.reminded = True
        asked = f"{state.bridge.describe(resolution)} " if resolution.asked else ""
        hint = DIRECT_HINT if state.provider.speaks_for_a_person else REMINDER
        state.add(UserMessage(asked + hint))
        return Continue()
    call = ToolCall(id=call_id, name="train_model", arguments=_json(resolution.config))
    return await _run_text_call(state, call, state.bridge.describe(resolution))


async def _run_text_call(state: SessionState, call: ToolCall, read: str) -> NextStep:
    state.reminded = False
    report = await _execute(state, (call,))
    state.add(UserMessage(f"({read}) {report.runs[0].result.content}"))
    if report.exhausted:
        return Stopped(report.exhausted)
    return Continue()


def _json(value: Any) -> str:
    return json.dumps(value, default=str)


async def resume_pending(state: SessionState, recorded: dict[str, dict[str, Any]]) -> NextStep:
    """After a kill: finish the step the last recorded turn started, if it did not complete.

    The executor answers calls whose runs were recorded from the recording, so no trial is
    trained twice; a `finish` that ran closes the session without asking the model again.
    """
    turn = next((m for m in reversed(state.messages) if isinstance(m, AssistantTurn)), None)
    if turn is None:
        return Continue()
    if state.messages[-1] is turn:
        if turn.tool_calls:
            return await _run_tool_calls(state, turn.tool_calls)
        return await _run_free_text(state, turn)
    for call in turn.tool_calls:
        payload = recorded.get(call.id, {}).get("payload")
        if (
            state.ends_session(call.name)
            and isinstance(payload, dict)
            and payload.get("status") == "success"
        ):
            return Finished(str(payload.get("conclusion", "")), payload.get("best_trial"))
    return Continue()
