"""Many research sessions at once: throughput, turn overhead and isolation.

1. `--sessions` (default 20) scripted sessions run concurrently in one process, one event loop
   and one data home (`runs.start_session` with a `ScriptedProvider`, the real loop, tools,
   ledger and fsynced transcripts). Each session trains `--trials` real trials (default 2) on
   offline sample data (SPX, IXIC, MSFT daily bars; LightGBM, logistic regression, random
   forest), each with the session's own seed, then compares its trials and finishes. Tool calls
   share the process's bounded pool: the event loop's worker threads and the executor's workers
   (`--executor local|process|dask`).
2. `--processes` (default 3) processes each run their share of the sessions against one shared
   data home (`--processes 1` skips this part).

Reported: throughput (trials per minute of wall time); the turn overhead, p50 and p95: the
time from the provider answering a turn to the loop asking for the next one, minus the time
the turn's tool call took (transcript writes, validation, feedback, and waiting for the shared
event loop among the other sessions); and four counts that must be 0:
- cross-talk: a session's ledger row, transcript or compare table that carries another
  session's id, or a trial whose symbol, model or seed is not the one its script asked for;
- lost rows: a trial a script asked for that the ledger does not hold;
- duplicates: one tool call recorded as more than one trial;
- unfinished sessions: a session that did not end with its `finish` call.

A warm-up session in a throwaway home runs first so imports are not measured.

Example:
    python benchmarks/load.py
    python benchmarks/load.py --sessions 20 --processes 3 --executor process
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from timing import benchmark_parser

SYMBOLS = ("SPX", "IXIC", "MSFT")
MODELS = (
    ("lightgbm", {"n_estimators": 60}),
    ("logistic_regression", {}),
    ("random_forest", {"n_estimators": 40, "max_depth": 6}),
)
DAYS = 1500


@dataclass(frozen=True)
class PlannedTrial:
    call_id: str
    symbol: str
    model: str
    seed: int


@dataclass
class SessionRun:
    session: str
    planned: list[PlannedTrial]
    reason: str = ""
    finished: bool = False
    transcript: str = ""
    overheads_ms: list[float] = field(default_factory=list)


def plan(session_number: int, trials: int) -> list[PlannedTrial]:
    """The trials session `session_number`'s script asks for: its own seed, rotating symbols
    and models so sessions overlap on datasets (shared holdout locks and try counts)."""
    return [
        PlannedTrial(
            call_id=f"train-{k}",
            symbol=SYMBOLS[(session_number + k) % len(SYMBOLS)],
            model=MODELS[(session_number + k) % len(MODELS)][0],
            seed=1000 + session_number,
        )
        for k in range(trials)
    ]


def _script(session: str, planned: list[PlannedTrial]) -> list[Any]:
    from mltrainer.agent.messages import AssistantTurn, ToolCall

    params = dict(MODELS)
    turns = [
        AssistantTurn(
            f"{session}: trial {n}",
            (
                ToolCall(
                    trial.call_id,
                    "train_model",
                    json.dumps(
                        {
                            "symbol": trial.symbol,
                            "model": trial.model,
                            "seed": trial.seed,
                            "days": DAYS,
                            "params": params[trial.model],
                        }
                    ),
                ),
            ),
        )
        for n, trial in enumerate(planned, start=1)
    ]
    turns.append(AssistantTurn("compare", (ToolCall("compare", "compare_trials", "{}"),)))
    conclusion = json.dumps({"conclusion": f"{session} is done"})
    turns.append(AssistantTurn("finish", (ToolCall("finish", "finish", conclusion),)))
    return turns


def _timed_provider(turns: list[Any]) -> Any:
    """A `ScriptedProvider` that notes when each turn is asked for and when it is answered."""
    from mltrainer.agent.providers import ScriptedProvider

    class TimedScript(ScriptedProvider):
        def __init__(self) -> None:
            super().__init__(turns)
            self.asked: list[float] = []
            self.answered: list[float] = []

        async def complete(self, **kwargs: Any) -> Any:
            self.asked.append(time.perf_counter())
            try:
                return await super().complete(**kwargs)
            finally:
                self.answered.append(time.perf_counter())

    return TimedScript()


def _tool_seconds(transcript: Path) -> dict[str, float]:
    lines = transcript.read_text(encoding="utf-8").splitlines()
    events = [json.loads(line) for line in lines if line.strip()]
    return {e["call_id"]: e["seconds"] for e in events if e.get("event") == "tool_run"}


async def _one_session(settings: Any, session: str, planned: list[PlannedTrial]) -> SessionRun:
    from mltrainer.agent.session.runs import start_session

    turns = _script(session, planned)
    provider = _timed_provider(turns)
    summary = await start_session(
        provider, f"load test {session}", settings=settings, session_id=session
    )
    assert summary.transcript is not None
    run = SessionRun(session, planned, summary.reason, summary.finished, str(summary.transcript))
    seconds = _tool_seconds(summary.transcript)
    # Turn k's overhead: from its answer to the next request, less its tool call's own time.
    for k in range(len(provider.asked) - 1):
        gap = provider.asked[k + 1] - provider.answered[k]
        tools = sum(seconds.get(call.id, 0.0) for call in turns[k].tool_calls)
        run.overheads_ms.append(max(gap - tools, 0.0) * 1000)
    return run


def run_sessions(
    home: Path, executor: str, sessions: list[int], trials: int, prefix: str
) -> list[SessionRun]:
    """Run the numbered sessions concurrently in this process; returns what each did."""
    from mltrainer.engine.executors import close_executors
    from mltrainer.engine.settings import Settings

    settings = Settings(MLTRAINER_HOME=home, MLTRAINER_EXECUTOR=executor)  # type: ignore[call-arg]

    async def all_sessions() -> list[SessionRun]:
        return await asyncio.gather(
            *(_one_session(settings, f"{prefix}-{n}", plan(n, trials)) for n in sessions)
        )

    try:
        return asyncio.run(all_sessions())
    finally:
        close_executors()


@dataclass
class Checks:
    cross_talk: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)


def check(home: Path, runs: list[SessionRun]) -> Checks:
    """Compare the ledger and transcripts with what each script asked for."""
    found = Checks()
    ids = {run.session for run in runs}
    with sqlite3.connect(home / "mltrainer.db") as connection:
        rows = connection.execute(
            "SELECT trial, session, call_id, symbol, model, result FROM trials"
        ).fetchall()
    by_call: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for row in rows:
        by_call.setdefault((row[1], row[2]), []).append(row)
    found.duplicates = [f"{key}: {len(v)} rows" for key, v in by_call.items() if len(v) > 1]
    found.cross_talk += [f"trial {r[0]} has session {r[1]!r}" for r in rows if r[1] not in ids]
    for run in runs:
        if not run.finished:
            found.unfinished.append(f"{run.session}: {run.reason}")
        own_trials: set[int] = set()
        for trial in run.planned:
            recorded = by_call.get((run.session, trial.call_id))
            if not recorded:
                found.lost.append(f"{run.session}/{trial.call_id}")
                continue
            number, _, _, symbol, model, result = recorded[0]
            own_trials.add(number)
            seed = json.loads(result)["config"]["seed"]
            if (symbol, model, seed) != (trial.symbol, trial.model, trial.seed):
                found.cross_talk.append(
                    f"{run.session}/{trial.call_id} recorded {symbol} {model} seed {seed}"
                )
        text = Path(run.transcript).read_text(encoding="utf-8")
        found.cross_talk += [
            f"{run.session}'s transcript names {other}"
            for other in ids - {run.session}
            if f'"{other}"' in text
        ]
        events = [json.loads(line) for line in text.splitlines() if line.strip()]
        for event in events:
            if (
                event.get("event") == "tool_run"
                and event["name"] == "compare_trials"
                and event["payload"].get("status") == "success"
            ):
                shown = {t["trial"] for t in event["payload"].get("trials", [])}
                if shown != own_trials:
                    found.cross_talk.append(
                        f"{run.session} compared trials {sorted(shown)}, its own are "
                        f"{sorted(own_trials)}"
                    )
    return found


def _report(title: str, runs: list[SessionRun], seconds: float, checks: Checks) -> None:
    trials = sum(len(run.planned) for run in runs)
    overheads = sorted(ms for run in runs for ms in run.overheads_ms)
    p95 = statistics.quantiles(overheads, n=20)[-1] if len(overheads) > 1 else overheads[0]
    print(title)
    rate = trials / seconds * 60
    print(f"  {len(runs)} sessions, {trials} trials in {seconds:.1f} s: {rate:.1f} trials/minute")
    p50 = statistics.median(overheads)
    print(f"  turn overhead: p50 {p50:.1f} ms, p95 {p95:.1f} ms ({len(overheads)} turns)")
    for name in ("cross_talk", "lost", "duplicates", "unfinished"):
        problems = getattr(checks, name)
        print(
            f"  {name.replace('_', '-')}: {len(problems)}"
            + (f"  e.g. {problems[:3]}" if problems else "")
        )


def _worker(args: Any) -> None:
    """One of several processes sharing a data home: warm up, say "ready", wait for the word
    to start (so all processes start together), run its sessions, print them as JSON."""
    numbers = [int(n) for n in args.worker.split(",")]
    run_sessions(args.home.with_name(f"warm-up-{os.getpid()}"), args.executor, [0], 1, "w")
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.time()
    runs = run_sessions(args.home, args.executor, numbers, args.trials, f"p{os.getpid()}")
    ended = time.time()
    print(json.dumps({"started": started, "ended": ended, "runs": [asdict(r) for r in runs]}))


def _from_json(item: dict[str, Any]) -> SessionRun:
    planned = [PlannedTrial(**p) for p in item.pop("planned")]
    return SessionRun(planned=planned, **item)


def main() -> None:
    parser = benchmark_parser(__doc__, "python benchmarks/load.py --sessions 20 --processes 3")
    parser.add_argument("--sessions", type=int, default=20, help="concurrent sessions")
    parser.add_argument("--trials", type=int, default=2, help="trials per session")
    parser.add_argument("--processes", type=int, default=3, help="processes sharing one home")
    parser.add_argument("--executor", choices=("local", "process", "dask"), default="local")
    parser.add_argument("--home", type=Path, help=argparse_hidden())
    parser.add_argument("--worker", help=argparse_hidden())
    args = parser.parse_args()
    if args.worker is not None:
        _worker(args)
        return
    if args.sessions < 1 or args.trials < 1 or args.processes < 1:
        parser.error("--sessions, --trials and --processes must be at least 1")
    with tempfile.TemporaryDirectory(prefix="mltrainer-load-") as folder:
        run_sessions(Path(folder) / "warm-up", args.executor, [0], 1, "warm-up")
        home = Path(folder) / "one-process"
        started = time.perf_counter()
        runs = run_sessions(home, args.executor, list(range(args.sessions)), args.trials, "s")
        seconds = time.perf_counter() - started
        _report(
            f"one process, executor {args.executor}, {os.cpu_count()} cores:",
            runs,
            seconds,
            check(home, runs),
        )
        if args.processes > 1:
            home = Path(folder) / "shared"
            shares = [
                list(range(args.sessions))[p :: args.processes] for p in range(args.processes)
            ]
            command = [sys.executable, __file__, "--home", str(home), "--executor", args.executor]
            command += ["--trials", str(args.trials)]
            workers = [
                subprocess.Popen(
                    [*command, "--worker", ",".join(map(str, share))],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                for share in shares
                if share
            ]
            for worker in workers:  # every process has imported everything and warmed up
                assert worker.stdout is not None
                worker.stdout.readline()
            outputs = [json.loads(worker.communicate("go\n")[0] or "{}") for worker in workers]
            if any(worker.returncode for worker in workers):
                raise SystemExit("a worker process failed; see its error above")
            # From the first process starting its sessions to the last one finishing them
            # (interpreter start and exit are not part of serving sessions).
            seconds = max(o["ended"] for o in outputs) - min(o["started"] for o in outputs)
            runs = [_from_json(item) for output in outputs for item in output["runs"]]
            _report(
                f"{len(workers)} processes sharing one data home, executor {args.executor}:",
                runs,
                seconds,
                check(home, runs),
            )


def argparse_hidden() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
