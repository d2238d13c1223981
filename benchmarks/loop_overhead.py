"""How much time the agent loop adds per turn, and how long a whole transcript takes to replay.

1. A scripted session of `--turns` turns through the real loop (`loop.run_session` with a
   `LiveExecutor` and a fsynced `Transcript`): every turn but the last calls a no-op tool with
   slightly different arguments, the last calls `finish`. Per-turn overhead is the session's
   wall time / turns: provider call, budget checks, tool specs, argument validation, the
   thread hop to the handler, transcript writes (flush + fsync) and bookkeeping. The target is
   2 ms per turn. The breakdown times `Transcript.write` (and `os.fsync` inside it), the
   executor, and `session.tool_specs`, each wrapped for the measured session only.
2. The bridge's regex fallback is not on a tool-call turn's path, so it is timed on its own:
   `parse_mltrainer_response` + `create_trial_config` on a typical LLM paragraph, the median
   of one call per turn. A free-text turn pays this on top of the loop's overhead.
3. Replay: `runs.replay_session(path, check=False)` on the recorded transcript, whole-file wall
   time (reading, the replay provider's conversation checks, and the replay's own transcript).

A three-turn warm-up session runs first so imports and the thread pool are not measured.
State goes to a temporary data home unless `--home` is given; fsync cost depends on the disk
under it.

Example:
    python benchmarks/loop_overhead.py --turns 200
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from timing import Clock, benchmark_parser, verdict

TURN_TARGET_MS = 2.0
GOAL = "Benchmark the loop: call noop until told to finish."
PARAGRAPH = (
    "The logistic regression barely beat the majority baseline, so the edge is probably noise. "
    "Next I'd like to train a random forest on MSFT with an 80/20 split, a 60 day lookback and "
    "n_estimators=300, using the sample data, and compare it against the previous trial before "
    "deciding whether to switch models."
)


class NoopArgs(BaseModel):
    """Do nothing and report the step back. For benchmarking the loop only."""

    model_config = ConfigDict(extra="forbid")

    step: int = Field(ge=0, description="turn number")
    note: str = Field(default="", max_length=200, description="free text, ignored")


def noop(engine: Any, args: NoopArgs) -> dict[str, Any]:
    return {"status": "success", "type": "noop", "step": args.step}


@contextmanager
def patched(owner: Any, name: str, clock: Clock) -> Iterator[None]:
    original = getattr(owner, name)
    setattr(owner, name, clock.wrap(original))
    try:
        yield
    finally:
        setattr(owner, name, original)


@dataclass
class TimedExecutor:
    """Times the wrapped executor's `execute` (validation, thread hop, handler, phrasing)."""

    inner: Any
    clock: Clock

    async def execute(self, calls: Sequence[Any]) -> Any:
        started = time.perf_counter()
        try:
            return await self.inner.execute(calls)
        finally:
            self.clock.seconds += time.perf_counter() - started
            self.clock.calls += 1


def script(turns: int) -> list[Any]:
    from mltrainer.agent.messages import AssistantTurn, ToolCall, Usage

    notes = ("", "checking the loop", "again", "still nothing to do")
    script_turns = [
        AssistantTurn(
            text="" if step % 3 else f"Step {step}: calling noop.",
            tool_calls=(
                ToolCall(
                    id=f"call_{step}",
                    name="noop",
                    arguments=json.dumps({"step": step, "note": notes[step % len(notes)]}),
                ),
            ),
            usage=Usage(input_tokens=200 + step, output_tokens=20),
            stop_reason="tool_use",
            model="scripted",
        )
        for step in range(1, turns)
    ]
    finish = ToolCall(
        id=f"call_{turns}",
        name="finish",
        arguments=json.dumps({"conclusion": "The loop ran every turn.", "best_trial": None}),
    )
    script_turns.append(
        AssistantTurn(text="", tool_calls=(finish,), stop_reason="tool_use", model="scripted")
    )
    return script_turns


