"""`mltrainer train`: one instruction in words, one trial out, starting with the configuration
that ran; options fill in what the words leave out. The bridge reads the words; the trial is a
`train_model` tool call run by the same executor as a session's, so its progress, metrics and
ledger row are those of any other surface."""

from __future__ import annotations

import asyncio
import json
import uuid
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mltrainer.agent.cli.common import JsonOption, console
from mltrainer.agent.cli.errors import fail, run_reported
from mltrainer.agent.cli.executor import ExecutorOption, SchedulerOption, executor_settings
from mltrainer.agent.cli.tables import trials_table

if TYPE_CHECKING:
    from rich.status import Status

    from mltrainer.agent.session.progress import ProgressHook, ToolEvent
    from mltrainer.engine.settings import Settings


def train(
    instruction: Annotated[
        str, typer.Argument(help="e.g. 'train a random forest on MSFT with an 80/20 split'")
    ],
    source: Annotated[
        str | None,
        typer.Option(help="Data source: auto, sample, synthetic, polygon, csv (with --path)."),
    ] = None,
    path: Annotated[
        Path | None,
        typer.Option(
            help="Your own daily bars: a .csv or .parquet file with date, open, high, low, "
            "close and volume columns (source csv; the symbol in the instruction labels it)."
        ),
    ] = None,
    start: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="First bar, YYYY-MM-DD.")
    ] = None,
    end: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Last bar, YYYY-MM-DD.")
    ] = None,
    days: Annotated[int | None, typer.Option(help="Use only the most recent N bars.")] = None,
    features: Annotated[
        str | None, typer.Option(help="Comma-separated feature names, e.g. rsi,momentum.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    target: Annotated[
        str | None,
        typer.Option(
            help="What to predict: direction (up or down, the default), return (the "
            "horizon-bar return), rank (order a universe's stocks each date; give --universe)."
        ),
    ] = None,
    universe: Annotated[
        str | None,
        typer.Option(
            help="The stocks rank orders: sp20 (20 large S&P 500 stocks, offline), or a "
            "comma-separated list of 5 to 500 symbols."
        ),
    ] = None,
    executor: ExecutorOption = None,
    scheduler: SchedulerOption = None,
    as_json: JsonOption = False,
) -> None:
    """Train one model from an instruction in words and print the out-of-sample result.

    The output starts with the configuration that ran, in one line. The options fill in what
    the text leaves out; an instruction that says otherwise is refused.

    Example: mltrainer train "LightGBM on SPX, 70/30 split, 30 day lookback" --start 2005-01-01

    Your own bars: mltrainer train "random forest on MINE" --path mine.csv

    Another target: mltrainer train "rank the sp20 stocks by next week's return", or
    mltrainer train "lightgbm" --target rank --universe AAPL,MSFT,JPM,KO,XOM
    """
    options: dict[str, Any] = {
        "source": "csv" if path is not None and source is None else source,
        "path": None if path is None else str(path),
        "start": start.date() if start else None,
        "end": end.date() if end else None,
        "days": days,
        "features": [f.strip() for f in features.split(",") if f.strip()] if features else None,
        "seed": seed,
        "target": target,
        "universe": _universe(universe),
    }
    defaults = {name: value for name, value in options.items() if value is not None}
    settings = executor_settings(executor, scheduler)
    with console.status("training ...", spinner="dots") if not as_json else nullcontext() as status:
        progress = _status_line(status) if status is not None else None
        outcome = run_reported(lambda: _train(settings, instruction, defaults, progress))
    result = outcome["ml_result"]
    succeeded = result.get("status") == "success"
    if as_json:
        print(json.dumps(outcome, indent=2, default=str))
    elif succeeded:
        _print_trial(outcome)
    elif outcome["configuration"]:
        console.print(
            f"Configuration read: {outcome['configuration']}.",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    if not succeeded:
        if as_json:
            raise typer.Exit(1)
        raise fail(str(result.get("error") or "the trial failed, and said nothing about why"))


def _print_trial(outcome: dict[str, Any]) -> None:
    """The configuration that ran, the trial's row and the feedback question, once each."""
    from mltrainer.engine.results import TrialSummary
    from mltrainer.engine.trial import TrialResult

    head = f"Ran {outcome['configuration']}."
    console.print(head, highlight=False, markup=False, soft_wrap=True)
    trial = TrialSummary.of(TrialResult.model_validate(outcome["ml_result"]))
    console.print(trials_table([trial], "Trial (out of sample)"))
    question = outcome["feedback_question"].removeprefix(head).strip()
    console.print(question, highlight=False, markup=False, soft_wrap=True)
    console.print(f"Transcript: {outcome['transcript']}", highlight=False, markup=False)


def _universe(value: str | None) -> str | list[str] | None:
    """A named universe as given; a comma-separated list as its symbols, upper case."""
    if value is None or "," not in value:
        return value
    return [symbol.strip().upper() for symbol in value.split(",") if symbol.strip()]


def _train(
    settings: Settings, text: str, defaults: dict[str, Any], progress: ProgressHook | None
) -> dict[str, Any]:
    """The instruction read by the bridge, then run as one `train_model` tool call, recorded
    as a session of its own (a transcript the Sessions page lists, its trial in the ledger
    under that session). Reading needs only the policy and the sources' symbols, so an
    instruction that cannot be read is answered before the engine, its ML libraries or the
    ledger are loaded, and records nothing."""
    from mltrainer.agent.bridge import Bridge
    from mltrainer.agent.bridge.instruction import instruction_outcome, read_instruction
    from mltrainer.engine.compliance import ComplianceEngine

    read = read_instruction(Bridge(), ComplianceEngine(settings), text, defaults)
    if read.config is None:
        assert read.refusal is not None
        return instruction_outcome(read, read.refusal)

    from mltrainer.agent.messages import ToolCall
    from mltrainer.agent.session.call_log import CallLog
    from mltrainer.agent.session.dispatch import LiveExecutor
    from mltrainer.agent.session.runs import new_session_id
    from mltrainer.engine.service import ResearchService
    from mltrainer.tools.results import dump, failed

    session_id = new_session_id()
    service = ResearchService(settings, session=session_id)
    call = ToolCall(
        id=f"train_{uuid.uuid4().hex[:12]}",
        name="train_model",
        arguments=read.config.model_dump_json(exclude_unset=True),
    )
    log = CallLog(settings, session_id=session_id, kind="train", goal=text, tools=[call.name])
    reason = "interrupted"
    try:
        run = asyncio.run(LiveExecutor(service, progress=progress).execute([call])).runs[0]
        log.record("", [call], [run])
        reason = "the trial failed" if failed(run.output) else "trained"
    finally:
        log.close(reason)
    return {**instruction_outcome(read, dump(run.output)), "transcript": str(log.path)}


def _status_line(status: Status) -> ProgressHook:
    """The spinner names the trial, then the step the engine reports (fold 2 of 5, ...)."""
    from mltrainer.agent.session.progress import ToolProgress, ToolStarted

    def hook(event: ToolEvent) -> None:
        match event:
            case ToolStarted(label=label):
                status.update(f"{label} ...")
            case ToolProgress(label=label):
                status.update(f"{label}: {event.text()} ...")
            case _:
                pass

    return hook
