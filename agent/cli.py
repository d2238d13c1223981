"""The `mltrainer` command line. Library errors become one line on stderr and exit code 1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from mltrainer.agent.cli_data import data_app
from mltrainer.agent.cli_progress import message_hook, progress_hook
from mltrainer.agent.loop import SessionSummary
from mltrainer.engine.errors import MLTrainerError
from mltrainer.engine.settings import Settings, load_settings

app = typer.Typer(
    help="Honest machine-learning research on market data, driven by an LLM.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
trials_app = typer.Typer(help="Recorded trials (the ledger).", no_args_is_help=True)
app.add_typer(trials_app, name="trials")
app.add_typer(data_app, name="data")

# Pipes get 80 columns from rich by default, too narrow for the results table.
console = Console(width=None if Console().is_terminal else 120)
errors = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")

DEMO_GOAL = (
    "Find out whether the next day's direction of the S&P 500 (SPX) or the NASDAQ Composite "
    "(IXIC) can be predicted from past prices and volume better than naive baselines."
)
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def _fail(message: str) -> typer.Exit:
    errors.print(f"[red]error:[/red] {escape(message)}", highlight=False)
    return typer.Exit(1)


def _run(action: Callable[[], T]) -> T:
    try:
        return action()
    except MLTrainerError as error:
        raise _fail(str(error)) from error


def _without_credentials(url: str | None) -> str | None:
    """The URL as it may be written to a transcript: no user:password@, no query tokens."""
    if url is None:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _settings() -> Settings:
    try:
        return load_settings()
    except ValidationError as error:
        raise _fail(
            f"invalid settings in the environment or .env: {error.errors()[0]['msg']} "
            f"({'.'.join(str(p) for p in error.errors()[0]['loc'])})"
        ) from error


def _await(coroutine_factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return _run(lambda: asyncio.run(coroutine_factory()))


def _trials_table(rows: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title)
    for column in (
        "trial",
        "model",
        "symbol",
        "data",
        "test acc",
        "best baseline",
        "p-value",
        "Sharpe",
        "B&H Sharpe",
    ):
        table.add_column(
            column,
            justify="right"
            if column not in ("model", "symbol", "data", "best baseline")
            else "left",
        )
    for row in rows:
        table.add_row(
            str(row.get("trial")),
            str(row.get("model")),
            str(row.get("symbol")),
            "[red]SYNTHETIC[/red]"
            if row.get("data") == "SYNTHETIC DATA" or row.get("synthetic") is True
            else "real",
            f"{row['test_accuracy']:.1%}",
            f"{row.get('best_baseline')} {row['baseline_accuracy']:.1%}",
            f"{row['p_value']:.3f}",
            f"{row['sharpe']:.2f}",
            f"{row['buy_hold_sharpe']:.2f}",
        )
    return table


def _print_summary(summary: SessionSummary, as_json: bool) -> None:
    if as_json:
        print(json.dumps(_summary_dict(summary), indent=2, default=str))
        return
    if summary.trials:
        console.print(_trials_table(summary.trials, "Trials this session (all out of sample)"))
    console.print(
        f"Session ended: [bold]{summary.reason}[/bold] after {summary.turns} turns, "
        f"{summary.tool_calls} tool calls, {summary.usage.total_tokens} tokens"
        + (f", ${summary.usage.cost_usd:.4f}" if summary.usage.cost_usd else "")
    )
    if summary.conclusion:
        console.print(f"[bold]Conclusion:[/bold] {summary.conclusion}")
    console.print(f"Transcript: {summary.transcript}")


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
        "transcript": str(summary.transcript),
    }


def _exit_for(summary: SessionSummary) -> None:
    """Budgets end a session normally; a provider failure or a tool failing past its retry
    budget is a failed run."""
    if summary.reason.startswith(("provider error", "tool ")):
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
    hook, stop = progress_hook(console, not as_json)
    if not as_json:
        console.print(f"[bold]Goal:[/bold] {DEMO_GOAL}")
    try:
        summary = _await(
            lambda: start_session(
                ScriptedProvider.from_file(script),
                DEMO_GOAL,
                settings=settings,
                transcript_path=transcript,
                progress=hook,
                provider_options={"script": str(script)},
                on_message=message_hook(console, not as_json),
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
    max_turns: Annotated[int, typer.Option(min=1)] = 20,
    max_tool_calls: Annotated[int, typer.Option(min=1)] = 60,
    max_tokens: Annotated[int, typer.Option(min=1000)] = 400_000,
    max_cost: Annotated[
        float | None, typer.Option(help="Stop when the LLM cost reaches this (USD).")
    ] = None,
    max_seconds: Annotated[float, typer.Option(min=1)] = 900.0,
    transcript: Annotated[Path | None, typer.Option(help="Where to write the transcript.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Run a research session with an LLM; its text and every tool error print as they happen.
    The full help (`RUN_HELP`) also documents the scripted-turns file format."""
    from mltrainer.agent.providers import make_provider
    from mltrainer.agent.runs import start_session
    from mltrainer.agent.session import Budgets

    settings = _settings()
    llm = _run(lambda: make_provider(provider, model=model, base_url=base_url, script=script))
    budgets = Budgets(max_turns, max_tool_calls, max_tokens, max_cost, max_seconds)
    options = {
        "base_url": _without_credentials(base_url),
        "script": str(script.resolve()) if script else None,
    }
    hook, stop = progress_hook(console, not as_json)
    try:
        summary = _await(
            lambda: start_session(
                llm,
                goal,
                settings=settings,
                budgets=budgets,
                transcript_path=transcript,
                progress=hook,
                provider_options=options,
                on_message=message_hook(console, not as_json),
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
    as_json: JsonOption = False,
) -> None:
    """Continue a session that was killed, appending to its transcript.

    Example: mltrainer resume ~/.local/share/mltrainer/transcripts/SESSION.jsonl
    """
    from mltrainer.agent.runs import resume_session

    settings = _settings()
    hook, stop = progress_hook(console, not as_json)
    try:
        summary = _await(
            lambda: resume_session(
                file,
                settings=settings,
                progress=hook,
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
    from mltrainer.tools import export_schemas

    if fmt not in ("openai", "anthropic", "json"):
        raise _fail(f"unknown format '{fmt}'; choose openai, anthropic or json")
    print(json.dumps(export_schemas(fmt), indent=2))  # type: ignore[arg-type]


@trials_app.command("list")
def trials_list(
    symbol: Annotated[str | None, typer.Option(help="Only this symbol.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
    as_json: JsonOption = False,
) -> None:
    """List recorded trials, newest first.

    Example: mltrainer trials list --symbol SPX
    """
    from mltrainer.engine.ledger import Ledger

    settings = _settings()
    rows = Ledger(settings.db_path).rows(limit=limit, symbol=symbol)
    if as_json:
        print(json.dumps([r.model_dump() for r in rows], indent=2))
        return
    table_rows = [
        {
            **r.model_dump(),
            "data": "SYNTHETIC DATA" if r.synthetic else "REAL DATA",
            "baseline_accuracy": r.best_baseline,
            "best_baseline": "",
        }
        for r in rows
    ]
    console.print(_trials_table(table_rows, f"{len(rows)} recorded trials (out of sample)"))


@trials_app.command("show")
def trials_show(
    trial: Annotated[str, typer.Argument(help="Trial number or model id.")],
    as_json: JsonOption = False,
) -> None:
    """Show one recorded trial in full.

    Example: mltrainer trials show 3
    """
    from mltrainer.engine.ledger import Ledger

    settings = _settings()
    result = Ledger(settings.db_path).result(trial)
    if result is None:
        raise _fail(f"no recorded trial '{trial}'; see `mltrainer trials list`")
    if as_json:
        print(json.dumps(result, indent=2))
        return
    from mltrainer.engine.runner import result_summary

    console.print(
        _trials_table([result_summary(result)], f"Trial {result['trial']}: {result['model_id']}")
    )
    table = Table(title="Details")
    table.add_column("field")
    table.add_column("value")
    test = result["test"]
    bt = result["backtest"]
    for name, value in (
        (
            "data",
            "{data_label} {provenance[source]} {provenance[rows]} rows hash "
            "{provenance[content_hash]}".format(**result),
        ),
        ("train period", " to ".join(result["train_period"])),
        ("test period", " to ".join(result["test_period"])),
        (
            "train / test accuracy",
            f"{result['train_accuracy']:.1%} / {result['test_accuracy']:.1%}",
        ),
        (
            "walk-forward accuracy",
            f"{result['walk_forward_accuracy']:.1%} over {len(result['walk_forward'])} folds",
        ),
        ("precision / recall", f"{test['precision']:.3f} / {test['recall']:.3f}"),
        ("AUC / log loss", f"{test['auc']} / {test['log_loss']}"),
        (
            "long/flat",
            _strategy_line(bt["long_flat"]) + f", max DD {bt['long_flat']['max_drawdown']:.1%}",
        ),
        (
            "long/short",
            _strategy_line(bt["long_short"]),
        ),
        (
            "buy and hold",
            _strategy_line(bt["buy_and_hold"]),
        ),
        ("costs", f"{bt['cost_bps']} bps"),
        ("config", json.dumps(result["config"])),
        ("seed / version", f"{result['seed']} / {result['code_version']}"),
        ("notes", "; ".join(result.get("notes", [])) or "-"),
    ):
        table.add_row(name, value)
    console.print(table)


def _strategy_line(stats: dict[str, Any]) -> str:
    return f"return {stats['annual_return']:.1%}, Sharpe {stats['sharpe']:.2f}"


# `train` lives in its own module and uses the helpers above, so it is registered last.
from mltrainer.agent.cli_train import train  # noqa: E402

app.command()(train)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
