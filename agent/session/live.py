"""Sessions that run in the background of a long-lived process (the UI's server), so a page can
watch one, add a message to it, stop it, or reattach to it after a reload or from a second tab.

Each live session runs the ordinary loop (`runs.start_session` / `resume_session`) on its own
thread and event loop. What happens is kept as a list of `LiveEvent`s, the same shape the
Sessions page builds from a transcript (`events_from_transcript`), so a page renders a running
session and a recorded one alike. One registry per process, keyed by session id: asking for a
session that runs already returns it, so nothing runs twice.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, assert_never

from mltrainer.agent.messages import AssistantTurn, Message, ToolResults, UserMessage
from mltrainer.agent.providers.base import Provider
from mltrainer.agent.providers.direct import DirectProvider
from mltrainer.agent.providers.registry import speaks_for_a_person
from mltrainer.agent.session.loop import SessionSummary
from mltrainer.agent.session.progress import ToolEnded, ToolEvent, ToolProgress, ToolStarted
from mltrainer.agent.session.state import Budgets, SessionControl
from mltrainer.agent.session.transcript import (
    event_to_message,
    read_events,
    recorded_output,
    session_header,
)
from mltrainer.engine.results import Comparison
from mltrainer.engine.settings import Settings
from mltrainer.engine.trial import FinalResult, TrialResult
from mltrainer.tools.results import ToolOutput

logger = logging.getLogger(__name__)

STOPPED_BY_PERSON = "stopped by the user"

EventKind = Literal[
    "goal", "person", "llm", "tool_call", "tool_result", "feedback", "trial", "finalized",
    "comparison", "error", "end",
]  # fmt: skip


@dataclass(frozen=True)
class LiveEvent:
    """One thing a page shows: who said what, a tool call or its result, a trial's card."""

    kind: EventKind
    text: str = ""
    name: str | None = None
    is_error: bool = False
    # What a "trial" or "finalized" card, or a "comparison" table, shows.
    result: TrialResult | FinalResult | Comparison | None = None


def _tool_events(turn: AssistantTurn) -> list[LiveEvent]:
    return [LiveEvent("tool_call", call.arguments, call.name) for call in turn.tool_calls]


def events_from_message(message: Message, *, direct: bool, goal_seen: bool) -> list[LiveEvent]:
    """What a page shows for one message. In direct mode the assistant turns are the person's
    own words, shown once as they were typed, so they add nothing here."""
    match message:
        case UserMessage(text=text):
            return [LiveEvent("feedback" if goal_seen else "goal", text)]
        case AssistantTurn(text=text):
            if direct:
                return []
            said = [LiveEvent("llm", text)] if text.strip() else []
            return said + _tool_events(message)
        case ToolResults(results=results):
            return [
                LiveEvent("tool_result", r.content, r.name, is_error=r.is_error) for r in results
            ]
    return []


def events_from_output(output: ToolOutput) -> list[LiveEvent]:
    """A trial's card, a holdout score or a comparison's table, from a tool's result."""
    match output:
        case TrialResult():
            return [LiveEvent("trial", result=output)]
        case FinalResult():
            return [LiveEvent("finalized", result=output)]
        case Comparison():
            return [LiveEvent("comparison", result=output)]
        case _:
            return []


def events_from_transcript(records: Iterable[dict[str, Any]]) -> list[LiveEvent]:
    """A recorded session as a page shows it (the same events a live one produces)."""
    events: list[LiveEvent] = []
    direct = False
    goal_seen = False
    person_turns = 0
    for record in records:
        message = event_to_message(record)
        match record.get("event"):
            case "session_start":
                direct = speaks_for_a_person(str(record.get("provider")))
            case "user" if record.get("source") == "person":
                events.append(LiveEvent("person", str(record.get("text", ""))))
            case "assistant" if direct and isinstance(message, AssistantTurn):
                # The person's words; the first repeats the goal, shown already.
                if person_turns:
                    events.append(LiveEvent("person", message.text))
                person_turns += 1
            case "user" | "assistant" | "tool_results" if message is not None:
                events += events_from_message(message, direct=direct, goal_seen=goal_seen)
                goal_seen = goal_seen or isinstance(message, UserMessage)
            case "tool_run":
                events += events_from_output(recorded_output(record))
            case "session_end":
                events.append(LiveEvent("end", _end_text(record)))
    return events


def _end_text(end: dict[str, Any]) -> str:
    return ended_text(
        str(end.get("reason")),
        int(end.get("turns", 0)),
        int(end.get("tool_calls", 0)),
        len(end.get("trials") or []),
        end.get("conclusion"),
    )


def ended_text(
    reason: str, turns: int, tool_calls: int, trials: int, conclusion: str | None
) -> str:
    """The line that closes a session, live or recorded."""
    text = f"Session ended: {reason} after {turns} turns, {tool_calls} tool calls, {trials} trials"
    return text + (f". Conclusion: {conclusion}" if conclusion else "")


