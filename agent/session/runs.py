"""Starting, resuming and replaying sessions: wiring a provider, an executor and a transcript
into `SessionState`, then handing it to the loop.
"""

from __future__ import annotations

import asyncio
import gc
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mltrainer.agent.bridge import Bridge
from mltrainer.agent.messages import AssistantTurn, ToolCall, ToolResult, ToolResults
from mltrainer.agent.providers.base import Provider
from mltrainer.agent.providers.replay import ReplayProvider
from mltrainer.agent.session.dispatch import (
    DispatchReport,
    LiveExecutor,
    RunHook,
    ToolRun,
    stable_payload,
)
from mltrainer.agent.session.loop import SessionSummary, run_session
from mltrainer.agent.session.progress import ProgressHook
from mltrainer.agent.session.resume import ProviderRequest, provider_for_resume
from mltrainer.agent.session.state import (
    Budgets,
    MessageHook,
    SessionControl,
    SessionState,
    registered_tools,
)
from mltrainer.agent.session.transcript import (
    Transcript,
    TranscriptError,
    known_secrets,
    messages_from_events,
    read_events,
    session_header,
)
from mltrainer.agent.session.turn import resume_pending
from mltrainer.engine.paths import inside, safe_name
from mltrainer.engine.runner import CODE_VERSION
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import Settings
from mltrainer.tools import TOOLS_BY_NAME, Tool
from mltrainer.tools.results import PlainResult, dump


def new_session_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def _live_state(
    provider: Provider,
    *,
    session_id: str,
    transcript: Transcript,
    budgets: Budgets,
    settings: Settings,
    progress: ProgressHook | None,
    data: Mapping[str, Any] | None = None,
    recorded: Mapping[str, ToolRun] | None = None,
    interrupt: asyncio.Event | None = None,
    on_message: MessageHook | None = None,
    control: SessionControl | None = None,
    tools: Sequence[Tool] | None = None,
) -> SessionState:
    tool_set = tuple(tools) if tools is not None else registered_tools()
    bridge = Bridge()
    service = ResearchService(settings, session=session_id, data=data)
    return SessionState(
        provider=provider,
        executor=LiveExecutor(
            service,
            progress=progress,
            tools={tool.name: tool for tool in tool_set},
            deadline=time.time() + budgets.max_seconds,
            recorded=recorded,
        ),
        tools=tool_set,
        transcript=transcript,
        budgets=budgets,
        bridge=bridge,
        interrupt=interrupt or asyncio.Event(),
        on_message=on_message,
        control=control or SessionControl(),
    )