async def scripted_session(turns: int, settings: Any, clocks: dict[str, Clock] | None) -> Any:
    """Run the session through the real loop; with `clocks`, time its parts."""
    from mltrainer.agent.bridge import MLAgentBridge
    from mltrainer.agent.providers import ScriptedProvider
    from mltrainer.agent.session import turn as session_module
    from mltrainer.agent.session.dispatch import LiveExecutor
    from mltrainer.agent.session.loop import run_session
    from mltrainer.agent.session.runs import new_session_id
    from mltrainer.agent.session.state import Budgets, SessionState
    from mltrainer.agent.session.transcript import Transcript, known_secrets
    from mltrainer.engine.ml_engine import MLEngine
    from mltrainer.engine.runner import CODE_VERSION
    from mltrainer.tools import TOOLS_BY_NAME, Tool

    session_id = new_session_id()
    tools = {"noop": Tool("noop", NoopArgs, noop), "finish": TOOLS_BY_NAME["finish"]}
    bridge = MLAgentBridge()
    executor: Any = LiveExecutor(MLEngine(settings, session=session_id), bridge, tools=tools)
    if clocks is not None:
        executor = TimedExecutor(executor, clocks["tools"])
    budgets = Budgets(
        max_turns=turns + 10,
        max_tool_calls=turns + 10,
        max_tokens=10**9,
        max_seconds=3600.0,
    )
    provider = ScriptedProvider(script(turns))
    state = SessionState(
        provider=provider,
        executor=executor,
        transcript=Transcript(
            settings.transcripts_dir / f"{session_id}.jsonl", known_secrets(settings)
        ),
        budgets=budgets,
        bridge=bridge,
    )
    header = {
        "session_id": session_id,
        "provider": provider.name,
        "model": provider.model,
        "provider_options": {},
        "goal": GOAL,
        "system": state.system,
        "tools": list(tools),
        "budgets": asdict(budgets),
        "version": CODE_VERSION,
    }
    with (
        patched(Transcript, "write", clocks["transcript"]) if clocks else _nothing(),
        patched(os, "fsync", clocks["fsync"]) if clocks else _nothing(),
        patched(session_module, "tool_specs", clocks["specs"]) if clocks else _nothing(),
    ):
        try:
            return await run_session(state, GOAL, header)
        finally:
            state.transcript.close()


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def time_bridge(calls: int) -> float:
    from mltrainer.agent.bridge import MLAgentBridge

    bridge = MLAgentBridge()
    config = bridge.create_trial_config(bridge.parse_mltrainer_response(PARAGRAPH))
    if config is None or config.get("symbol") != "MSFT":
        raise SystemExit(f"the bridge misread the benchmark paragraph: {config}")
    seconds = []
    for _ in range(calls):
        started = time.perf_counter()
        bridge.create_trial_config(bridge.parse_mltrainer_response(PARAGRAPH))
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def measure(turns: int) -> dict[str, Any]:
    from mltrainer.agent.session.runs import replay_session
    from mltrainer.engine.settings import load_settings

    settings = load_settings()
    settings.ensure_home()
    asyncio.run(scripted_session(3, settings, None))

    clocks = {name: Clock() for name in ("transcript", "fsync", "tools", "specs")}
    started = time.perf_counter()
    summary = asyncio.run(scripted_session(turns, settings, clocks))
    session_seconds = time.perf_counter() - started
    if not summary.finished or summary.turns != turns:
        raise SystemExit(f"the session ended early: {summary.reason} after {summary.turns} turns")

    started = time.perf_counter()
    report = asyncio.run(replay_session(summary.transcript, settings=settings, check=False))
    replay_seconds = time.perf_counter() - started
    if not report.summary.finished or report.summary.turns != turns:
        raise SystemExit(f"the replay ended early: {report.summary.reason}")

    return {
        "session": session_seconds,
        "clocks": clocks,
        "bridge": time_bridge(turns),
        "replay": replay_seconds,
        "transcript_bytes": summary.transcript.stat().st_size,
        "home": settings.home,
    }


