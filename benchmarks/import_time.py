"""How fast the command line starts: whole processes, as a user waits for them.

Each command runs `--repeats` times (default 5) as a fresh process with a temporary data home;
the figure is the median wall time. `python -c pass` is the floor every Python program pays, and
`import sklearn` shows what an eager scikit-learn import would add. Targets: `mltrainer --help`
and `mltrainer tools` under 0.6 s; `import mltrainer.tools` loads no scikit-learn, pandas or
LightGBM (checked here on the same run, and by a test).

Other jobs on the machine inflate every wall time; the CPU time (user + system) of each
process is printed beside it, and the load average with the run.

Example:
    python benchmarks/import_time.py --repeats 5
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from timing import benchmark_parser, verdict

TARGET_SECONDS = 0.6
HEAVY = ("sklearn", "pandas", "lightgbm", "torch", "scipy", "matplotlib")


def wall_and_cpu(command: list[str], env: dict[str, str], repeats: int) -> tuple[float, float]:
    """Median wall time and median CPU time (user + system) of the child process."""
    walls, cpus = [], []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=True)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = benchmark_parser(__doc__, "python benchmarks/import_time.py --repeats 5")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    mltrainer = str(Path(sys.executable).parent / "mltrainer")
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "MLTRAINER_HOME": home}
        python = sys.executable
        rows = [
            ("python -c pass (floor)", [python, "-c", "pass"], None),
            ("import sklearn (for scale)", [python, "-c", "import sklearn"], None),
            ("import mltrainer.tools", [python, "-c", "import mltrainer.tools"], None),
            ("mltrainer --help", [mltrainer, "--help"], TARGET_SECONDS),
            ("mltrainer tools", [mltrainer, "tools"], TARGET_SECONDS),
        ]
        floor = None
        load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
        print(
            f"median of {args.repeats} whole-process runs; {os.cpu_count()} cores, "
            f"load average {load}; x = wall time over the floor's"
        )
        for label, command, target in rows:
            seconds, cpu = wall_and_cpu(command, env, args.repeats)
            floor = floor or seconds
            line = f"{label:28s} wall {seconds:6.3f} s  cpu {cpu:6.3f} s  {seconds / floor:5.1f} x"
            if target is not None:
                line += f"  target < {target} s: {verdict(seconds < target)}"
            print(line)
        loaded = subprocess.run(
            [
                python,
                "-c",
                "import sys, mltrainer.tools; "
                f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        print(
            "heavy modules loaded by `import mltrainer.tools`: "
            + (", ".join(loaded) if loaded else "none")
            + f"  target none: {verdict(not loaded)}"
        )


if __name__ == "__main__":
    main()
