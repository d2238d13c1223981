"""Every session in the data home, from its transcript: goal, provider, how it ended (or that it
did not), its trials and conclusion. What the UI's Sessions page lists."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mltrainer.agent.providers.registry import speaks_for_a_person
from mltrainer.agent.session.live import get_session
from mltrainer.agent.session.transcript import TranscriptError, read_events, recorded_output
from mltrainer.engine.trial import TrialResult


@dataclass(frozen=True)
class SessionInfo:
    session_id: str
    path: Path
    goal: str
    provider: str
    model: str
    started: str
    status: str
    trials: int
    conclusion: str | None
    resumable: bool
    replay_of: str | None = None
    kind: str = "session"  # what made it: see `kind_of`


def kind_of(header: dict[str, object]) -> str:
    """What made a transcript, as the Sessions page labels it: "replay of SESSION", "train"
    (`mltrainer train`), "MCP" (a host's calls), "direct" (a person's words), or "agent" (the
    loop with an LLM or a stand-in for one: scripted, replayed, a function)."""
    if header.get("replay_of"):
        return f"replay of {Path(str(header['replay_of'])).stem}"
    match header.get("kind"):
        case "train":
            return "train"
        case "mcp":
            return "MCP"
        case None:
            return "direct" if speaks_for_a_person(str(header.get("provider"))) else "agent"
        case other:
            return str(other)


def _status(ended: dict[str, object] | None, running_here: bool) -> tuple[str, bool]:
    if running_here:
        return "running", False
    if ended is not None:
        return f"ended: {ended.get('reason')}", bool(ended.get("resumable"))
    return "not ended (killed, or running in another process)", True


def session_info(path: Path) -> SessionInfo | None:
    """None for a file that is not a readable transcript (it is skipped, not fatal)."""
    try:
        records = read_events(path)
    except TranscriptError:
        return None
    header = next((r for r in records if r.get("event") == "session_start"), None)
    if header is None:
        return None
    session_id = str(header.get("session_id", path.stem))
    ended = next((r for r in reversed(records) if r.get("event") == "session_end"), None)
    live = get_session(session_id)
    status, resumable = _status(ended, live is not None and live.running)
    try:
        outputs = [recorded_output(r) for r in records if r.get("event") == "tool_run"]
    except TranscriptError:
        return None
    trials = sum(isinstance(output, TrialResult) for output in outputs)
    replay_of = header.get("replay_of")
    # Only a loop's session continues: not a replay, nor calls someone else made.
    resumable = resumable and replay_of is None and header.get("kind") is None
    return SessionInfo(
        session_id=session_id,
        path=path,
        goal=str(header.get("goal", "")),
        provider=str(header.get("provider", "")),
        model=str(header.get("model", "")),
        started=str(header.get("ts", ""))[:19].replace("T", " "),
        status=status,
        trials=trials,
        conclusion=str(ended["conclusion"]) if ended and ended.get("conclusion") else None,
        resumable=resumable,
        replay_of=str(replay_of) if replay_of else None,
        kind=kind_of(header),
    )


def list_sessions(folder: Path) -> list[SessionInfo]:
    """Newest first."""
    if not folder.is_dir():
        return []
    infos = [session_info(path) for path in folder.glob("*.jsonl")]
    return sorted((i for i in infos if i is not None), key=lambda i: i.started, reverse=True)
