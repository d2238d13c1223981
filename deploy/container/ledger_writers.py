"""Several writers recording trials into one data home's ledger at the same moment, and the count
afterwards: the check behind "two containers may share the data home" (README, Container).

Writing: each writer waits for a common start time, then records `--trials` copies of a trial
already in the ledger, one transaction each through the ledger's own `record` (a new connection
per trial, as every caller opens one), under the session `writer-NAME`. Run several at once, as
processes or as containers on one volume:

    python ledger_writers.py /data --writer chat --trials 300 --start-at 1767225600.0

prints `chat recorded 300 trials (numbers FIRST..LAST) in S s`.

Checking (standard library only, so the host's python3 can read a volume's ledger):

    python3 ledger_writers.py /data --check chat,mcp --trials 300 --before 4

holds when each writer's session has exactly `--trials` trials, all trials are numbered 1..N
without gaps (N = before + writers x trials), each writer's trials began before another's ended
(they did write at once), and SQLite's integrity check passes. Exit 0 with one line, or 1 with
one line per problem.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from pathlib import Path


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path, help="the data home (MLTRAINER_HOME)")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--writer", help="write as this writer (its session: writer-NAME)")
    mode.add_argument("--check", help="check the writers named, comma-separated")
    parser.add_argument("--trials", type=int, default=300, help="trials per writer")
    parser.add_argument("--copy-of", type=int, default=1, help="the trial number to copy")
    parser.add_argument(
        "--start-at", type=float, default=0.0, help="Unix time to start at (all writers alike)"
    )
    parser.add_argument("--before", type=int, default=0, help="trials in the ledger before")
    return parser.parse_args(argv)


def write(home: Path, writer: str, trials: int, copy_of: int, start_at: float) -> int:
    from mltrainer.engine.ledger import Ledger
    from mltrainer.engine.trial import TrialResult

    ledger = Ledger(home / "mltrainer.db")
    stored = ledger.result(copy_of)
    predictions = ledger.predictions(copy_of)
    if stored is None or predictions is None:
        print(f"no trial {copy_of} in {home} to copy; train one first", file=sys.stderr)
        return 1
    result = TrialResult.model_validate(stored)
    time.sleep(max(0.0, start_at - time.time()))
    started = time.monotonic()
    numbers = [
        ledger.record(result, predictions, session=f"writer-{writer}", call_id=f"call-{i}")
        for i in range(trials)
    ]
    seconds = time.monotonic() - started
    print(
        f"{writer} recorded {len(numbers)} trials (numbers {min(numbers)}..{max(numbers)}) "
        f"in {seconds:.1f} s"
    )
    return 0


def problems(home: Path, writers: list[str], trials: int, before: int) -> list[str]:
    with sqlite3.connect(f"file:{home / 'mltrainer.db'}?mode=ro", uri=True) as connection:
        spans = {
            session.removeprefix("writer-"): (count, first, last)
            for session, count, first, last in connection.execute(
                "SELECT session, count(*), min(trial), max(trial) FROM trials "
                "WHERE session LIKE 'writer-%' GROUP BY session"
            )
        }
        numbers = [row[0] for row in connection.execute("SELECT trial FROM trials ORDER BY trial")]
        integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
    found = []
    counts = {writer: spans.get(writer, (0, 0, 0))[0] for writer in writers}
    if counts != dict.fromkeys(writers, trials):
        found.append(f"trials per writer {counts}, expected {trials} each")
    expected = before + len(writers) * trials
    if numbers != list(range(1, expected + 1)):
        span = f"{numbers[0]}..{numbers[-1]}" if numbers else "none"
        found.append(f"{len(numbers)} trials numbered {span}; expected 1..{expected}")
    if integrity != "ok":
        found.append(f"integrity check: {integrity}")
    for writer in writers:
        others_last = [last for name, (_, _, last) in spans.items() if name != writer]
        if writer in spans and others_last and spans[writer][1] > max(others_last):
            found.append(f"{writer} began after the others ended: they did not write at once")
    return found


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.writer is not None:
        return write(args.home, args.writer, args.trials, args.copy_of, args.start_at)
    writers = [name.strip() for name in args.check.split(",") if name.strip()]
    found = problems(args.home, writers, args.trials, args.before)
    for problem in found:
        print(f"shared ledger: {problem}", file=sys.stderr)
    if found:
        return 1
    total = args.before + len(writers) * args.trials
    print(
        f"{len(writers)} writers x {args.trials} trials at once: {total} trials, none lost or "
        "doubled, numbered without gaps, integrity ok"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
