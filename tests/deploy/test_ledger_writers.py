"""Two processes recording trials into one data home at the same moment (what two containers on
one volume do, `make image-test` runs the same script in two containers): the ledger holds every
trial of each exactly once, numbered without gaps or clashes, and stays intact."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from mltrainer.engine.ledger import Ledger
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import load_settings
from mltrainer.engine.trial import TrialConfig

WRITERS = Path(__file__).resolve().parents[2] / "deploy" / "container" / "ledger_writers.py"
TRIALS_EACH = 300


def writer_command(home: Path, name: str, start_at: float) -> list[str]:
    arguments = ["--writer", name, "--trials", str(TRIALS_EACH), "--start-at", str(start_at)]
    return [sys.executable, str(WRITERS), str(home), *arguments]


def test_two_writer_processes_at_once_lose_and_double_no_trial(isolated_home: Path):
    settings = load_settings()
    settings.ensure_home()
    ResearchService(settings).train(
        TrialConfig.model_validate(
            {"model": "naive_bayes", "symbol": "SPX", "days": 1500, "save_model": False}
        )
    )
    start_at = time.time() + 5  # both past their imports, then writing together
    writers = [
        subprocess.Popen(
            writer_command(isolated_home, name, start_at),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name in ("chat", "mcp")
    ]
    outputs = [writer.communicate(timeout=120)[0] for writer in writers]

    assert [writer.returncode for writer in writers] == [0, 0], outputs
    ledger = Ledger(settings.db_path)
    assert ledger.count(session="writer-chat") == TRIALS_EACH
    assert ledger.count(session="writer-mcp") == TRIALS_EACH
    with sqlite3.connect(settings.db_path) as connection:
        numbers = [row[0] for row in connection.execute("SELECT trial FROM trials ORDER BY trial")]
        by_writer = dict(
            connection.execute(
                "SELECT session, max(trial) FROM trials WHERE session LIKE 'writer-%' "
                "GROUP BY session"
            ).fetchall()
        )
        firsts = dict(
            connection.execute(
                "SELECT session, min(trial) FROM trials WHERE session LIKE 'writer-%' "
                "GROUP BY session"
            ).fetchall()
        )
        integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
    assert numbers == list(range(1, 2 * TRIALS_EACH + 2))
    assert integrity == "ok"
    # They wrote at the same time: each one's trials began before the other's ended.
    assert firsts["writer-chat"] < by_writer["writer-mcp"]
    assert firsts["writer-mcp"] < by_writer["writer-chat"]