def main() -> None:
    parser = benchmark_parser(__doc__, "python benchmarks/loop_overhead.py --turns 200")
    parser.add_argument("--turns", type=int, default=200, help="turns in the scripted session")
    parser.add_argument(
        "--home", type=Path, default=None, help="data home (default: a temporary folder)"
    )
    args = parser.parse_args()
    if args.turns < 2:
        parser.error("--turns must be at least 2 (no-op turns and a final finish)")

    with tempfile.TemporaryDirectory(prefix="mltrainer-bench-") as scratch:
        os.environ["MLTRAINER_HOME"] = str(args.home or scratch)
        numbers = measure(args.turns)

    from rich.console import Console
    from rich.table import Table

    turns = args.turns
    per_turn_ms = 1000.0 * numbers["session"] / turns
    clocks: dict[str, Clock] = numbers["clocks"]
    bridge_ms = 1000.0 * numbers["bridge"]

    table = Table(title=f"agent loop overhead ({turns}-turn scripted session, no-op tool)")
    for column in ("measure", "total s", "ms / turn", "ratio", "target", "result"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    table.add_row(
        "whole turn: loop + tools + transcript",
        f"{numbers['session']:.3f}",
        f"{per_turn_ms:.3f}",
        f"{per_turn_ms / TURN_TARGET_MS:.3f}",
        f"< {TURN_TARGET_MS:.0f} ms",
        verdict(per_turn_ms < TURN_TARGET_MS),
    )
    parts = (
        ("transcript", f"  transcript writes ({clocks['transcript'].calls} lines)"),
        ("fsync", f"    of which os.fsync ({clocks['fsync'].calls} calls)"),
        ("tools", "  executor: validate, thread hop, handler"),
        ("specs", "  tool specs built for the provider"),
    )
    accounted = 0.0
    for key, label in parts:
        seconds = clocks[key].seconds
        if key != "fsync":
            accounted += seconds
        table.add_row(
            label,
            f"{seconds:.3f}",
            f"{1000.0 * seconds / turns:.3f}",
            f"{seconds / numbers['session']:.3f}",
            "",
            "",
        )
    rest = numbers["session"] - accounted
    table.add_row(
        "  loop, provider, bookkeeping (rest)",
        f"{rest:.3f}",
        f"{1000.0 * rest / turns:.3f}",
        f"{rest / numbers['session']:.3f}",
        "",
        "",
    )
    without_specs_ms = per_turn_ms - 1000.0 * clocks["specs"].seconds / turns
    table.add_row(
        "whole turn less tool-spec building (derived)",
        "",
        f"{without_specs_ms:.3f}",
        f"{without_specs_ms / TURN_TARGET_MS:.3f}",
        f"< {TURN_TARGET_MS:.0f} ms",
        verdict(without_specs_ms < TURN_TARGET_MS),
    )
    table.add_row(
        "bridge regex parse, one paragraph",
        "",
        f"{bridge_ms:.3f}",
        f"{bridge_ms / TURN_TARGET_MS:.3f}",
        "",
        "",
    )
    table.add_row(
        "free-text turn: whole turn + bridge parse",
        "",
        f"{per_turn_ms + bridge_ms:.3f}",
        f"{(per_turn_ms + bridge_ms) / TURN_TARGET_MS:.3f}",
        f"< {TURN_TARGET_MS:.0f} ms",
        verdict(per_turn_ms + bridge_ms < TURN_TARGET_MS),
    )
    table.add_row(
        f"replay of the whole transcript ({numbers['transcript_bytes'] / 1024:.0f} KiB)",
        f"{numbers['replay']:.3f}",
        f"{1000.0 * numbers['replay'] / turns:.3f}",
        "",
        "",
        "",
    )

    console = Console(width=max(Console().width, 100))
    console.print(table)
    fsync_share = clocks["fsync"].seconds / numbers["session"]
    specs_share = clocks["specs"].seconds / numbers["session"]
    console.print(
        "ratio = ms per turn / target for whole turns, share of the session's wall time for "
        f"its parts. Data home: {numbers['home']}."
    )
    if specs_share >= 0.5:
        console.print(
            f"Tool specs dominate: {specs_share:.0%} of the session's time rebuilds every tool's "
            "JSON schema (pydantic `model_json_schema`) on each turn; the schemas never change "
            "within a session, and replay pays the same cost per turn."
        )
    if fsync_share >= 0.5:
        console.print(
            f"fsync dominates: {fsync_share:.0%} of the session's time goes to os.fsync, one "
            "per transcript line. That is the price of a transcript that survives a kill; it "
            "depends on the disk under the data home (try --home on another disk)."
        )
    else:
        console.print(
            f"fsync takes {fsync_share:.0%} of the session's time; its cost depends on the disk "
            "under the data home (try --home on another disk)."
        )


if __name__ == "__main__":
    main()
