"""Replay is linear in the transcript's length: replay time per line at growing sizes.

A transcript of N lines is written the way a session writes it (session_start, the goal, then
turns of assistant + tool_run + tool_results, three lines each, and a finish), and replayed
offline with `runs.replay_session(path, check=False)`: reading and checking every event, the
replay provider's conversation checks, the loop, and the replay's own transcript. The target
is 100,000 lines in under 10 s. Linear means the time per line stays flat as N grows; the
ratio of the largest to the smallest size's time per line is printed next to it.

Example:
    python benchmarks/replay_scaling.py --lines 10000 30000 100000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

from timing import verdict

TARGET_SECONDS_FOR_100K = 10.0
LINES_PER_TURN = 3


def write_transcript(path: Path, lines: int) -> None:
    """A recorded session of about `lines` lines; every turn calls `list_models` once."""
    from mltrainer.agent.session.transcript import Transcript

    turns = max((lines - 3) // LINES_PER_TURN, 1)
    with Transcript(path, durable=False) as transcript:
        transcript.write(
            {
                "event": "session_start",
                "session_id": "bench-replay",
                "provider": "scripted",
                "model": "scripted",
                "goal": "Replay benchmark.",
                "system": "You are a careful quantitative researcher.",
                "budgets": {"max_turns": turns + 1, "max_tool_calls": turns + 1},
            }
        )
        transcript.write({"event": "user", "text": "Replay benchmark."})
        for number in range(1, turns + 1):
            last = number == turns
            name = "finish" if last else "list_models"
            arguments = {"conclusion": "done"} if last else {}
            payload = (
                {
                    "status": "success",
                    "type": "finished",
                    "conclusion": "done",
                    "best_trial": None,
                    "finalized": [],
                }
                if last
                else {"status": "success", "type": "models", "models": []}
            )
            call_id = f"call_{number}"
            content = json.dumps(payload, separators=(",", ":"))
            transcript.write(
                {
                    "event": "assistant",
                    "text": f"step {number}",
                    "tool_calls": [
                        {"id": call_id, "name": name, "arguments": json.dumps(arguments)}
                    ],
                    "usage": {"input_tokens": 0, "output_tokens": 0, "cost_usd": None},
                    "stop_reason": "tool_use",
                    "model": "scripted",
                }
            )
            transcript.write(
                {
                    "event": "tool_run",
                    "call_id": call_id,
                    "name": name,
                    "arguments": arguments,
                    "payload": payload,
                    "content": content,
                    "is_error": False,
                    "seconds": 0.0,
                }
            )
            transcript.write(
                {
                    "event": "tool_results",
                    "results": [
                        {"call_id": call_id, "name": name, "content": content, "is_error": False}
                    ],
                }
            )
        transcript.write({"event": "session_end", "reason": "finished"})


def replay_seconds(path: Path) -> tuple[float, str]:
    from mltrainer.agent.session.runs import replay_session
    from mltrainer.engine.settings import load_settings

    started = time.perf_counter()
    report = asyncio.run(replay_session(path, settings=load_settings()))
    return time.perf_counter() - started, report.summary.reason


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        os.environ["MLTRAINER_HOME"] = home
        rows = []
        for lines in sorted(options.lines):
            path = Path(home) / f"recorded-{lines}.jsonl"
            write_transcript(path, lines)
            written = sum(1 for _ in path.open(encoding="utf-8"))
            seconds, reason = replay_seconds(path)
            rows.append((written, seconds, reason))
    print(f"{'lines':>8} {'replay s':>9} {'us/line':>8}  ended")
    for written, seconds, reason in rows:
        print(f"{written:>8} {seconds:>9.2f} {seconds / written * 1e6:>8.1f}  {reason}")
    (small, small_s, _), (large, large_s, _) = rows[0], rows[-1]
    ratio = (large_s / large) / (small_s / small)
    print(f"time per line, largest / smallest size: {ratio:.2f} (linear: about 1)")
    if large >= 100_000:
        per_100k = large_s / large * 100_000
        print(
            f"100,000 lines: {per_100k:.1f} s (target < {TARGET_SECONDS_FOR_100K:.0f} s): "
            f"{verdict(per_100k < TARGET_SECONDS_FOR_100K)}"
        )


if __name__ == "__main__":
    main()
