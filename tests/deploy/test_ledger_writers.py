"""Two processes recording trials into one data home at the same moment (what two containers on
one volume do; `make image-test` runs the same script in two containers): the ledger holds every
trial of each exactly once, numbered without gaps or clashes, and stays intact; and the script's
own check, which the image test relies on, says so, or says what is wrong."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mltrainer.engine.ledger import Ledger
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import load_settings
from mltrainer.engine.trial import TrialConfig

WRITERS = Path(__file__).resolve().parents[2] / "deploy" / "container" / "ledger_writers.py"
TRIALS_EACH = 300


@pytest.fixture
def one_trial(isolated_home: Path) -> Path:
    """A data home whose ledger holds one real trial for the writers to copy."""
    settings = load_settings()
    settings.ensure_home()
    ResearchService(settings).train(
        TrialConfig.model_validate(
            {"model": "naive_bayes", "symbol": "SPX", "days": 1500, "save_model": False}
        )
    )
    return isolated_home


def writer(home: Path, name: str, start_at: float) -> subprocess.Popen[str]:
    arguments = ["--writer", name, "--trials", str(TRIALS_EACH), "--start-at", str(start_at)]
    return subprocess.Popen(
        [sys.executable, str(WRITERS), str(home), *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def check(home: Path, trials: int) -> subprocess.CompletedProcess[str]:
    arguments = ["--check", "chat,mcp", "--trials", str(trials), "--before", "1"]
    return subprocess.run(
        [sys.executable, str(WRITERS), str(home), *arguments],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_two_writer_processes_at_once_lose_and_double_no_trial(one_trial: Path):
    start_at = time.time() + 5  # both past their imports, then writing together
    writers = [writer(one_trial, name, start_at) for name in ("chat", "mcp")]
    outputs = [process.communicate(timeout=120)[0] for process in writers]

    assert [process.returncode for process in writers] == [0, 0], outputs
    ledger = Ledger(one_trial / "mltrainer.db")
    assert ledger.count(session="writer-chat") == TRIALS_EACH
    assert ledger.count(session="writer-mcp") == TRIALS_EACH
    with sqlite3.connect(one_trial / "mltrainer.db") as connection:
        numbers = [row[0] for row in connection.execute("SELECT trial FROM trials ORDER BY trial")]
        spans = {
            session: (first, last)
            for session, first, last in connection.execute(
                "SELECT session, min(trial), max(trial) FROM trials "
                "WHERE session LIKE 'writer-%' GROUP BY session"
            )
        }
        integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
    assert numbers == list(range(1, 2 * TRIALS_EACH + 2))
    assert integrity == "ok"
    # They wrote at the same time: each one's trials began before the other's ended.
    assert spans["writer-chat"][0] < spans["writer-mcp"][1]
    assert spans["writer-mcp"][0] < spans["writer-chat"][1]
    checked = check(one_trial, TRIALS_EACH)
    assert (checked.returncode, checked.stdout, checked.stderr) == (
        0,
        f"2 writers x {TRIALS_EACH} trials at once: {2 * TRIALS_EACH + 1} trials, none lost or "
        "doubled, numbered without gaps, integrity ok\n",
        "",
    )


def test_the_check_says_what_is_wrong(one_trial: Path):
    for name in ("chat", "mcp"):  # one after the other: they do not overlap
        assert writer(one_trial, name, 0.0).wait(timeout=120) == 0

    checked = check(one_trial, TRIALS_EACH + 1)

    assert checked.returncode == 1
    assert checked.stderr.splitlines() == [
        f"shared ledger: trials per writer {{'chat': {TRIALS_EACH}, 'mcp': {TRIALS_EACH}}}, "
        f"expected {TRIALS_EACH + 1} each",
        f"shared ledger: {2 * TRIALS_EACH + 1} trials numbered 1..{2 * TRIALS_EACH + 1}; "
        f"expected 1..{2 * TRIALS_EACH + 3}",
        "shared ledger: mcp began after the others ended: they did not write at once",
    ]
