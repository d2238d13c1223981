"""Transcripts of tool calls no agent loop makes: `mltrainer train`'s one instruction and an
MCP host's calls. They hold the events a session writes (a header that names their `kind`,
each call as an assistant turn with its runs and results, an end), so the Sessions page lists
them, `mltrainer report` draws them and `mltrainer replay --check` re-executes their calls. They
cannot be resumed: nobody is there to make the next call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Literal

from mltrainer.agent.messages import AssistantTurn, ToolCall, ToolResults, Usage, UserMessage
from mltrainer.agent.session.dispatch import ToolRun
from mltrainer.agent.session.state import Budgets
from mltrainer.agent.session.transcript import Transcript, known_secrets, message_to_event
from mltrainer.engine.results import FinalSummary, TrialSummary
from mltrainer.engine.runner import CODE_VERSION
from mltrainer.engine.settings import Settings
from mltrainer.engine.trial import FinalResult
from mltrainer.tools.results import trials_in

CallKind = Literal["train", "mcp"]
# Replaying such a session must not stop at a loop's default budgets: it ends where its
# recording ends.
UNBOUNDED = Budgets(
    max_turns=1_000_000, max_tool_calls=1_000_000, max_tokens=10**12, max_seconds=7 * 24 * 3600
)


class CallLog:
    """One transcript, written as the calls come: `record` each call with its run, `close`
    once with the reason it ended."""

    def __init__(
        self,
        settings: Settings,
        *,
        session_id: str,
        kind: CallKind,
        goal: str,
        tools: Sequence[str],
        model: str = "",
    ) -> None:
        self.session_id = session_id
        self.transcript = Transcript(
            settings.transcripts_dir / f"{session_id}.jsonl", known_secrets(settings)
        )
        self.turns = 0
        self.calls = 0
        self.trials: list[TrialSummary] = []
        self.finalized: list[FinalSummary] = []
        self.transcript.write(
            {
                "event": "session_start",
                "session_id": session_id,
                "kind": kind,
                "provider": kind,
                "model": model,
                "provider_options": {},
                "goal": goal,
                "system": "",
                "tools": list(tools),
                "budgets": asdict(UNBOUNDED),
                "version": CODE_VERSION,
            }
        )
        self.transcript.write(message_to_event(UserMessage(goal)))
        self.transcript.sync()

    @property
    def path(self) -> Path:
        return self.transcript.path

    def record(self, text: str, calls: Sequence[ToolCall], runs: Sequence[ToolRun]) -> None:
        """Calls made together (`text` is what came with them, if anything) and their runs,
        in call order."""
        turn = AssistantTurn(text, tuple(calls), stop_reason="tool_use")
        self.transcript.write(message_to_event(turn))
        for run in runs:
            self.transcript.write(run.event())
            self.trials.extend(trials_in(run.output))
            if isinstance(run.output, FinalResult):
                self.finalized.append(FinalSummary.of(run.output))
        results = ToolResults(tuple(run.result for run in runs))
        self.transcript.write(message_to_event(results))
        self.transcript.sync()
        self.turns += 1
        self.calls += sum(not run.refused for run in runs)

    def close(self, reason: str) -> None:
        self.transcript.write(
            {
                "event": "session_end",
                "reason": reason,
                "conclusion": None,
                "best_trial": None,
                "turns": self.turns,
                "tool_calls": self.calls,
                "usage": Usage().as_record(),
                "trials": [trial.model_dump(mode="json") for trial in self.trials],
                "finalized": [final.model_dump(mode="json") for final in self.finalized],
            }
        )
        self.transcript.close()
