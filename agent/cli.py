"""The `mltrainer` command line. Every failure is one line on stderr (see `cli_errors`)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from contextlib import nullcontext
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from mltrainer.agent.cli_data import data_app
from mltrainer.agent.cli_errors import OneLineErrors, errors, fail, load_cli_settings, run_reported
from mltrainer.agent.cli_interrupt import run_interruptible
from mltrainer.agent.cli_tables import finalized_table as _finalized_table
from mltrainer.agent.cli_tables import trials_table as _trials_table
from mltrainer.agent.cli_trials import trials_app
from mltrainer.agent.dispatch import ProgressHook
from mltrainer.agent.loop import SessionSummary
from mltrainer.engine.redaction import redact_text
from mltrainer.engine.settings import Settings

app = typer.Typer(
    help="Honest machine-learning research on market data, driven by an LLM.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=OneLineErrors,
)
app.add_typer(trials_app, name="trials")
app.add_typer(data_app, name="data")

# Pipes get 80 columns from rich by default, too narrow for the results table.
console = Console(width=None if Console().is_terminal else 140)
T = TypeVar("T")

DEMO_GOAL = (
    "Find out whether the next day's direction of the S&P 500 (SPX) or the NASDAQ Composite "
    "(IXIC) can be predicted from past prices and volume better than naive baselines."
)
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def _fail(message: str) -> typer.Exit:
    return fail(message)


def _run(action: Callable[[], T]) -> T:
    result: T = run_reported(action)
    return result


def _settings() -> Settings:
    return load_cli_settings()


def _await(coroutine_factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return _run(lambda: asyncio.run(coroutine_factory()))


def _await_session(session: Callable[[asyncio.Event], Coroutine[Any, Any, T]]) -> T:
    """Like `_await`, with Ctrl-C stopping the session cleanly (see `cli_interrupt`)."""
    return _run(lambda: run_interruptible(session, errors))


def _progress_hook(enabled: bool) -> tuple[ProgressHook | None, Callable[[], None]]:
    """A rich status line naming the tools running now (several run in parallel)."""
    if not enabled:
        return None, lambda: None
    running: list[str] = []
    status = console.status("waiting for the model ...")
    status.start()

    def label(name: str, payload: dict[str, Any] | None) -> str:
        if name == "train_model" and payload:
            return f"training {payload.get('model')} on {payload.get('symbol')}"
        return name

    def hook(event: str, name: str, payload: dict[str, Any] | None) -> None:
        if event == "start":
            running.append(label(name, payload))
        elif running:
            finished = running.pop(0)
            if name == "train_model" and payload and payload.get("status") == "success":
                console.print(
                    f"  [green]✓[/green] trial {payload.get('trial')}: {payload['model']} on "
                    f"{payload['symbol']} selection accuracy {payload['selection_accuracy']:.1%}"
                )
            elif payload and payload.get("type") == "finalized":
                holdout = payload["holdout"]
                console.print(
                    f"  [green]✓[/green] finalized trial {payload['trial']} on the locked "
                    f"holdout: accuracy {holdout['accuracy']:.1%}, p-value "
                    f"{holdout['baselines']['p_value']:.3f}"
                )
            elif payload and payload.get("status") == "error":
                console.print(f"  [yellow]![/yellow] {finished}: {payload.get('error')}")
        status.update(", ".join(running) + " ..." if running else "waiting for the model ...")

    return hook, status.stop


def _print_summary(summary: SessionSummary, as_json: bool) -> None:
    if as_json:
        print(json.dumps(_summary_dict(summary), indent=2, default=str))
        return
    if summary.trials:
        console.print(
            _trials_table(summary.trials, "Trials this session (selection segment, out of sample)")
        )
    if summary.finalized:
        console.print(_finalized_table(summary.finalized))
    elif summary.trials:
        console.print(
            "No trial was finalized: the selection numbers above are optimistic after "
            f"{len(summary.trials)} tries (see adj. p)."
        )
    console.print(
        f"Session ended: [bold]{summary.reason}[/bold] after {summary.turns} turns, "
        f"{summary.tool_calls} tool calls, {summary.usage.total_tokens} tokens"
        + (f", ${summary.usage.cost_usd:.4f}" if summary.usage.cost_usd else "")
    )
    if summary.conclusion:
        console.print(f"[bold]Conclusion:[/bold] {summary.conclusion}")
    console.print(f"Transcript: {summary.transcript}")
    if summary.resumable:
        console.print(f"Resume with: mltrainer resume {summary.transcript}")


def _summary_dict(summary: SessionSummary) -> dict[str, Any]:
    return {
        "reason": summary.reason,
        "finished": summary.finished,
        "conclusion": summary.conclusion,
        "best_trial": summary.best_trial,
        "turns": summary.turns,
        "tool_calls": summary.tool_calls,
        "usage": {
            "input_tokens": summary.usage.input_tokens,
            "output_tokens": summary.usage.output_tokens,
            "cost_usd": summary.usage.cost_usd,
        },
        "trials": summary.trials,
        "finalized": summary.finalized,
        "transcript": str(summary.transcript),
        "resumable": summary.resumable,
    }


def _exit_for(summary: SessionSummary) -> None:
    """Budgets end a session normally; a provider failure, a tool failing past its retry
    budget or Ctrl-C is a failed (or unfinished) run."""
    if summary.reason.startswith(("provider error", "tool ")) or summary.resumable:
        raise typer.Exit(1)


@app.command()
def demo(
    transcript: Annotated[Path | None, typer.Option(help="Where to write the transcript.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Run a short scripted research session on real offline sample data (no key, no network).

    Example: mltrainer demo
    """
    from mltrainer.agent.providers import ScriptedProvider
    from mltrainer.agent.runs import start_session

    script = Path(str(resources.files("mltrainer.prompts").joinpath("demo_script.yaml")))
    settings = _settings()
    hook, stop = _progress_hook(not as_json)
    if not as_json:
        console.print(f"[bold]Goal:[/bold] {DEMO_GOAL}")
    try:
        summary = _await_session(
            lambda interrupt: start_session(
                ScriptedProvider.from_file(script),
                DEMO_GOAL,
                settings=settings,
                transcript_path=transcript,
                progress=hook,
                provider_options={"script": str(script)},
                interrupt=interrupt,
            )
        )
    finally:
        stop()
    _print_summary(summary, as_json)
    _exit_for(summary)


