"""Turning tool calls into tool results: validate against the tool's model, run valid calls
(concurrently, off the event loop), and phrase each result for the model.

A malformed call becomes an error result that says what to fix; only a tool that keeps failing
past its retry budget ends the session. Each run is handed to `on_run` the moment it completes,
so a kill during a slow parallel call loses none that finished; a resumed session passes the
runs its transcript recorded, and those calls are answered from the recording, not run again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from mltrainer.agent.messages import ToolCall, ToolResult
from mltrainer.agent.metrics import record_tool_run
from mltrainer.agent.session.progress import ProgressHook, ToolEnded, ToolProgress, ToolStarted
from mltrainer.agent.session.transcript import TranscriptError, recorded_output
from mltrainer.engine.progress import listening
from mltrainer.engine.service import ResearchService
from mltrainer.engine.trial import ErrorResult
from mltrainer.tools import TOOLS_BY_NAME, Tool, ToolArgumentError, get_tool
from mltrainer.tools.base import ToolContext
from mltrainer.tools.results import ToolOutput, dump, failed

logger = logging.getLogger(__name__)

# Run-specific fields, and statistics computed from the ledger when shown (they change as
# more tries are recorded), are left out when a replay compares results.
VOLATILE_KEYS = frozenset(
    {
        "trial",
        "timings",
        "model_path",
        "model_sha256",
        "created_at",
        "fetched_at",
        "cached",
        "session",
        "tries",
        "tries_same_window",
        "p_value_adjusted",
        "return_p_value_adjusted",
        "holdout_looks",
        "selection_stats",
        "look",
        "untouched",
        "again",
        "family",
        "p_values",
        "mcnemar_p_value_adjusted",
    }
)
# A tool still running at the session deadline gets this long to stop on its own (the engine
# checks the deadline between folds) before it is abandoned and reported.
DEADLINE_GRACE_SECONDS = 5.0


@dataclass(frozen=True)
class ToolRun:
    """One executed (or refused) call: what the model sees (`result`), the tool's typed result
    (`output`) and the validated arguments it ran with."""

    result: ToolResult
    output: ToolOutput
    seconds: float
    arguments: BaseModel | None = None
    recorded: bool = False
    refused: bool = False

    def event(self) -> dict[str, Any]:
        """The transcript's `tool_run` line for this run: where its result becomes JSON."""
        return {
            "event": "tool_run",
            "call_id": self.result.call_id,
            "name": self.result.name,
            "arguments": None if self.arguments is None else self.arguments.model_dump(mode="json"),
            "payload": dump(self.output),
            "content": self.result.content,
            "is_error": self.result.is_error,
            "seconds": round(self.seconds, 3),
            **({"refused": True} if self.refused else {}),
        }

    @classmethod
    def from_event(cls, event: Mapping[str, Any], tools: Mapping[str, Tool]) -> ToolRun:
        """A run a transcript recorded (a checked `tool_run` event), answered again without
        running the tool; its arguments are read with the tool's model when this process has
        the tool, and kept as recorded otherwise."""
        return cls(
            ToolResult(
                event["call_id"], event["name"], event["content"], event["is_error"] is True
            ),
            recorded_output(event),
            0.0,
            _recorded_arguments(event, tools),
            recorded=True,
            refused=event.get("refused") is True,
        )


class RecordedArguments(BaseModel):
    """The arguments of a recorded call to a tool this process does not have, key for key."""

    model_config = ConfigDict(extra="allow")


def _recorded_arguments(event: Mapping[str, Any], tools: Mapping[str, Tool]) -> BaseModel | None:
    raw = event.get("arguments")
    if raw is None:
        return None
    tool = tools.get(event["name"])
    if tool is None:
        return RecordedArguments.model_validate(raw)
    try:
        return tool.arguments.model_validate(raw)
    except ValidationError as error:
        raise TranscriptError(
            f"the recorded arguments of {event['name']} (call {event['call_id']}) do not fit "
            f"the tool: {error.errors()[0]['msg']}; the transcript was edited, or the tool "
            "changed since it was recorded"
        ) from error


def refused_run(call: ToolCall, reason: str) -> ToolRun:
    """A call that was not run (a budget is spent): still answered, as every call must be."""
    return ToolRun(
        ToolResult(call.id, call.name, f"NOT RUN: {reason}", True),
        ErrorResult(type="budget", error=reason),
        0.0,
        refused=True,
    )


@dataclass
class DispatchReport:
    runs: list[ToolRun] = field(default_factory=list)
    conclusion: ToolOutput | None = None  # the result of the call that ended the session
    exhausted: str | None = None


RunHook = Callable[[ToolRun], None]


class ToolExecutor(Protocol):
    async def execute(
        self,
        calls: Sequence[ToolCall],
        *,
        deadline: float | None = None,
        on_run: RunHook | None = None,
        calls_left: int | None = None,
    ) -> DispatchReport: ...


def stable_payload(payload: Any) -> Any:
    """A payload without run-specific fields (trial numbers, timings, paths) for comparisons."""
    if isinstance(payload, dict):
        return {k: stable_payload(v) for k, v in payload.items() if k not in VOLATILE_KEYS}
    if isinstance(payload, list):
        return [stable_payload(v) for v in payload]
    return payload


