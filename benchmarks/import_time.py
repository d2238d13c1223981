"""How fast the command line starts: whole processes, as a user waits for them.

Each command runs `--repeats` times (default 5) as a fresh process with a temporary data home,
the commands taking turns so that a change in the machine's load falls on all of them alike;
the figure is the median. `python -c pass` is the floor every Python program pays, and
`import sklearn` shows what an eager scikit-learn import would add. Targets: `mltrainer --help`
at most 1.2 times the CPU time of simonw/llm's `llm --help` (a CLI known for starting fast),
measured in the same run; `mltrainer tools` under 0.6 s wall; `import mltrainer.tools` loads no
scikit-learn, pandas or LightGBM.

`llm` is not a dependency of mltrainer: install it apart and point `--llm` at it (it is looked
up on PATH otherwise), e.g. `python -m venv /tmp/llm-venv && /tmp/llm-venv/bin/pip install llm`.

Other jobs on the machine inflate every wall time; the CPU time (user + system) of each
process is printed beside it, and the load average with the run.

Example:
    python benchmarks/import_time.py --repeats 5 --llm /tmp/llm-venv/bin/llm
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

TOOLS_TARGET_SECONDS = 0.6
HELP_TARGET_RATIO = 1.2
HEAVY = ("sklearn", "pandas", "lightgbm", "torch", "scipy", "matplotlib")


def wall_and_cpu(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run of `command` as a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def medians(
    commands: dict[str, list[str]], env: dict[str, str], repeats: int
) -> dict[str, tuple[float, float]]:
    """Median wall and CPU time of each command, the commands run in turn `repeats` times."""
    runs: dict[str, list[tuple[float, float]]] = {label: [] for label in commands}
    for _ in range(repeats):
        for label, command in commands.items():
            runs[label].append(wall_and_cpu(command, env))
    return {
        label: (statistics.median(w for w, _ in timed), statistics.median(c for _, c in timed))
        for label, timed in runs.items()
    }


def main() -> None:
    parser = benchmark_parser(__doc__, "python benchmarks/import_time.py --repeats 5")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--llm",
        type=Path,
        default=shutil.which("llm"),
        help="simonw/llm's `llm` executable, for the --help comparison (default: on PATH)",
    )
    args = parser.parse_args()
    if args.llm is None or not Path(args.llm).is_file():
        parser.error(
            f"no llm executable at {args.llm or 'PATH'}; install llm apart and pass --llm "
            "(python -m venv /tmp/llm-venv && /tmp/llm-venv/bin/pip install llm)"
        )
    mltrainer = str(Path(sys.executable).parent / "mltrainer")
    python = sys.executable
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "MLTRAINER_HOME": home, "LLM_USER_PATH": home}
        commands = {
            "python -c pass (floor)": [python, "-c", "pass"],
            "import sklearn (for scale)": [python, "-c", "import sklearn"],
            "import mltrainer.tools": [python, "-c", "import mltrainer.tools"],
            "llm --help (simonw/llm)": [str(args.llm), "--help"],
            "mltrainer --help": [mltrainer, "--help"],
            "mltrainer tools": [mltrainer, "tools"],
        }
        load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
        print(
            f"median of {args.repeats} whole-process runs; {os.cpu_count()} cores, "
            f"load average {load}; x = wall time over the floor's"
        )
        timed = medians(commands, env, args.repeats)
        floor = timed["python -c pass (floor)"][0]
        for label, (seconds, cpu) in timed.items():
            print(f"{label:28s} wall {seconds:6.3f} s  cpu {cpu:6.3f} s  {seconds / floor:5.1f} x")
        ratio = timed["mltrainer --help"][1] / timed["llm --help (simonw/llm)"][1]
        print(
            f"mltrainer --help CPU over llm --help CPU: {ratio:.2f}  "
            f"target <= {HELP_TARGET_RATIO}: {verdict(ratio <= HELP_TARGET_RATIO)}"
        )
        tools_wall = timed["mltrainer tools"][0]
        print(
            f"mltrainer tools wall: {tools_wall:.3f} s  "
            f"target < {TOOLS_TARGET_SECONDS} s: {verdict(tools_wall < TOOLS_TARGET_SECONDS)}"
        )
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
