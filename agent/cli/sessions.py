"""The commands that run a research session: `demo` (scripted, offline), `run` (an LLM),
`resume` (a killed or stopped session) and `replay` (a recorded one)."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from mltrainer.agent.cli.common import JsonOption, await_result, await_session, console
from mltrainer.agent.cli.errors import errors, load_cli_settings, run_reported
from mltrainer.agent.cli.executor import ExecutorOption, SchedulerOption, executor_settings
from mltrainer.agent.cli.keys import KeyEnvOption, SendKeyOption, key_route
from mltrainer.agent.cli.metrics import MetricsHost, MetricsLinger, MetricsPort, metrics_served
from mltrainer.agent.cli.progress import message_hook, progress_hook
from mltrainer.agent.cli.tables import exit_for, print_summary, summary_dict
from mltrainer.engine.redaction import redact_text

if TYPE_CHECKING:
    import asyncio

    from mltrainer.agent.session.loop import SessionSummary
    from mltrainer.agent.session.progress import ProgressHook
    from mltrainer.agent.session.recorded import Difference

DEMO_GOAL = (
    "Find out whether the next day's direction of the S&P 500 (SPX) or the NASDAQ Composite "
    "(IXIC) can be predicted from past prices and volume better than naive baselines."
)


def demo(
    transcript: Annotated[Path | None, typer.Option(help="Where to write the transcript.")] = None,
    executor: ExecutorOption = None,
    as_json: JsonOption = False,
    metrics_port: MetricsPort = None,
    metrics_host: MetricsHost = "127.0.0.1",
    metrics_linger: MetricsLinger = 0.0,
) -> None:
    """Run a short scripted research session on real offline sample data (no key, no network).

    Example: mltrainer demo
    """
    from importlib import resources

    from mltrainer.agent.providers import ScriptedProvider
    from mltrainer.agent.session.runs import start_session

    script = Path(str(resources.files("mltrainer.prompts").joinpath("demo_script.yaml")))
    settings = executor_settings(executor, None)
    if not as_json:
        console.print(f"[bold]Goal:[/bold] {DEMO_GOAL}")
    run_reported_session(
        lambda interrupt, hook: start_session(
            ScriptedProvider.from_file(script),
            DEMO_GOAL,
            settings=settings,
            transcript_path=transcript,
            progress=hook,
            provider_options={"script": str(script)},
            on_message=message_hook(console, not as_json),
            interrupt=interrupt,
        ),
        as_json,
        (metrics_port, metrics_host, metrics_linger),
    )


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


def run(
    goal: Annotated[str, typer.Option(help="The research goal, sent as the first user turn.")],
    provider: Annotated[
        str, typer.Option(help="A registered provider, e.g. openai, anthropic or scripted.")
    ] = "openai",
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
    send_key_to_base_url: SendKeyOption = False,
    base_url_key_env: KeyEnvOption = None,
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
    from mltrainer.agent.session.runs import start_session
    from mltrainer.agent.session.state import Budgets

    settings = executor_settings(executor, scheduler)
    route = key_route(send_key_to_base_url, base_url_key_env)
    llm = run_reported(
        lambda: make_provider(
            provider, model=model, base_url=base_url, script=script, key_route=route
        )
    )
    budgets = Budgets(max_turns, max_tool_calls, max_tokens, max_cost, max_seconds)
    options = {
        "base_url": redact_text(base_url) if base_url else None,
        "script": str(script.resolve()) if script else None,
    }
    run_reported_session(
        lambda interrupt, hook: start_session(
            llm,
            goal,
            settings=settings,
            budgets=budgets,
            transcript_path=transcript,
            progress=hook,
            provider_options=options,
            on_message=message_hook(console, not as_json),
            interrupt=interrupt,
        ),
        as_json,
        (metrics_port, metrics_host, metrics_linger),
    )


def replay(
    file: Annotated[Path, typer.Argument(help="A transcript (.jsonl) written by run or demo.")],
    check: Annotated[
        bool,
        typer.Option(
            help="Also execute every tool call again, in a scratch copy of the data home "
            "(your ledger gains no trial and spends no holdout look), and show a diff of "
            "each result that differs from the recording."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Re-run a recorded session offline from its transcript.

    Example: mltrainer replay ~/.local/share/mltrainer/transcripts/SESSION.jsonl --check
    """
    from mltrainer.agent.session.runs import replay_session

    settings = load_cli_settings()
    report = await_result(lambda: replay_session(file, settings=settings, check=check))
    if as_json:
        print(
            json.dumps(
                {
                    **summary_dict(report.summary),
                    "checked": report.checked,
                    "differences": [d.as_record() for d in report.differences],
                },
                indent=2,
                default=str,
            )
        )
    else:
        print_summary(report.summary, False)
        if check:
            _print_differences(report.checked, report.differences)
    if report.summary.reason.startswith("provider error") or report.differences:
        raise typer.Exit(1)


