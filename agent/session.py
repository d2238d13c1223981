"""Session state and one turn of it: budgets, the conversation so far, and the step that
decides what the loop does next. `loop.py` only dispatches on these steps.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Literal

from mltrainer.agent.bridge import MLAgentBridge
from mltrainer.agent.dispatch import DispatchReport, ToolExecutor
from mltrainer.agent.messages import (
    AssistantTurn,
    Message,
    ToolCall,
    ToolResult,
    ToolResults,
    ToolSpec,
    Usage,
    UserMessage,
)
from mltrainer.agent.providers.base import Provider, ProviderError, ScriptFinished
from mltrainer.agent.transcript import Transcript, message_to_event
from mltrainer.engine.runner import result_summary
from mltrainer.prompts import load_text
from mltrainer.tools import TOOLS
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
    kind: Literal["stopped"] = "stopped"


NextStep = Continue | Finished | Stopped


@dataclass
class SessionControl:
    """What a person can do to a running session from outside its loop (the UI's chat): add a
    message, which becomes the next user turn, and ask it to stop, which it does at the next
    turn boundary with its summary. Safe across threads: deque appends and pops and attribute
    writes are atomic."""

    inbox: deque[str] = field(default_factory=deque)
    stop_reason: str | None = None


@cache
def tool_specs() -> tuple[ToolSpec, ...]:
    """Built once: the schemas never change, and building them costs milliseconds per turn."""
    return tuple(ToolSpec(t.name, t.description, t.parameters()) for t in TOOLS)


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
    on_message: MessageHook | None = None  # e.g. the CLI, printing the LLM's text as it comes
    control: SessionControl = field(default_factory=SessionControl)

    def add(self, message: Message, **extra: Any) -> None:
        self.messages.append(message)
        self.transcript.write({**message_to_event(message), **extra})
        if self.on_message is not None:
            self.on_message(message)

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
        if time.monotonic() - self.started >= b.max_seconds:
            return f"wall-time budget reached ({b.max_seconds:.0f} s)"
        return None

    def record_runs(self, report: DispatchReport) -> None:
        for run in report.runs:
            self.transcript.write(
                {
                    "event": "tool_run",
                    "call_id": run.result.call_id,
                    "name": run.result.name,
                    "arguments": run.arguments,
                    "payload": run.payload,
                    "content": run.result.content,
                    "is_error": run.result.is_error,
                    "seconds": round(run.seconds, 3),
                }
            )
            self.bridge.observe_tool_run(run.result.name, run.payload, run.arguments)
            self.note_payload(run.payload)

    def note_payload(self, payload: dict[str, Any]) -> None:
        """Keep what the summary shows: every trial, and every holdout score."""
        if payload.get("status") != "success":
            return
        if payload.get("type") == "training_complete":
            self.trials.append(result_summary(payload))
        elif payload.get("type") == "finalized":
            self.finalized.append(final_summary(payload))


async def take_turn(state: SessionState) -> NextStep:
    """One model turn and what it leads to (see `loop.run_session` for the steps)."""
    if reason := state.budget_hit():
        return Stopped(reason)
    if state.control.stop_reason is not None:
        return Stopped(state.control.stop_reason)
    while state.control.inbox:
        state.add(UserMessage(state.control.inbox.popleft()), source="person")
    asked = time.monotonic()
    try:
        turn = await state.provider.complete(
            system=state.system, messages=state.messages, tools=tool_specs()
        )
    except ScriptFinished as end:
        return Stopped(str(end))
    except ProviderError as error:
        return Stopped(f"provider error: {error}")
    state.turns += 1
    state.usage = state.usage + turn.usage
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


async def _run_tool_calls(state: SessionState, calls: tuple[ToolCall, ...]) -> NextStep:
    state.tool_calls += len(calls)
    report = await state.executor.execute(calls)
    state.record_runs(report)
    state.add(ToolResults(tuple(run.result for run in report.runs)))
    if report.conclusion is not None:
        return Finished(report.conclusion["conclusion"], report.conclusion.get("best_trial"))
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
    state.tool_calls += 1
    report = await state.executor.execute((call,))
    state.record_runs(report)
    state.add(UserMessage(f"({read}) {report.runs[0].result.content}"))
    if report.exhausted:
        return Stopped(report.exhausted)
    return Continue()


def _json(value: Any) -> str:
    return json.dumps(value, default=str)


async def resume_pending(state: SessionState, recorded: dict[str, dict[str, Any]]) -> NextStep:
    """After a kill: finish the step the last recorded turn started, if it did not complete.

    Tool calls whose runs were recorded (the kill came before their results message) are not
    run again: their recorded results are replayed, so no trial is trained twice.
    """
    if not state.messages:
        return Continue()
    last = state.messages[-1]
    if not isinstance(last, AssistantTurn):
        return Continue()
    if not last.tool_calls:
        return await _run_free_text(state, last)
    if all(call.id in recorded for call in last.tool_calls):
        runs = [recorded[call.id] for call in last.tool_calls]
        state.add(
            ToolResults(
                tuple(
                    ToolResult(
                        call.id, call.name, run.get("content", ""), run.get("is_error", False)
                    )
                    for call, run in zip(last.tool_calls, runs, strict=True)
                )
            )
        )
        for call, run in zip(last.tool_calls, runs, strict=True):
            if call.name == "finish" and not run.get("is_error", False):
                return Finished(run["payload"]["conclusion"], run["payload"].get("best_trial"))
        return Continue()
    # These calls were counted when the transcript was read; running them counts them again.
    state.tool_calls -= len(last.tool_calls)
    return await _run_tool_calls(state, last.tool_calls)