async def start_session(
    provider: Provider,
    goal: str,
    *,
    settings: Settings,
    budgets: Budgets | None = None,
    transcript_path: Path | None = None,
    progress: ProgressHook | None = None,
    provider_options: dict[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
    interrupt: asyncio.Event | None = None,
    on_message: MessageHook | None = None,
    control: SessionControl | None = None,
    session_id: str | None = None,
    tools: Sequence[Tool] | None = None,
) -> SessionSummary:
    """A new research session towards `goal`; the transcript goes under the data home.

    `data` maps symbols to bars the caller brings (a pandas OHLCV frame or a `BarSet`); the
    session's tools use them for those symbols, labelled CALLER DATA. `on_message` sees every
    message as it is added (the CLI prints the LLM's text with it); `control` lets another
    thread add a person's messages and stop the session (the UI's chat). Setting `interrupt`
    (Ctrl-C) stops the session after the running tools return, with a summary and a
    transcript that `resume_session` continues. `tools` is the session's tool set (default:
    every registered tool); the model sees exactly these.
    """
    session_id = safe_name(session_id or new_session_id(), "session id")
    path = transcript_path or inside(settings.transcripts_dir, f"{session_id}.jsonl")
    if path.is_file() and path.stat().st_size:
        raise TranscriptError(
            f"{path} already holds a transcript; choose a new path, or continue that session "
            "with `mltrainer resume`"
        )
    budgets = budgets or Budgets()
    transcript = Transcript(path, known_secrets(settings))
    try:
        state = _live_state(
            provider,
            session_id=session_id,
            transcript=transcript,
            budgets=budgets,
            settings=settings,
            progress=progress,
            data=data,
            interrupt=interrupt,
            on_message=on_message,
            control=control,
            tools=tools,
        )
        header = {
            "session_id": session_id,
            "provider": provider.name,
            "model": provider.model,
            "provider_options": provider_options or {},
            "goal": goal,
            "system": state.system,
            "tools": [tool.name for tool in state.tools],
            "budgets": asdict(budgets),
            "version": CODE_VERSION,
        }
        return await run_session(state, goal, header)
    finally:
        transcript.close()
        await provider.aclose()


async def resume_session(
    path: Path,
    *,
    settings: Settings,
    progress: ProgressHook | None = None,
    request: ProviderRequest | None = None,
    notice: Callable[[str], None] | None = None,
    interrupt: asyncio.Event | None = None,
    on_message: MessageHook | None = None,
    control: SessionControl | None = None,
    provider: Provider | None = None,
    tools: Sequence[Tool] | None = None,
) -> SessionSummary:
    """Continue a killed or interrupted session: rebuild its state from the transcript and
    keep appending. The transcript stays locked for the whole run, so a second resume of the
    same session is refused while this one runs. `request` names the provider, model and base
    URL to use (see `resume_provider`); `notice` hears where they differ from the recording.
    `provider` replaces the one the transcript names (the UI's direct mode or a custom
    provider brings its own); `tools` is the tool set (default: every registered tool), which
    must hold every tool the session was started with."""
    if not path.is_file():
        read_events(path)  # says what the path is instead (missing, a directory, ...)
    transcript = Transcript(path, known_secrets(settings))
    try:
        events = read_events(path)
        header = session_header(events)
        ends = [e for e in events if e.get("event") == "session_end"]
        if ends and not ends[-1].get("resumable"):
            raise TranscriptError(
                f"{path} already ended; start a new session with `mltrainer run` (it ended: "
                f"{ends[-1].get('reason')})"
            )
        tool_set = tuple(tools) if tools is not None else registered_tools()
        missing = sorted(set(header.get("tools") or ()) - {tool.name for tool in tool_set})
        if missing:
            raise TranscriptError(
                f"{path} was started with tools this process lacks: {', '.join(missing)}; "
                "register them (or install their plugin), or pass them with tools="
            )
        _drop_torn_tail(path)
        messages = list(messages_from_events(events))
        assistant_turns = sum(isinstance(m, AssistantTurn) for m in messages)
        notes: list[str] = []
        if provider is None:
            provider, notes = provider_for_resume(
                header, assistant_turns, request or ProviderRequest()
            )
        for note in notes:
            if notice is not None:
                notice(note)
        tool_map = {tool.name: tool for tool in tool_set}
        runs = [ToolRun.from_event(e, tool_map) for e in events if e.get("event") == "tool_run"]
        recorded = {run.result.call_id: run for run in runs}
        state = _live_state(
            provider,
            session_id=header["session_id"],
            transcript=transcript,
            budgets=Budgets(**header["budgets"]),
            settings=settings,
            progress=progress,
            recorded=recorded,
            interrupt=interrupt,
            on_message=on_message,
            control=control,
            tools=tool_set,
        )
        state.messages = messages
        state.turns = assistant_turns
        state.call_ids = {
            call.id for m in messages if isinstance(m, AssistantTurn) for call in m.tool_calls
        }
        state.tool_calls = sum(not run.refused for run in runs)
        for message in messages:
            if isinstance(message, AssistantTurn):
                state.usage = state.usage + message.usage
        # The summary's trials and the bridge's memory, rebuilt as they were: every recorded
        # tool run, in order.
        for run in runs:
            state.note_run(run)
        transcript.write({"event": "resumed", "after_turns": assistant_turns, "notes": notes})
        step = await resume_pending(state, recorded)
        return await run_session(state, None, header, first_step=step)
    finally:
        transcript.close()
        if provider is not None:
            await provider.aclose()


@contextmanager
def _recording_out_of_gc() -> Iterator[None]:
    """A recording can hold 100,000 events, all alive until the replay ends. Frozen, the
    cyclic collector stops rescanning them on every full collection (which doubled the time
    of a long replay); they hold no cycles, so reference counting still frees them after."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _drop_torn_tail(path: Path) -> None:
    """A killed writer can leave half a line; cut it so appended events start on a new line."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)


@dataclass
class RecordedExecutor:
    """Answers tool calls from the transcript; with `check`, also re-runs them and reports
    every result whose stable payload differs from the recording."""

    runs: dict[str, ToolRun]
    results: dict[str, ToolResult]
    live: LiveExecutor | None = None
    tools: Mapping[str, Tool] = field(default_factory=lambda: TOOLS_BY_NAME)
    differences: list[str] = field(default_factory=list)
    checked: int = 0

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
            live_runs = (await self.live.execute(calls, deadline=deadline)).runs
        for index, call in enumerate(calls):
            recorded = self.runs.get(call.id) or ToolRun(
                ToolResult(call.id, call.name, "", False), PlainResult(), 0.0
            )
            result = self.results.get(call.id) or recorded.result
            if live_runs:
                self.checked += 1
                before, after = dump(recorded.output), dump(live_runs[index].output)
                if stable_payload(after) != stable_payload(before):
                    self.differences.append(_difference(call, before, after))
            run = replace(recorded, result=result, recorded=False)
            report.runs.append(run)
            if on_run is not None:
                on_run(run)
            tool = self.tools.get(call.name)
            if tool is not None and tool.ends_session and not result.is_error:
                report.conclusion = run.output
        return report


def _difference(call: ToolCall, recorded: dict[str, Any], live: dict[str, Any]) -> str:
    before, after = stable_payload(recorded), stable_payload(live)
    keys = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    return f"{call.name} ({call.id}): differs in {', '.join(keys[:8]) or 'content'}"


@dataclass(frozen=True)
class ReplayReport:
    summary: SessionSummary
    checked: int
    differences: list[str]


async def replay_session(
    path: Path, *, settings: Settings, check: bool = False, progress: ProgressHook | None = None
) -> ReplayReport:
    """Re-run a recorded session offline; the provider fails loudly where it diverges."""
    events = read_events(path)
    header = session_header(events)
    provider = ReplayProvider(events)
    runs = {
        e["call_id"]: ToolRun.from_event(e, TOOLS_BY_NAME)
        for e in events
        if e.get("event") == "tool_run"
    }
    results = {
        r.call_id: r
        for m in provider.recorded_messages
        if isinstance(m, ToolResults)
        for r in m.results
    }
    session_id = new_session_id()
    bridge = Bridge()
    live = (
        LiveExecutor(ResearchService(settings, session=session_id), progress=progress)
        if check
        else None
    )
    executor = RecordedExecutor(runs=runs, results=results, live=live)
    out = settings.transcripts_dir / f"replay-{session_id}.jsonl"
    state = SessionState(
        provider=provider,
        executor=executor,
        transcript=Transcript(out, known_secrets(settings), durable=False),
        budgets=Budgets(**header["budgets"]),
        bridge=bridge,
        system=header.get("system", ""),
    )
    replay_header = {**header, "session_id": session_id, "replay_of": str(path)}
    try:
        with _recording_out_of_gc():
            summary = await run_session(state, header["goal"], replay_header)
    finally:
        state.transcript.close()
    return ReplayReport(summary=summary, checked=executor.checked, differences=executor.differences)
