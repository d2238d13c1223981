"""Where a person waits and nothing needs to run: whole `mltrainer` processes, timed as a user
sees them.

1. `mltrainer train "<an instruction that cannot be read>"`: the answer (no ticker symbol
   found) comes from the bridge alone, before the engine, its ML libraries or the data home
   are touched. Goal: under 1 s wall.
2. `mltrainer demo`: the scripted session on the offline sample data (four trials, a tool error,
   a comparison, a finalize on the locked holdout). Goal: under 6 CPU-seconds (user + system,
   the process and its children).

`python -c pass` is printed as the floor any Python process pays. Each command runs `--repeats`
times as a fresh process with a fresh data home, the commands taking turns so that a change in
the machine's load falls on all of them alike; each figure is the median. Other work on the
machine inflates wall time first, so the CPU time is printed beside it, with the load average.

Example:
    python benchmarks/waiting.py --repeats 3
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from timing import benchmark_parser, verdict

UNREADABLE = "blorp the frobnicator"
UNREADABLE_GOAL_SECONDS = 1.0
DEMO_GOAL_CPU_SECONDS = 6.0


def wall_and_cpu(command: list[str], home: Path, expect: int) -> tuple[float, float]:
    """Wall and CPU time (user + system, children included) of one run in a fresh data home;
    a run that exits with another code than `expect` stops the benchmark."""
    env = {**os.environ, "MLTRAINER_HOME": str(home), "COLUMNS": "120"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != expect:
        raise SystemExit(
            f"{' '.join(command)} exited {done.returncode}, not {expect}:\n{done.stderr[-2000:]}"
        )
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main() -> None:
    parser = benchmark_parser(__doc__, "python benchmarks/waiting.py --repeats 3")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each command (median)")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    mltrainer = str(Path(sys.executable).with_name("mltrainer"))
    commands = {
        "python -c pass": ([sys.executable, "-c", "pass"], 0),
        f'mltrainer train "{UNREADABLE}"': ([mltrainer, "train", UNREADABLE], 1),
        "mltrainer demo": ([mltrainer, "demo"], 0),
    }
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.2f}")
    runs: dict[str, list[tuple[float, float]]] = {label: [] for label in commands}
    scratch = Path(tempfile.mkdtemp(prefix="mltrainer-waiting-"))
    try:
        for repeat in range(args.repeats):
            for number, (label, (command, expect)) in enumerate(commands.items()):
                home = scratch / f"{repeat}-{number}"
                runs[label].append(wall_and_cpu(command, home, expect))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    median = {
        label: (statistics.median(w for w, _ in timed), statistics.median(c for _, c in timed))
        for label, timed in runs.items()
    }
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(f"{'command':<42} {'wall s':>8} {'CPU s':>8}  goal")
    goals = {
        f'mltrainer train "{UNREADABLE}"': (0, UNREADABLE_GOAL_SECONDS, "wall < 1 s"),
        "mltrainer demo": (1, DEMO_GOAL_CPU_SECONDS, "CPU < 6 s"),
    }
    for label, (wall, cpu) in median.items():
        goal = ""
        if label in goals:
            which, limit, text = goals[label]
            goal = f"{text}: {verdict((wall, cpu)[which] < limit)}"
        print(f"{label:<42} {wall:8.2f} {cpu:8.2f}  {goal}")


if __name__ == "__main__":
    main()
