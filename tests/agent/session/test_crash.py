"""Crash test: real `mltrainer run` processes killed with SIGKILL (kill -9), then resumed.

One session is killed at 20 random moments in a row (each resume is itself killed, until the
20th), and fresh sessions are killed at the moments the issue names: right after a trial's
ledger row commits (before its `tool_run` line), after its model file is staged, after it is
moved into place, between the `finish` result and `session_end`, between a turn's results and
the next model call, and in the middle of a turn's parallel calls. After resuming, every
session finishes, no trial is in the ledger twice, and no model file is left that no trial
points to.

The named kills come from a harness that wraps the functions where those moments are (the
ledger's `record`, the service's staging and commit, the transcript's `write`) and sends the
process SIGKILL there: the product carries no test hooks.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

SCRIPT = """\
- text: "Which data is there?"
  tool_calls:
    - {name: list_symbols, arguments: {source: sample}}
- text: "Two models in parallel."
  tool_calls:
    - {name: train_model, arguments: {symbol: SPX, model: logistic_regression, days: 1500}}
    - {name: train_model, arguments: {symbol: SPX, model: naive_bayes, days: 1500}}
- "Train a decision tree on IXIC with an 80/20 split."
- tool_calls:
    - name: train_model
      arguments: {symbol: MSFT, model: lightgbm, days: 1500, params: {n_estimators: 30}}
    - {name: train_model, arguments: {symbol: MSFT, model: knn, days: 1500}}
- tool_calls:
    - {name: train_model, arguments: {symbol: IXIC, model: logistic_regression, days: 1200}}
- tool_calls:
    - {name: compare_trials, arguments: {}}
- tool_calls:
    - name: train_model
      arguments:
        {symbol: SPX, model: random_forest, days: 1500, params: {n_estimators: 40, max_depth: 4}}
    - {name: train_model, arguments: {symbol: MSFT, model: naive_bayes, days: 2000}}
- tool_calls:
    - {name: finish, arguments: {conclusion: "Nothing beats the baseline.", best_trial: 1}}
"""
TRIALS_PER_SESSION = 8

# Wraps where the named moments are and kills the process there, the Nth time it passes.
HARNESS = """\
import os, signal, sys

import time

moment, _, nth = os.environ.get("CRASH_AT", "").partition(":")
nth = int(nth or 1)
pause = os.environ.get("PAUSE_AT", "")
seen = {"count": 0}


def passing(name):
    if name == pause:
        time.sleep(20)  # long enough for another process to try the same transcript
    if name != moment:
        return
    seen["count"] += 1
    if seen["count"] == nth:
        os.kill(os.getpid(), signal.SIGKILL)


def after(owner, attribute, name):
    original = getattr(owner, attribute)

    def wrapped(*args, **kwargs):
        result = original(*args, **kwargs)
        passing(name)
        return result

    setattr(owner, attribute, wrapped)


from mltrainer.agent.session import transcript
from mltrainer.engine import ledger, service

after(ledger.Ledger, "record", "after_ledger_commit")
after(service, "stage_model", "after_stage")
after(service, "commit_staged", "after_model_commit")
write = transcript.Transcript.write


def write_and_maybe_die(self, event):
    if event.get("event") == "session_end":
        passing("before_session_end")
    write(self, event)
    passing("after_" + str(event.get("event")))
    if event.get("event") == "tool_run" and event.get("name") == "finish":
        passing("after_finish_run")


transcript.Transcript.write = write_and_maybe_die

from mltrainer.agent.cli.app import main