@dataclass
class LiveSession:
    """A session running on a thread of this process; pages read `events` and call `send`/`stop`."""

    session_id: str
    transcript: Path
    goal: str
    provider_name: str
    direct: bool
    control: SessionControl = field(default_factory=SessionControl)
    summary: SessionSummary | None = None
    failure: str | None = None
    progress: dict[str, str] = field(default_factory=dict)
    _events: list[LiveEvent] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None
    _provider: DirectProvider | None = None
    _goal_seen: bool = False
    _echoes: list[str] = field(default_factory=list)

    # -- what pages call ------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def events(self) -> list[LiveEvent]:
        with self._lock:
            return list(self._events)

    def doing(self) -> list[str]:
        """What runs now, a line per tool: "training lightgbm on SPX: walk-forward fold 2 of 5"."""
        with self._lock:
            return list(self.progress.values())

    def send(self, text: str) -> None:
        """The person's message: in direct mode the next turn, otherwise the next user turn
        (taken at the next turn boundary). Shown at once."""
        text = text.strip()
        if not text or not self.running:
            return
        with self._lock:
            self._events.append(LiveEvent("person", text))
            if not self.direct:
                self._echoes.append(text)
        if self._provider is not None:
            self._provider.say(text)
        else:
            self.control.inbox.append(text)

    def stop(self) -> None:
        """End at the next turn boundary (a running tool finishes first), with the summary."""
        self.control.stop_reason = STOPPED_BY_PERSON
        if self._provider is not None:
            self._provider.leave(STOPPED_BY_PERSON)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the session ends; True when it has."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    # -- hooks the loop calls (on the session's thread and its tool threads) --------------
    def _add(self, *events: LiveEvent) -> None:
        with self._lock:
            self._events.extend(events)

    def on_message(self, message: Message) -> None:
        if isinstance(message, UserMessage) and self._echoes and message.text == self._echoes[0]:
            # The person's message, already shown when it was sent.
            with self._lock:
                self._echoes.pop(0)
            return
        events = events_from_message(message, direct=self.direct, goal_seen=self._goal_seen)
        self._goal_seen = self._goal_seen or isinstance(message, UserMessage)
        self._add(*events)

    def on_progress(self, event: ToolEvent) -> None:
        """What runs now, by tool (calls of one turn run in parallel), and each result."""
        with self._lock:
            match event:
                case ToolStarted():
                    self.progress[event.name] = event.label
                case ToolProgress():
                    self.progress[event.name] = f"{event.label}: {event.text()}"
                case ToolEnded():
                    self.progress.pop(event.name, None)
                    self._events.extend(events_from_output(event.output))
                case _:
                    assert_never(event)

    def _run(self, session: Callable[[], Coroutine[Any, Any, SessionSummary]]) -> None:
        try:
            self.summary = asyncio.run(session())
        except Exception as error:
            # The loop itself ends every expected failure with a summary; anything reaching
            # here is a bug or a broken data home, and the page must say so, not hang.
            logger.exception("live session %s failed", self.session_id)
            self.failure = f"{type(error).__name__}: {error}"
            self._add(LiveEvent("error", f"The session failed: {self.failure}", is_error=True))
        finally:
            with self._lock:
                self.progress.clear()
            if self._provider is not None:
                self._provider.leave(STOPPED_BY_PERSON)
            if self.summary is not None:
                self._add(LiveEvent("end", _summary_text(self.summary)))


def _summary_text(summary: SessionSummary) -> str:
    return ended_text(
        summary.reason,
        summary.turns,
        summary.tool_calls,
        len(summary.trials),
        summary.conclusion,
    )


_registry: dict[str, LiveSession] = {}
_registry_lock = threading.Lock()


def get_session(session_id: str) -> LiveSession | None:
    with _registry_lock:
        return _registry.get(session_id)


def running_sessions() -> list[LiveSession]:
    """Sessions running in this process, newest first."""
    with _registry_lock:
        live = [s for s in _registry.values() if s.running]
    return sorted(live, key=lambda s: s.session_id, reverse=True)


def start_live(
    goal: str,
    *,
    settings: Settings,
    provider: Provider | None = None,
    budgets: Budgets | None = None,
    provider_options: dict[str, Any] | None = None,
) -> LiveSession:
    """Start a session in the background. `provider=None` is direct mode: `goal` is the
    person's first instruction, and every later message is read by the bridge the same way."""
    from mltrainer.agent.session.runs import new_session_id, start_session

    session_id = new_session_id()
    llm = provider or DirectProvider()
    live = LiveSession(
        session_id=session_id,
        transcript=settings.transcripts_dir / f"{session_id}.jsonl",
        goal=goal,
        provider_name=llm.name,
        direct=llm.speaks_for_a_person,
    )
    if isinstance(llm, DirectProvider):
        live._provider = llm
        llm.say(goal)
    _launch(
        live,
        lambda: start_session(
            llm,
            goal,
            settings=settings,
            budgets=budgets,
            transcript_path=live.transcript,
            progress=live.on_progress,
            provider_options=provider_options,
            on_message=live.on_message,
            control=live.control,
            session_id=session_id,
        ),
    )
    return live


def resume_live(path: Path, *, settings: Settings) -> LiveSession:
    """Continue a killed session in the background; the one already running here if it is."""
    from mltrainer.agent.session.runs import resume_session

    records = read_events(path)
    header = session_header(records)
    with _registry_lock:
        existing = _registry.get(str(header["session_id"]))
    if existing is not None and existing.running:
        return existing
    direct = speaks_for_a_person(str(header.get("provider")))
    live = LiveSession(
        session_id=str(header["session_id"]),
        transcript=path,
        goal=str(header.get("goal", "")),
        provider_name=str(header.get("provider", "")),
        direct=direct,
        _events=events_from_transcript(records),
        _goal_seen=True,
    )
    provider = DirectProvider() if direct else None
    live._provider = provider
    _launch(
        live,
        lambda: resume_session(
            path,
            settings=settings,
            progress=live.on_progress,
            on_message=live.on_message,
            control=live.control,
            provider=provider,
        ),
    )
    return live


def _launch(live: LiveSession, session: Callable[[], Coroutine[Any, Any, SessionSummary]]) -> None:
    with _registry_lock:
        existing = _registry.get(live.session_id)
        if existing is not None and existing.running:
            raise RuntimeError(f"session {live.session_id} is already running")
        _registry[live.session_id] = live
        live._thread = threading.Thread(
            target=live._run, args=(session,), name=f"session-{live.session_id}", daemon=True
        )
        live._thread.start()