class LiveExecutor:
    """Runs tools against the engine, with a retry budget of consecutive failures per tool."""

    def __init__(
        self,
        service: ResearchService,
        *,
        retries_per_tool: int = 3,
        progress: ProgressHook | None = None,
        tools: Mapping[str, Tool] = TOOLS_BY_NAME,
        deadline: float | None = None,
        recorded: Mapping[str, ToolRun] | None = None,
    ) -> None:
        self.service = service
        self.deadline = deadline
        self.retries_per_tool = retries_per_tool
        self.progress = progress
        self.tools = tools
        self.recorded = dict(recorded or {})
        self._failures: Counter[str] = Counter()

    async def execute(
        self,
        calls: Sequence[ToolCall],
        *,
        deadline: float | None = None,
        on_run: RunHook | None = None,
        calls_left: int | None = None,
    ) -> DispatchReport:
        """Run `calls` concurrently. `deadline` (epoch seconds; the executor's own when not
        given) bounds how long they may take; at most `calls_left` of them run, the rest are
        answered as not run."""
        deadline = self.deadline if deadline is None else deadline
        report = DispatchReport()
        new_calls = [call for call in calls if call.id not in self.recorded]
        allowed = {
            call.id for call in new_calls[: len(new_calls) if calls_left is None else calls_left]
        }

        async def run_and_report(call: ToolCall) -> ToolRun:
            if call.id in self.recorded:
                return self.recorded[call.id]
            if call.id in allowed:
                run = await self._run_one(call, deadline)
            else:
                run = refused_run(call, "the session's tool-call budget is spent")
            record_tool_run(
                call.name, run.output, is_error=run.result.is_error, refused=run.refused
            )
            if on_run is not None:
                on_run(run)
            return run

        runs = await asyncio.gather(*(run_and_report(call) for call in calls))
        for call, run in zip(calls, runs, strict=True):
            report.runs.append(run)
            if run.refused:  # a spent budget is not the tool failing
                continue
            if run.result.is_error:
                self._failures[call.name] += 1
                if self._failures[call.name] > self.retries_per_tool:
                    report.exhausted = (
                        f"tool '{call.name}' failed {self._failures[call.name]} times in a row"
                    )
            else:
                self._failures[call.name] = 0
                tool = self.tools.get(call.name)
                if tool is not None and tool.ends_session:
                    report.conclusion = run.output
        return report

    async def _run_one(self, call: ToolCall, deadline: float | None) -> ToolRun:
        started = time.perf_counter()
        if deadline is not None and time.time() >= deadline:
            return refused_run(call, "the session's wall-time budget is spent")
        try:
            tool = get_tool(call.name, self.tools)
            arguments = tool.parse(call.arguments)
        except ToolArgumentError as error:
            budget_left = max(self.retries_per_tool - self._failures[call.name], 0)
            text = f"ERROR: {error}. Fix the call and try again ({budget_left} retries left)."
            invalid = ErrorResult(type="invalid_call", error=str(error))
            return ToolRun(ToolResult(call.id, call.name, text, True), invalid, 0.0)
        label = tool.start_label(arguments)
        if self.progress:
            self.progress(ToolStarted(call.name, call.id, arguments, label))
        output: ToolOutput | None
        try:
            context = ToolContext(self.service, call_id=call.id, deadline=deadline)
            with listening(self._engine_progress(call, label) if self.progress else None):
                output = await _within(asyncio.to_thread(tool.run, context, arguments), deadline)
            if output is None:
                output = ErrorResult(
                    type="deadline",
                    error=f"{call.name} was still running at the session's wall-time deadline "
                    "and was abandoned; its result is not used",
                )
        except Exception as error:
            # A crash inside a tool is reported to the model like any other failure (and
            # counts against the retry budget) instead of ending the session with a traceback.
            logger.exception("tool %s failed", call.name)
            output = ErrorResult(
                type="internal_error",
                error=f"{call.name} failed unexpectedly: {type(error).__name__}: {error}",
            )
        if self.progress:
            self.progress(ToolEnded(call.name, call.id, output))
        return ToolRun(
            ToolResult(call.id, call.name, tool.read(output), failed(output)),
            output,
            time.perf_counter() - started,
            arguments,
        )

    def _engine_progress(self, call: ToolCall, label: str) -> Callable[[str, int, int], None]:
        progress = self.progress
        assert progress is not None

        def forward(stage: str, done: int, total: int) -> None:
            progress(ToolProgress(call.name, call.id, label, stage, done, total))

        return forward


async def _within(
    work: Coroutine[Any, Any, ToolOutput], deadline: float | None
) -> ToolOutput | None:
    """The handler's result, or None when it is still running past the deadline plus grace
    (the worker thread cannot be killed; its late result is dropped)."""
    task = asyncio.ensure_future(work)
    if deadline is None:
        return await task
    wait = max(deadline - time.time(), 0.0) + DEADLINE_GRACE_SECONDS
    done, _ = await asyncio.wait({task}, timeout=wait)
    if not done:
        task.cancel()
        return None
    return task.result()