sys.argv = ["mltrainer", *sys.argv[1:]]
main()
"""

NAMED_MOMENTS = [
    "after_ledger_commit:1",  # a trial committed, its tool_run not yet written
    "after_ledger_commit:3",  # the free-text trial
    "after_stage:2",  # a model file staged, its ledger row not yet committed
    "after_model_commit:4",  # a model file moved into place, its tool_run not yet written
    "after_tool_run:2",  # one of two parallel calls recorded, the other still running
    "after_tool_results:3",  # a turn answered, the next model call not yet made
    "after_finish_run",  # finish ran, session_end not written
    "before_session_end",
]


class Home:
    """One data home, and the `mltrainer` processes run against it."""

    def __init__(self, root: Path, harness: Path, script: Path) -> None:
        self.root = root
        self.harness = harness
        self.script = script

    def start(
        self, *arguments: str, crash_at: str | None = None, pause_at: str | None = None
    ) -> subprocess.Popen[str]:
        env = {**os.environ, "MLTRAINER_HOME": str(self.root)}
        command = [str(Path(sys.executable).parent / "mltrainer"), *arguments]
        if crash_at is not None or pause_at is not None:
            env["CRASH_AT"] = crash_at or ""
            env["PAUSE_AT"] = pause_at or ""
            command = [sys.executable, str(self.harness), *arguments]
        return subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def run(self, transcript: Path, crash_at: str | None = None) -> subprocess.Popen[str]:
        return self.start(
            "run", "--goal", "Is anything predictable?", "--provider", "scripted",
            "--script", str(self.script), "--transcript", str(transcript), crash_at=crash_at,
        )  # fmt: skip

    def resume(self, transcript: Path, pause_at: str | None = None) -> subprocess.Popen[str]:
        return self.start("resume", str(transcript), pause_at=pause_at)


def events(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return [json.loads(line) for line in text.splitlines() if line.endswith("}")]


def ended(path: Path) -> str | None:
    last = events(path)[-1:] if path.exists() else []
    return last[0]["reason"] if last and last[0]["event"] == "session_end" else None


def resume_until_finished(home: Home, transcript: Path, attempts: int = 3) -> None:
    for _ in range(attempts):
        if ended(transcript):
            break
        process = home.resume(transcript)
        _, stderr = process.communicate(timeout=300)
        assert "Traceback" not in stderr, stderr
    assert ended(transcript) == "finished", events(transcript)[-3:]


def assert_nothing_lost_or_doubled(home: Path, transcript: Path) -> None:
    """Every trial of the session once in the ledger and in the transcript, and every model
    file on disk is one a trial points to (and the other way round)."""
    session = events(transcript)[0]["session_id"]
    with sqlite3.connect(home / "mltrainer.db") as db:
        rows = db.execute(
            "SELECT call_id, model_path FROM trials WHERE session = ?", (session,)
        ).fetchall()
        every_path = {p for (p,) in db.execute("SELECT model_path FROM trials") if p}
    call_ids = [call_id for call_id, _ in rows]
    assert len(call_ids) == len(set(call_ids)), f"duplicate trials: {sorted(call_ids)}"
    assert len(rows) == TRIALS_PER_SESSION
    recorded = [
        e for e in events(transcript) if e["event"] == "tool_run" and e["name"] == "train_model"
    ]
    assert {e["call_id"] for e in recorded if e["payload"].get("status") == "success"} == set(
        call_ids
    )
    on_disk = {str(p) for p in (home / "models").iterdir()}
    assert on_disk == every_path, (
        f"orphans: {on_disk - every_path}, missing: {every_path - on_disk}"
    )


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    """A private folder: pytest prunes old `tmp_path` roots when other pytest runs of the same
    user start, and these tests run for minutes."""
    with tempfile.TemporaryDirectory(prefix="mltrainer-crash-") as folder:
        yield Path(folder)


@pytest.fixture
def home(tmp_path: Path) -> Home:
    script = tmp_path / "script.yaml"
    script.write_text(SCRIPT, encoding="utf-8")
    harness = tmp_path / "crash_harness.py"
    harness.write_text(HARNESS, encoding="utf-8")
    return Home(tmp_path / "home", harness, script)


def _sigkill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)


def test_twenty_random_kills_lose_and_double_nothing(home: Home, tmp_path: Path) -> None:
    """SIGKILL at 20 random moments: each resume is killed in turn, and when a session
    finishes between kills the next one is started and killed."""
    rng = random.Random(8)
    transcripts = [tmp_path / "random-1.jsonl"]
    process = home.run(transcripts[-1])
    kills = 0
    while kills < 20:
        written = len(events(transcripts[-1]))
        while process.poll() is None and len(events(transcripts[-1])) == written:
            time.sleep(0.02)  # the process is up and writing (its header or "resumed")
        time.sleep(rng.uniform(0.0, 10.0))
        if process.poll() is None:
            _sigkill(process)
            kills += 1
        else:  # it ended on its own: only by finishing the session
            _, stderr = process.communicate(timeout=60)
            assert process.returncode == 0 and ended(transcripts[-1]) == "finished", stderr
        if ended(transcripts[-1]):
            transcripts.append(tmp_path / f"random-{len(transcripts) + 1}.jsonl")
            process = home.run(transcripts[-1])
        else:
            process = home.resume(transcripts[-1])
    process.communicate(timeout=300)

    for transcript in transcripts:
        resume_until_finished(home, transcript)
        assert_nothing_lost_or_doubled(home.root, transcript)
    landed = [where_killed(t) for t in transcripts]
    print(f"{kills} kills over {len(transcripts)} sessions, after: {landed}")


def where_killed(transcript: Path) -> list[str]:
    """The last event written before each kill (the event before each "resumed")."""
    names = [e["event"] for e in events(transcript)]
    return [names[i - 1] for i, name in enumerate(names) if name == "resumed"]


@pytest.mark.parametrize("moment", NAMED_MOMENTS)
def test_a_kill_at_a_named_moment_loses_and_doubles_nothing(
    home: Home, tmp_path: Path, moment: str
) -> None:
    transcript = tmp_path / "named.jsonl"
    process = home.run(transcript, crash_at=moment)
    process.communicate(timeout=300)

    assert process.returncode == -signal.SIGKILL, "the harness did not reach " + moment
    resume_until_finished(home, transcript)
    assert_nothing_lost_or_doubled(home.root, transcript)


def test_a_second_resume_of_a_running_session_is_refused(home: Home, tmp_path: Path) -> None:
    transcript = tmp_path / "locked.jsonl"
    process = home.run(transcript, crash_at="after_tool_results:1")
    process.communicate(timeout=300)
    first = home.resume(transcript, pause_at="after_resumed")
    while not any(e["event"] == "resumed" for e in events(transcript)):
        time.sleep(0.02)

    second = home.resume(transcript)
    _, stderr = second.communicate(timeout=120)
    first.communicate(timeout=300)

    assert second.returncode == 1
    assert "is in use: another mltrainer process is writing to it" in stderr
    assert ended(transcript) == "finished"
    assert_nothing_lost_or_doubled(home.root, transcript)
