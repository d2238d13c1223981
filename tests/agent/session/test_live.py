"""Background sessions (`agent/live.py`): direct mode trains from a person's words, a message
sent mid-session becomes the next user turn, Stop ends a session with its summary, and asking
for a running session again returns it instead of running it twice."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mltrainer.agent.messages import AssistantTurn, ToolCall
from mltrainer.agent.providers import ScriptedProvider
from mltrainer.agent.session.live import (
    STOPPED_BY_PERSON,
    LiveEvent,
    LiveSession,
    events_from_transcript,
    get_session,
    resume_live,
    running_sessions,
    start_live,
)
from mltrainer.agent.session.progress import ToolEnded, ToolProgress, ToolStarted
from mltrainer.agent.session.transcript import read_events, recorded_output
from mltrainer.engine.settings import load_settings
from mltrainer.engine.trial import TrialResult
from mltrainer.tools.research import TrainModel

FIRST = "Train a naive bayes model on SPX using the last 1500 days."
LEGACY_DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "transcripts_v1" / "demo.jsonl"
TRAIN = '{"symbol": "SPX", "model": "naive_bayes", "days": 1500, "save_model": false}'


def wait_for(live: LiveSession, test: Callable[[list[LiveEvent]], bool], seconds: float = 60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if test(live.events()):
            return live.events()
        time.sleep(0.05)
    raise AssertionError(f"timed out; events: {[e.kind for e in live.events()]}")


def trials(events: list[LiveEvent]) -> list[LiveEvent]:
    return [e for e in events if e.kind == "trial"]


def training_turn(number: int) -> AssistantTurn:
    return AssistantTurn(
        f"Trial attempt {number}.",
        (ToolCall(f"call_{number}", "train_model", TRAIN),),
        stop_reason="tool_use",
    )


def test_direct_mode_trains_from_the_persons_words_and_builds_on_them():
    live = start_live(FIRST, settings=load_settings())
    try:
        first = wait_for(live, lambda e: len(trials(e)) == 1)
        live.send("Switch to logistic regression.")
        events = wait_for(live, lambda e: len(trials(e)) == 2)
    finally:
        live.stop()
        assert live.wait(30)

    assert first[0] == LiveEvent("goal", FIRST)
    cards = [e.result for e in trials(events) if isinstance(e.result, TrialResult)]
    assert [(c.model, c.symbol) for c in cards] == [
        ("naive_bayes", "SPX"),
        ("logistic_regression", "SPX"),
    ]
    assert LiveEvent("person", "Switch to logistic regression.") in events
    feedback = [e.text for e in events if e.kind == "feedback"]
    assert feedback[0].startswith("(Read from your text:")
    assert live.summary is not None
    assert live.summary.reason == STOPPED_BY_PERSON
    assert [t.model for t in live.summary.trials] == ["naive_bayes", "logistic_regression"]
    assert live.events()[-1].kind == "end"
    assert read_events(live.transcript)[-1]["reason"] == STOPPED_BY_PERSON


def test_stop_ends_a_scripted_session_at_the_next_turn_with_its_summary():
    script = [training_turn(n) for n in range(1, 21)]
    live = start_live(
        "Train twenty times.", settings=load_settings(), provider=ScriptedProvider(script)
    )
    wait_for(live, lambda e: len(trials(e)) >= 1)

    live.stop()

    assert live.wait(60)
    assert live.summary is not None
    assert live.summary.reason == STOPPED_BY_PERSON
    assert 1 <= len(live.summary.trials) < 20
    assert live.events()[-1].kind == "end"
    assert live.events()[-1].text.startswith(f"Session ended: {STOPPED_BY_PERSON} after ")


def test_a_message_sent_while_an_llm_session_runs_is_its_next_user_turn():
    script = [training_turn(n) for n in range(1, 6)]
    live = start_live(
        "Train a few times.", settings=load_settings(), provider=ScriptedProvider(script)
    )
    wait_for(live, lambda e: len(trials(e)) >= 1)
    live.send("Please also try IXIC.")
    assert live.wait(120)

    records = read_events(live.transcript)
    person = [r for r in records if r["event"] == "user" and r.get("source") == "person"]
    assert [r["text"] for r in person] == ["Please also try IXIC."]
    shown = [e for e in live.events() if e.kind == "person"]
    assert shown == [LiveEvent("person", "Please also try IXIC.")]
    # The page renders the recorded session as it rendered the live one; only the person's
    # message moves (shown when sent live, where the loop took it in the recording).
    recorded = events_from_transcript(records)
    assert [e for e in recorded if e.kind != "person"] == [
        e for e in live.events() if e.kind != "person"
    ]
    assert [e for e in recorded if e.kind == "person"] == shown


def test_a_running_session_is_found_again_and_never_started_twice():
    live = start_live(FIRST, settings=load_settings())
    try:
        wait_for(live, lambda e: len(trials(e)) == 1)

        assert get_session(live.session_id) is live
        assert live in running_sessions()
        assert resume_live(live.transcript, settings=load_settings()) is live
    finally:
        live.stop()
        assert live.wait(30)
    assert live not in running_sessions()


def test_a_killed_direct_session_resumes_with_its_history(tmp_path: Path):
    live = start_live(FIRST, settings=load_settings())
    wait_for(live, lambda e: len(trials(e)) == 1)
    live.stop()
    assert live.wait(30)
    # A kill leaves no session_end: cut it off the transcript.
    lines = live.transcript.read_text(encoding="utf-8").splitlines(keepends=True)
    live.transcript.write_text("".join(lines[:-1]), encoding="utf-8")

    again = resume_live(live.transcript, settings=load_settings())
    try:
        assert again is not live
        assert len(trials(again.events())) == 1
        again.send("Switch to logistic regression.")
        events = wait_for(again, lambda e: len(trials(e)) == 2)
    finally:
        again.stop()
        assert again.wait(30)
    last = trials(events)[-1].result
    assert isinstance(last, TrialResult)
    assert last.model == "logistic_regression"
    assert again.summary is not None
    assert len(again.summary.trials) == 2


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_messages_are_not_sent(text: str):
    live = start_live(FIRST, settings=load_settings())
    try:
        live.send(text)
        wait_for(live, lambda e: len(trials(e)) == 1)
    finally:
        live.stop()
        assert live.wait(30)
    assert [e for e in live.events() if e.kind == "person"] == []


def test_what_runs_now_is_shown_fold_by_fold_and_cleared_when_the_tool_ends(tmp_path: Path):
    live = LiveSession("s", tmp_path / "s.jsonl", "goal", "direct", direct=True)
    arguments = TrainModel(symbol="SPX", model="naive_bayes")
    label = "training naive_bayes on SPX"
    (trained,) = [
        recorded_output(e)
        for e in read_events(LEGACY_DEMO)
        if e["event"] == "tool_run" and e["call_id"] == "call_2"
    ]

    live.on_progress(ToolStarted("train_model", "c1", arguments, label))
    started = live.doing()
    live.on_progress(ToolProgress("train_model", "c1", label, "walk-forward fold", 3, 5))
    folding = live.doing()
    live.on_progress(ToolProgress("train_model", "c1", label, "final fit", 1, 1))
    fitting = live.doing()
    live.on_progress(ToolEnded("train_model", "c1", trained))

    assert started == ["training naive_bayes on SPX"]
    assert folding == ["training naive_bayes on SPX: walk-forward fold 3 of 5"]
    assert fitting == ["training naive_bayes on SPX: final fit"]
    assert live.doing() == []
    assert live.events() == [LiveEvent("trial", result=trained)]
