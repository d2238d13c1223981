"""The `mltrainer` command line. Every failure is one line on stderr (see `cli_errors`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from mltrainer.agent.cli_data import data_app
from mltrainer.agent.cli_errors import OneLineErrors, errors, fail, load_cli_settings, run_reported
from mltrainer.agent.cli_executor import ExecutorOption, SchedulerOption, executor_settings
from mltrainer.agent.cli_metrics import MetricsHost, MetricsLinger, MetricsPort, metrics_served
from mltrainer.agent.cli_progress import message_hook, progress_hook
from mltrainer.engine.redaction import redact_text

if TYPE_CHECKING:  # asyncio, sessions and settings load with the command that needs them
    import asyncio

    from mltrainer.agent.loop import SessionSummary
    from mltrainer.engine.settings import Settings

app = typer.Typer(
    help="Honest machine-learning research on market data, driven by an LLM.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=OneLineErrors,
)
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
    import asyncio

    return _run(lambda: asyncio.run(coroutine_factory()))


def _await_session(session: Callable[[asyncio.Event], Coroutine[Any, Any, T]]) -> T:
    """Like `_await`, with Ctrl-C stopping the session cleanly (see `cli_interrupt`)."""
    from mltrainer.agent.cli_interrupt import run_interruptible

    return _run(lambda: run_interruptible(session, errors))


_BASELINE_NAMES = {
    "majority_class": "majority",
    "always_up": "always up",
    "previous_direction": "prev. dir.",
}


def _baseline(row: dict[str, Any]) -> str:
    name = _BASELINE_NAMES.get(str(row.get("best_baseline") or ""), "")
    return f"{row['baseline_accuracy']:.1%} {name}".strip()


def _p(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}"


def _trials_table(rows: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title)
    for column, left in (
        ("trial", False),
        ("model", True),
        ("symbol", True),
        ("data", True),
        ("selection acc", False),
        ("best baseline", False),
        ("p-value", False),
        ("adj. p", False),
        ("Sharpe", False),
        ("B&H Sharpe", False),
    ):
        table.add_column(column, justify="left" if left else "right")
    for row in rows:
        accuracy = row.get("selection_accuracy", row.get("test_accuracy"))
        table.add_row(
            str(row.get("trial")),
            str(row.get("model")),
            str(row.get("symbol")),
            _data_label(row),
            f"{accuracy:.1%}",
            _baseline(row),
            _p(row.get("p_value")),
            _p(row.get("p_value_adjusted")),
            f"{row['sharpe']:.2f}",
            f"{row['buy_hold_sharpe']:.2f}",
        )
    return table


def _data_label(row: dict[str, Any]) -> str:
    label = str(row.get("data") or "")
    if label == "SYNTHETIC DATA" or row.get("synthetic") is True:
        return "[red]SYNTHETIC[/red]"
    return "caller" if label == "CALLER DATA" else "real"


def _finalized_table(rows: list[dict[str, Any]]) -> Table:
    """One column per finalized trial: the holdout numbers are what a session reports."""
    table = Table(title="Locked holdout (finalize): the numbers to report")
    table.add_column("")
    for row in rows:
        table.add_column(f"trial {row['trial']}", justify="right")
    lines: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("model / symbol", lambda r: f"{r['model']} / {r['symbol']} ({_data_label(r)})"),
        ("holdout period", lambda r: " to ".join(str(d) for d in r["holdout_period"])),
        ("selection accuracy", lambda r: f"{r['selection_accuracy']:.1%}"),
        ("holdout accuracy", lambda r: f"{r['holdout_accuracy']:.1%}"),
        ("best baseline", lambda r: f"{r['best_baseline']} {r['baseline_accuracy']:.1%}"),
        (
            "p-value (binomial / McNemar)",
            lambda r: f"{_p(r['p_value'])} / {_p(r['mcnemar_p_value'])}",
        ),
        ("Sharpe vs buy-and-hold", lambda r: f"{r['sharpe']:.2f} vs {r['buy_hold_sharpe']:.2f}"),
        ("execution", lambda r: str(r["execution"])),
        ("deflated Sharpe (selection)", lambda r: _p(r["dsr"])),
        ("PBO (selection window)", lambda r: _p(r["pbo"])),
        ("tries on the dataset", lambda r: str(r["tries"])),
        (
            "holdout look",
            lambda r: f"{r['look']}" + (" (untouched)" if r["untouched"] else " (NOT untouched)"),
        ),
    ]
    for label, render in lines:
        table.add_row(label, *(render(row) for row in rows))
    return table


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
        + (
            f" ({summary.usage.cached_input_tokens} input tokens from the prompt cache)"
            if summary.usage.cached_input_tokens
            else ""
        )
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
        "usage": summary.usage.as_record(),
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
    executor: ExecutorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run a short scripted research session on real offline sample data (no key, no network).

    Example: mltrainer demo
    """
    from importlib import resources

    from mltrainer.agent.providers import ScriptedProvider
    from mltrainer.agent.runs import start_session

    script = Path(str(resources.files("mltrainer.prompts").joinpath("demo_script.yaml")))
    settings = executor_settings(executor, None)
    hook, stop = progress_hook(console, not as_json)
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
                on_message=message_hook(console, not as_json),
                interrupt=interrupt,
            )
        )
    finally:
        stop()
    _print_summary(summary, as_json)
    _exit_for(summary)


