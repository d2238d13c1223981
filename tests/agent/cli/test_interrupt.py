"""Ctrl-C on a real `mltrainer run` process: the first stops it cleanly (the running trial
finishes and is recorded, the summary and the resume command print), `resume` then finishes
the session without training anything twice; a second Ctrl-C quits at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mltrainer.engine.ledger import Ledger

pytestmark = pytest.mark.slow

SCRIPT = """\
- tool_calls:
    - name: train_model
      arguments: {symbol: MSFT, model: random_forest, params: {n_estimators: 200, max_depth: 8}}
- tool_calls:
    - name: finish
      arguments: {conclusion: "One forest, no edge."}
"""


def mltrainer(*arguments: str, home: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "MLTRAINER_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "mltrainer"), *arguments],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_event(path: Path, event: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and f'"event": "{event}"' in path.read_text(encoding="utf-8"):
            return
        time.sleep(0.05)
    raise AssertionError(f"no {event} event in {path} after {timeout} s")


def events(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    """A private folder: pytest prunes old `tmp_path` roots when other pytest runs of the same
    user start, and these tests run for a minute."""
    with tempfile.TemporaryDirectory(prefix="mltrainer-interrupt-") as folder:
        yield Path(folder)


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "script.yaml"
    path.write_text(SCRIPT, encoding="utf-8")
    return path


def test_ctrl_c_stops_cleanly_and_resume_finishes(tmp_path: Path, script: Path) -> None:
    home = tmp_path / "home"
    transcript = tmp_path / "s.jsonl"
    process = mltrainer(
        "run", "--goal", "g", "--provider", "scripted", "--script", str(script),
        "--transcript", str(transcript), home=home,
    )  # fmt: skip
    wait_for_event(transcript, "assistant")
    time.sleep(0.5)  # the trial is running now

    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)

    assert process.returncode == 1, stderr
    assert "Traceback" not in stderr
    assert "Stopping: running tools finish and are recorded" in stderr
    assert "Session ended: interrupted (Ctrl-C)" in stdout
    assert f"Resume with: mltrainer resume {transcript}" in stdout
    recorded = events(transcript)
    run = next(e for e in recorded if e["event"] == "tool_run")
    assert run["payload"]["status"] == "success"  # finished after the signal, recorded
    assert (recorded[-1]["event"], recorded[-1]["resumable"]) == ("session_end", True)
    assert Ledger(home / "mltrainer.db").count() == 1

    resumed = mltrainer("resume", str(transcript), home=home)
    stdout, stderr = resumed.communicate(timeout=120)

    assert resumed.returncode == 0, stderr
    assert "Session ended: finished" in stdout
    assert Ledger(home / "mltrainer.db").count() == 1
    assert events(transcript)[-1]["reason"] == "finished"


def test_a_second_ctrl_c_quits_at_once(tmp_path: Path, script: Path) -> None:
    home = tmp_path / "home"
    transcript = tmp_path / "s.jsonl"
    process = mltrainer(
        "run", "--goal", "g", "--provider", "scripted", "--script", str(script),
        "--transcript", str(transcript), home=home,
    )  # fmt: skip
    wait_for_event(transcript, "assistant")
    time.sleep(0.5)

    process.send_signal(signal.SIGINT)
    time.sleep(0.3)
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)

    assert process.returncode == 130
    assert time.monotonic() - started < 5
    assert "Quitting now" in stderr
    assert "Traceback" not in stderr