# A diff longer than this is cut in the terminal; --json has every line.
DIFF_LINES_SHOWN = 40


def _print_differences(checked: int, differences: list[Difference]) -> None:
    verdict = f"{len(differences)} differ" if differences else "all results match"
    console.print(f"Re-executed {checked} tool calls in a scratch data home: {verdict}")
    for found in differences:
        console.print(f"[red]differs[/red] {escape(str(found))}", highlight=False)
        for line in found.diff[:DIFF_LINES_SHOWN]:
            style = {"+": "green", "-": "red", "@": "cyan"}.get(line[:1])
            console.print(f"  {line}", style=style, markup=False, highlight=False)
        if len(found.diff) > DIFF_LINES_SHOWN:
            console.print(
                f"  ... {len(found.diff) - DIFF_LINES_SHOWN} more lines (--json has them all)"
            )


def resume(
    file: Annotated[Path, typer.Argument(help="The transcript of a session that was killed.")],
    provider: Annotated[
        str | None,
        typer.Option(help="A registered provider, e.g. openai (default: as recorded)."),
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model name (default: as recorded).")] = None,
    base_url: Annotated[
        str | None,
        typer.Option(help="Server to continue against; a recorded one is used only if repeated."),
    ] = None,
    script: Annotated[Path | None, typer.Option(help="Turns file for a scripted session.")] = None,
    send_key_to_base_url: SendKeyOption = False,
    base_url_key_env: KeyEnvOption = None,
    as_json: JsonOption = False,
    metrics_port: MetricsPort = None,
    metrics_host: MetricsHost = "127.0.0.1",
    metrics_linger: MetricsLinger = 0.0,
) -> None:
    """Continue a session that was killed or stopped with Ctrl-C, appending to its transcript.

    Your API key goes only to the provider's own API: a base URL recorded in the transcript is
    used only when you repeat it with --base-url, and gets a key only with
    --send-key-to-base-url or --base-url-key-env, as in `mltrainer run`.

    Example: mltrainer resume ~/.local/share/mltrainer/transcripts/SESSION.jsonl
    """
    from mltrainer.agent.session.resume import ProviderRequest
    from mltrainer.agent.session.runs import resume_session

    settings = load_cli_settings()
    request = ProviderRequest(
        provider, model, base_url, script, key_route(send_key_to_base_url, base_url_key_env)
    )
    run_reported_session(
        lambda interrupt, hook: resume_session(
            file,
            settings=settings,
            progress=hook,
            request=request,
            notice=lambda note: errors.print(f"note: {note}", markup=False),
            interrupt=interrupt,
            on_message=message_hook(console, not as_json),
        ),
        as_json,
        (metrics_port, metrics_host, metrics_linger),
    )


def run_reported_session(
    session: Callable[[asyncio.Event, ProgressHook | None], Coroutine[Any, Any, SessionSummary]],
    as_json: bool,
    metrics: tuple[int | None, str, float],
) -> None:
    """What `demo`, `run` and `resume` share: /metrics served while the session runs (when a
    port is given), a status line for the tools running now, Ctrl-C stopping it cleanly, then
    the summary and the exit code it calls for."""
    with metrics_served(*metrics):
        hook, stop = progress_hook(console, not as_json)
        try:
            summary = await_session(lambda interrupt: session(interrupt, hook))
        finally:
            stop()
        print_summary(summary, as_json)
        exit_for(summary)
