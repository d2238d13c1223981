"""One of several writers recording trials into one data home's ledger at the same moment: the
check behind "two containers may share the data home" (README, Container).

Each writer waits for a common start time, then records `--trials` copies of a trial already in
the ledger, one transaction each through the ledger's own `record` (a new connection per trial,
as every caller opens one), under its own session name. Run several at once, as processes or as
containers on one volume, then count: the ledger must hold exactly each writer's trials, with
trial numbers that no two writers share.

    python ledger_writers.py /data --writer chat --trials 300 --start-at 1767225600.0

Prints `WRITER recorded N trials (numbers FIRST..LAST) in S s`. Exit 1 with the reason when the
data home has no trial to copy.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from mltrainer.engine.ledger import Ledger
from mltrainer.engine.trial import TrialResult


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path, help="the data home (MLTRAINER_HOME)")
    parser.add_argument("--writer", required=True, help="this writer's name (its session)")
    parser.add_argument("--trials", type=int, default=300, help="how many trials to record")
    parser.add_argument("--copy-of", type=int, default=1, help="the trial number to copy")
    parser.add_argument(
        "--start-at", type=float, default=0.0, help="Unix time to start at (all writers alike)"
    )
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    ledger = Ledger(args.home / "mltrainer.db")
    stored = ledger.result(args.copy_of)
    predictions = ledger.predictions(args.copy_of)
    if stored is None or predictions is None:
        print(f"no trial {args.copy_of} in {args.home} to copy; train one first", file=sys.stderr)
        return 1
    result = TrialResult.model_validate(stored)
    time.sleep(max(0.0, args.start_at - time.time()))
    started = time.monotonic()
    numbers = [
        ledger.record(result, predictions, session=f"writer-{args.writer}", call_id=f"call-{i}")
        for i in range(args.trials)
    ]
    seconds = time.monotonic() - started
    print(
        f"{args.writer} recorded {len(numbers)} trials (numbers {min(numbers)}..{max(numbers)}) "
        f"in {seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
