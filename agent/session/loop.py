"""The agent loop. It only dispatches; each step's work lives in `turn.py` (state in `state.py`).

1. Write the session header and the user's goal (unless resuming).
2. Take a turn: check budgets, ask the provider, record the reply.
3. Tool calls run through the executor; their results are the next message.
4. Free text goes through the bridge, which builds on the last trial; a trial's feedback, or
   what could not be done, is the next user turn; no instruction gets one reminder, then the
   session ends.
5. End on `finish`, a budget, Ctrl-C or a fatal provider error, always with a summary and an
   intact transcript; an interrupted session's end is marked resumable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, assert_never

from mltrainer.agent.messages import Usage, UserMessage
from mltrainer.agent.metrics import active_session
from mltrainer.agent.session.state import Continue, Finished, NextStep, SessionState, Stopped
from mltrainer.agent.session.turn import take_turn
from mltrainer.engine.results import FinalSummary, TrialSummary


@dataclass(frozen=True)
class SessionSummary:
    reason: str
    finished: bool
    conclusion: str | None
    best_trial: int | None
    turns: int
    tool_calls: int
    usage: Usage
    trials: list[TrialSummary] = field(default_factory=list)
    finalized: list[FinalSummary] = field(default_factory=list)
    transcript: Path | None = None
    resumable: bool = False


async def run_session(
    state: SessionState,
    goal: str | None,
    header: dict[str, Any],
    *,
    first_step: NextStep | None = None,
) -> SessionSummary:
    """Run until finish, a budget or a fatal error. `goal=None` continues a resumed session."""
    with active_session():
        return await _run_session(state, goal, header, first_step)


async def _run_session(
    state: SessionState, goal: str | None, header: dict[str, Any], first_step: NextStep | None
) -> SessionSummary:
    if goal is not None:
        state.transcript.write({"event": "session_start", **header})
        state.add(UserMessage(goal))
    conclusion: str | None = None
    best: int | None = None
    resumable = False
    step = first_step
    while True:
        step = step if step is not None else await take_turn(state)
        state.transcript.sync()
        match step:
            case Continue():
                step = None
                continue
            case Finished():
                reason, conclusion, best = "finished", step.conclusion, step.best_trial
            case Stopped():
                reason, resumable = step.reason, step.resumable
            case _:
                assert_never(step)
        break
    summary = SessionSummary(
        reason=reason,
        finished=reason == "finished",
        conclusion=conclusion,
        best_trial=best,
        turns=state.turns,
        tool_calls=state.tool_calls,
        usage=state.usage,
        trials=state.trials,
        finalized=state.finalized,
        transcript=state.transcript.path,
        resumable=resumable,
    )
    state.transcript.write(
        {
            "event": "session_end",
            "reason": reason,
            "conclusion": conclusion,
            "best_trial": best,
            "turns": state.turns,
            "tool_calls": state.tool_calls,
            "usage": state.usage.as_record(),
            "trials": [trial.model_dump(mode="json") for trial in state.trials],
            "finalized": [final.model_dump(mode="json") for final in state.finalized],
            **({"resumable": True} if resumable else {}),
        }
    )
    return summary
