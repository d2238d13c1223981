"""A replay's tool calls answered from the recording, and with `check` also re-executed live
(in a scratch data home, see `engine/scratch.py`) with every result compared to the recorded
one. A result that differs is reported with a unified diff of the two payloads, leaving out
what differs by nature from run to run (trial numbers, timings, paths, counts as of now).

The re-executed trials get the scratch ledger's numbers, so a later call that names a trial
(`finalize`, `compare_trials`, ...: fields marked `TRIAL_NUMBERS`) is translated from the
recorded number to the re-executed one before it runs.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from mltrainer.agent.messages import ToolCall, ToolResult
from mltrainer.agent.session.dispatch import (
    DispatchReport,
    LiveExecutor,
    RunHook,
    ToolRun,
    stable_payload,
)
from mltrainer.tools import TOOLS_BY_NAME, Tool
from mltrainer.tools.base import trial_number_fields
from mltrainer.tools.results import PlainResult, dump, trials_in


@dataclass(frozen=True)
class Difference:
    """One re-executed call whose result differs from the recording: the top-level fields that
    differ, and a unified diff of the two payloads (recorded first)."""

    call_id: str
    name: str
    fields: tuple[str, ...]
    diff: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.name} ({self.call_id}): differs in {', '.join(self.fields) or 'content'}"

    def as_record(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "name": self.name,
            "fields": list(self.fields),
            "diff": list(self.diff),
        }


def difference(call: ToolCall, recorded: Mapping[str, Any], live: Mapping[str, Any]) -> Difference:
    before, after = stable_payload(dict(recorded)), stable_payload(dict(live))
    fields = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    diff = difflib.unified_diff(
        _lines(before), _lines(after), "recorded", "re-executed", lineterm="", n=2
    )
    return Difference(call.id, call.name, tuple(fields), tuple(diff))


def _lines(payload: Any) -> list[str]:
    return json.dumps(payload, indent=2, sort_keys=True, default=str).splitlines()


def recorded_datasets(runs: Mapping[str, ToolRun]) -> set[str]:
    """The datasets (`source:SYMBOL:kind` keys) a recording's results name, wherever they sit
    in a payload: a trial's `dataset.key`, a holdout score's `dataset`."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            named = value.get("dataset")
            if isinstance(named, str):
                found.add(named)
            elif isinstance(named, dict) and isinstance(named.get("key"), str):
                found.add(named["key"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for run in runs.values():
        walk(dump(run.output))
    return found


@dataclass
class RecordedExecutor:
    """Answers tool calls from the transcript; with `live`, also re-runs them and collects
    every result whose stable payload differs from the recording."""

    runs: dict[str, ToolRun]
    results: dict[str, ToolResult]
    live: LiveExecutor | None = None
    tools: Mapping[str, Tool] = field(default_factory=lambda: TOOLS_BY_NAME)
    differences: list[Difference] = field(default_factory=list)
    checked: int = 0
    # recorded trial number -> the number its re-execution got
    trial_numbers: dict[int, int] = field(default_factory=dict)

    async def execute(
        self,
        calls: Sequence[ToolCall],
        *,
        deadline: float | None = None,
        on_run: RunHook | None = None,
        calls_left: int | None = None,
    ) -> DispatchReport:
        report = DispatchReport()
        live_runs: list[ToolRun] = []
        if self.live is not None:
            translated = [self.translated(call) for call in calls]
            live_runs = (await self.live.execute(translated, deadline=deadline)).runs
        for index, call in enumerate(calls):
            recorded = self.runs.get(call.id) or ToolRun(
                ToolResult(call.id, call.name, "", False), PlainResult(), 0.0
            )
            result = self.results.get(call.id) or recorded.result
            if live_runs:
                self._compare(call, recorded, live_runs[index])
            run = replace(recorded, result=result, recorded=False)
            report.runs.append(run)
            if on_run is not None:
                on_run(run)
            tool = self.tools.get(call.name)
            if tool is not None and tool.ends_session and not result.is_error:
                report.conclusion = run.output
        return report

    def _compare(self, call: ToolCall, recorded: ToolRun, live: ToolRun) -> None:
        self.checked += 1
        for before, after in zip(trials_in(recorded.output), trials_in(live.output), strict=False):
            if before.trial is not None and after.trial is not None:
                self.trial_numbers[before.trial] = after.trial
        before_payload, after_payload = dump(recorded.output), dump(live.output)
        if stable_payload(after_payload) != stable_payload(before_payload):
            self.differences.append(difference(call, before_payload, after_payload))

    def translated(self, call: ToolCall) -> ToolCall:
        """The call with the trial numbers it names as the re-executed session numbered them
        (a number no re-executed trial had stays as it is, and the check reports what then
        differs)."""
        tool = self.tools.get(call.name)
        names = trial_number_fields(tool.arguments) if tool is not None else ()
        if not names or not self.trial_numbers:
            return call
        try:
            arguments = json.loads(call.arguments)
        except json.JSONDecodeError:
            return call
        if not isinstance(arguments, dict):
            return call
        renumbered = {
            name: self._renumbered(arguments[name]) for name in names if name in arguments
        }
        if all(arguments[name] == value for name, value in renumbered.items()):
            return call
        return replace(call, arguments=json.dumps({**arguments, **renumbered}))

    def _renumbered(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self._renumbered(item) for item in value]
        if isinstance(value, int) and not isinstance(value, bool):
            return self.trial_numbers.get(value, value)
        return value