RUN_HELP = (
    "Run a research session with an LLM; its text and every tool error print as they happen."
    '\n\nExample: mltrainer run --goal "Is SPX predictable?" --provider anthropic '
    "--model claude-haiku-4-5"
    "\n\nScripted runs (--provider scripted --script FILE): the file is a YAML list (JSON when "
    "it ends in .json) of assistant turns, played in order whatever the agent says. A turn is a "
    'string (free text, which the bridge reads and builds on the last trial: "continue", '
    '"retrain with a 0.9 ratio", "switch to logistic regression"), or a mapping with '
    '"text" and/or "tool_calls"; a tool call has a "name" and "arguments" (a '
    "mapping, or a string sent as is, e.g. malformed JSON on purpose). A script that ends "
    'without a finish call ends as "script finished". A complete example ships as '
    "prompts/example_script.yaml:"
    '\n\n- "Train a random forest on SPX with an 80/20 split and a 30 day lookback."'
    '\n- "retrain with a 0.9 ratio"'
    "\n- tool_calls:\n    - name: train_model\n"
    "      arguments: {symbol: IXIC, model: lightgbm, train_ratio: 0.8}"
    "\n- tool_calls:\n    - name: finish\n"
    '      arguments: {conclusion: "Nothing beats the baseline."}'
)


@app.command(help=RUN_HELP)
def run(
    goal: Annotated[str, typer.Option(help="The research goal, sent as the first user turn.")],
    provider: Annotated[str, typer.Option(help="openai, anthropic or scripted.")] = "openai",
    model: Annotated[
        str, typer.Option(help="Model name, e.g. gpt-4.1-mini or claude-haiku-4-5.")
    ] = "gpt-4.1-mini",
    base_url: Annotated[
        str | None, typer.Option(help="OpenAI-compatible server (vLLM, Ollama, ...).")
    ] = None,
    script: Annotated[
        Path | None,
        typer.Option(help="Turns file (YAML or JSON) for --provider scripted; format below."),
    ] = None,
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
    executor: ExecutorOption = None,
    scheduler: SchedulerOption = None,
    as_json: JsonOption = False,
    metrics_port: MetricsPort = None,
    metrics_host: MetricsHost = "127.0.0.1",
    metrics_linger: MetricsLinger = 0.0,
) -> None:
    """Run a research session with an LLM; its text and every tool error print as they happen.
    The full help (`RUN_HELP`) also documents the scripted-turns file format."""
    from mltrainer.agent.providers import make_provider
    from mltrainer.agent.runs import start_session
    from mltrainer.agent.session import Budgets

    settings = executor_settings(executor, scheduler)
    llm = _run(lambda: make_provider(provider, model=model, base_url=base_url, script=script))
    budgets = Budgets(max_turns, max_tool_calls, max_tokens, max_cost, max_seconds)
    options = {
        "base_url": redact_text(base_url) if base_url else None,
        "script": str(script.resolve()) if script else None,
    }
    with metrics_served(metrics_port, metrics_host, metrics_linger):
        hook, stop = progress_hook(console, not as_json)
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
                    on_message=message_hook(console, not as_json),
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
    hook, stop = progress_hook(console, not as_json)
    try:
        summary = _await_session(
            lambda interrupt: resume_session(
                file,
                settings=settings,
                progress=hook,
                request=request,
                notice=lambda note: errors.print(f"note: {note}", markup=False),
                interrupt=interrupt,
                on_message=message_hook(console, not as_json),
            )
        )
    finally:
        stop()
    _print_summary(summary, as_json)
    _exit_for(summary)


@app.command()
def tools(
    fmt: Annotated[str, typer.Option("--format", help="openai, anthropic or json.")] = "json",
) -> None:
    """Print the tool schemas the LLM sees.

    Example: mltrainer tools --format anthropic
    """
    from importlib.metadata import entry_points

    from mltrainer.agent.plugins import PLUGIN_GROUP, load_plugins

    if fmt not in ("openai", "anthropic", "json"):
        raise _fail(f"unknown format '{fmt}'; choose openai, anthropic or json")
    if not entry_points(group=PLUGIN_GROUP):  # only the built-in tools: their shipped schemas
        from mltrainer.agent.tool_schemas import shipped

        print(json.dumps(shipped(fmt), indent=2))
        return
    from mltrainer.tools import export_schemas

    _run(load_plugins)
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


# `train` and `trials` live in their own modules and use the helpers above, so they are
# registered last.
from mltrainer.agent.cli_mcp import mcp  # noqa: E402
from mltrainer.agent.cli_report import report  # noqa: E402
from mltrainer.agent.cli_train import train  # noqa: E402
from mltrainer.agent.cli_trials import trials_app  # noqa: E402
from mltrainer.agent.cli_ui import ui  # noqa: E402

app.command()(train)
app.command()(report)
app.command()(ui)
app.command()(mcp)
app.add_typer(trials_app, name="trials")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
