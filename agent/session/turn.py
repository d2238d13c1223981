"""One turn of a session: ask the model, run its tool calls (or read its free text through the
bridge), and say what the loop does next. `loop.py` only dispatches on these steps.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping

from mltrainer.agent.bridge.reply import ParsedReply
from mltrainer.agent.messages import (
    AssistantTurn,
    ToolCall,
    ToolResults,
    UserMessage,
    with_unique_call_ids,
)
from mltrainer.agent.metrics import record_turn
from mltrainer.agent.providers.base import ProviderError, ScriptFinished
from mltrainer.agent.session.dispatch import DispatchReport, ToolRun
from mltrainer.agent.session.model_call import CallStopped, ask_model
from mltrainer.agent.session.state import (
    INTERRUPTED,
    Continue,
    Finished,
    NextStep,
    SessionState,
    Stopped,
    tool_specs,
)
from mltrainer.tools.results import conclusion_of, failed

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
        return Finished(*conclusion_of(report.conclusion))
    if state.interrupt.is_set():
        return Stopped(INTERRUPTED, resumable=True)
    if report.exhausted:
        return Stopped(report.exhausted)
    return Continue()


async def _run_free_text(state: SessionState, turn: AssistantTurn) -> NextStep:
    """The regex fallback: a free-text conclusion ends the session, a request to compare runs
    compare_trials, and an instruction runs train_model on the whole configuration the bridge
    makes of it with the conversation so far. What it cannot do is said back; nothing runs."""
    reply = state.bridge.read(turn.text)
    if reply.action == "finish":
        return Finished(turn.text, None)
    call_id = f"text_{state.turns}"
    if call := _asked_call(reply, call_id):
        return await _run_text_call(
            state, call, f"Read from your text: {call.name} {call.arguments}."
        )
    resolution = state.bridge.resolve(reply)
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
    arguments = resolution.config.model_dump_json(exclude_unset=True)
    call = ToolCall(id=call_id, name="train_model", arguments=arguments)
    return await _run_text_call(state, call, state.bridge.describe(resolution))


def _asked_call(reply: ParsedReply, call_id: str) -> ToolCall | None:
    """A comparison ("compare the trials", "compare trials 2 and 5"), or a look at the locked
    holdout ("finalize the best trial", "finalize trial 3", "... by Sharpe") when the text
    asks for no new trial: the call that does it."""
    arguments: dict[str, object] = {"rank_by": reply.rank_by} if reply.rank_by else {}
    if reply.action == "compare":
        if len(reply.trials) >= 2:
            arguments = {"trials": list(reply.trials), **arguments}
        return ToolCall(call_id, "compare_trials", json.dumps(arguments))
    if reply.action == "finalize" and not reply.changes_anything():
        if len(reply.trials) == 1:
            arguments = {"trial": reply.trials[0], **arguments}
        return ToolCall(call_id, "finalize", json.dumps(arguments))
    return None


async def _run_text_call(state: SessionState, call: ToolCall, read: str) -> NextStep:
    state.reminded = False
    report = await _execute(state, (call,))
    state.add(UserMessage(f"({read}) {report.runs[0].result.content}"))
    if report.exhausted:
        return Stopped(report.exhausted)
    return Continue()


async def resume_pending(state: SessionState, recorded: Mapping[str, ToolRun]) -> NextStep:
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
        run = recorded.get(call.id)
        if state.ends_session(call.name) and run is not None and not failed(run.output):
            return Finished(*conclusion_of(run.output))
    return Continue()
