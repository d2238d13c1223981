"""`--max-seconds` ends the process, whatever runs the trials: the summary prints, the
transcript ends, and the process exits within 10 s of the deadline, with the worker of a trial
that was still fitting terminated rather than waited for. The attack: with the local executor
an abandoned trial kept the CLI alive with no summary; with the process executor the summary
printed but the process and its workers kept running."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from mltrainer.agent.session.transcript import read_events

# One trial of about a minute on two cores whose second fold alone takes about 20 s; each
# deadline falls inside that fold (worker processes and a Dask cluster start a few seconds
# later), a fit that cannot stop by itself.
MAX_SECONDS = {"local": 12, "process": 18, "dask": 22}
SLOW_TRIAL = {
    "symbol": "MSFT",
    "model": "random_forest",
    "params": {"n_estimators": 400, "max_depth": 64, "min_samples_leaf": 1, "max_features": 1.0},
    "folds": 2,
    "save_model": False,
}


def descendants(pid: int) -> set[int]:
    """Every living process below `pid`, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["local", "process", "dask"])
def test_the_deadline_ends_the_process_with_its_summary(tmp_path: Path, executor: str) -> None:
    pytest.importorskip("distributed") if executor == "dask" else None
    script = tmp_path / "turns.json"
    script.write_text(
        json.dumps(
            [
                {"tool_calls": [{"name": "train_model", "arguments": SLOW_TRIAL}]},
                {"tool_calls": [{"name": "finish", "arguments": {"conclusion": "done"}}]},
            ]
        )
    )
    transcript = tmp_path / "s.jsonl"
    command = [str(Path(sys.executable).with_name("mltrainer")), "run", "--goal", "g"]
    command += ["--provider", "scripted", "--script", str(script), "--executor", executor]
    limit = MAX_SECONDS[executor]
    command += ["--max-seconds", str(limit), "--transcript", str(transcript)]
    env = {**os.environ, "MLTRAINER_WORKERS": "2"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    workers: set[int] = set()
    while process.poll() is None:
        workers |= descendants(process.pid)
        time.sleep(0.2)
        assert len(workers) < 50
    ended = time.time()
    out = process.stdout.read().decode() if process.stdout else ""
    err = process.stderr.read().decode() if process.stderr else ""

    events = read_events(transcript)
    started = datetime.fromisoformat(events[0]["ts"]).timestamp()
    assert "Session ended: wall-time budget reached" in out, out + err
    assert events[-1]["event"] == "session_end"
    assert ended - started < limit + 10, f"exited {ended - started:.1f} s after the start"
    payload = next(e for e in events if e["event"] == "tool_run")["payload"]
    if executor == "local":
        assert payload["type"] == "deadline", payload  # abandoned mid-fit, in this process
    else:  # abandoned mid-fit, or stopped by the worker between folds (start-up varies)
        assert payload["type"] == "deadline" or payload["error_type"] == "DeadlineError"
    if executor != "local":
        assert workers, "the trial ran in no worker process"
    time.sleep(1.0)
    assert not [pid for pid in workers if alive(pid)], "a worker outlived the command"