@app.command()
def run(
    goal: Annotated[str, typer.Option(help="The research goal, sent as the first user turn.")],
    provider: Annotated[str, typer.Option(help="openai, anthropic or scripted.")] = "openai",
    model: Annotated[
        str, typer.Option(help="Model name, e.g. gpt-4.1-mini or claude-haiku-4-5.")
    ] = "gpt-4.1-mini",
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible server (vLLM, Ollama, ...).")
    ] = None,
    script: Annotated[Path | None, typer.Option(help="Turns file for --provider scripted.")] = None,
    max_turns: Annotated[int, typer.Option(min=1, max=1_000_000)] = 20,
    max_tool_calls: Annotated[int, typer.Option(min=1, max=1_000_000)] = 60,
    max_tokens: Annotated[int, typer.Option(min=1000, max=10**12)] = 400_000,
    max_cost: Annotated[
        float | None,
        typer.Option(min=0, max=1_000_000, help="Stop when the LLM cost reaches this (USD)."),
    ] = None,
    max_seconds: Annotated[
        float, typer.Option(min=1, max=7 * 24 * 3600, help="Wall-time deadline (seconds).")
    ] = 900.0,
    transcript: Annotated[Path | None, typer.Option(help="Where to write the transcript.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Run a research session with an LLM.

    Example: mltrainer run --goal "Is SPX predictable?" --provider anthropic
    --model claude-haiku-4-5
    """
    from mltrainer.agent.providers import make_provider
    from mltrainer.agent.runs import start_session
    from mltrainer.agent.session import Budgets

    settings = _settings()
    llm = _run(lambda: make_provider(provider, model=model, base_url=base_url, script=script))
    budgets = Budgets(max_turns, max_tool_calls, max_tokens, max_cost, max_seconds)
    options = {
        "base_url": redact_text(base_url) if base_url else None,
        "script": str(script.resolve()) if script else None,
    }
    hook, stop = _progress_hook(not as_json)
    try:
        summary = _await_session(
            lambda interrupt: start_session(
                llm,
                goal,
                settings=settings,
                budgets=budgets,
                transcript_path=transcript,
                progress=hook,
                provider_options=options,
                interrupt=interrupt,
            )
        )
    finally:
        stop()
    _print_summary(summary, as_json)
    _exit_for(summary)


@app.command()
def replay(
    file: Annotated[Path, typer.Argument(help="A transcript (.jsonl) written by run or demo.")],
    check: Annotated[
        bool, typer.Option(help="Re-execute the tools and report differing results.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Re-run a recorded session offline from its transcript.

    Example: mltrainer replay ~/.local/share/mltrainer/transcripts/SESSION.jsonl --check
    """
    from mltrainer.agent.runs import replay_session

    settings = _settings()
    report = _await(lambda: replay_session(file, settings=settings, check=check))
    if as_json:
        print(
            json.dumps(
                {
                    **_summary_dict(report.summary),
                    "checked": report.checked,
                    "differences": report.differences,
                },
                indent=2,
                default=str,
            )
        )
    else:
        _print_summary(report.summary, False)
        if check:
            console.print(
                f"Re-executed {report.checked} tool calls: "
                + (
                    "all results match"
                    if not report.differences
                    else f"{len(report.differences)} differ"
                )
            )
            for line in report.differences:
                console.print(f"  [red]differs[/red] {line}")
    if report.summary.reason.startswith("provider error") or report.differences:
        raise typer.Exit(1)


@app.command()
def resume(
    file: Annotated[Path, typer.Argument(help="The transcript of a session that was killed.")],
    provider: Annotated[
        str | None, typer.Option(help="openai, anthropic or scripted (default: as recorded).")
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model name (default: as recorded).")] = None,
    base_url: Annotated[
        str | None,
        typer.Option(help="Server to continue against; a recorded one is used only if repeated."),
    ] = None,
    script: Annotated[Path | None, typer.Option(help="Turns file for a scripted session.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Continue a session that was killed or stopped with Ctrl-C, appending to its transcript.

    Your API key goes only to the server you name: a base URL recorded in the transcript is
    used only when you repeat it with --base-url.

    Example: mltrainer resume ~/.local/share/mltrainer/transcripts/SESSION.jsonl
    """
    from mltrainer.agent.resume_provider import ProviderRequest
    from mltrainer.agent.runs import resume_session

    settings = _settings()
    request = ProviderRequest(provider, model, base_url, script)
    hook, stop = _progress_hook(not as_json)
    try:
        summary = _await_session(
            lambda interrupt: resume_session(
                file,
                settings=settings,
                progress=hook,
                request=request,
                notice=lambda note: errors.print(f"note: {note}", markup=False),
                interrupt=interrupt,
            )
        )
    finally:
        stop()
    _print_summary(summary, as_json)
    _exit_for(summary)


@app.command()
def train(
    instruction: Annotated[
        str, typer.Argument(help="e.g. 'train a random forest on MSFT with an 80/20 split'")
    ],
    as_json: JsonOption = False,
) -> None:
    """Train one model from a natural-language instruction and print the out-of-sample result.

    Example: mltrainer train "LightGBM on SPX, 70/30 split, 30 day lookback"
    """
    from mltrainer.agent.trainer import MLTrainer

    with console.status("training ...", spinner="dots") if not as_json else nullcontext():
        outcome = _run(lambda: MLTrainer().process_ai_instruction(instruction))
    result = outcome["ml_result"]
    if as_json:
        print(json.dumps(outcome, indent=2, default=str))
    else:
        if result.get("status") == "success":
            from mltrainer.engine.runner import result_summary

            console.print(_trials_table([result_summary(result)], "Trial (out of sample)"))
        console.print(outcome["feedback_question"], soft_wrap=True)
    if result.get("status") != "success":
        if not as_json:
            errors.print(f"error: {result.get('error')}", markup=False, highlight=False)
        raise typer.Exit(1)


@app.command()
def tools(
    fmt: Annotated[str, typer.Option("--format", help="openai, anthropic or json.")] = "json",
) -> None:
    """Print the tool schemas the LLM sees.

    Example: mltrainer tools --format anthropic
    """
    from mltrainer.tools import export_schemas

    if fmt not in ("openai", "anthropic", "json"):
        raise _fail(f"unknown format '{fmt}'; choose openai, anthropic or json")
    print(json.dumps(export_schemas(fmt), indent=2))  # type: ignore[arg-type]


@app.command()
def finalize(
    trial: Annotated[int, typer.Argument(help="The trial whose configuration to score.", min=1)],
    as_json: JsonOption = False,
) -> None:
    """Score one trial's configuration on its dataset's locked holdout: refit on everything
    before the holdout, score the holdout. Every look is counted in the ledger; from the second
    look on, results say the holdout is no longer untouched.

    Example: mltrainer finalize 3
    """
    from mltrainer.engine.service import ResearchService
    from mltrainer.tools.research import final_summary

    settings = _settings()
    service = _run(lambda: ResearchService(settings))
    with console.status("refitting and scoring the holdout ...") if not as_json else nullcontext():
        final = _run(lambda: service.finalize(trial))
    if as_json:
        print(json.dumps(final.model_dump(mode="json"), indent=2))
        return
    console.print(_finalized_table([final_summary(final.model_dump(mode="json"))]))
    for note in final.notes:
        console.print(f"note: {note}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
