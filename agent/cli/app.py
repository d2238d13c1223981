"""The `mltrainer` command line: one typer app over the command modules beside this one. Every
failure is one line on stderr (see `errors`)."""

from __future__ import annotations

import gc
from typing import Annotated

import typer

from mltrainer.agent.cli.bench import bench_app
from mltrainer.agent.cli.data import data_app
from mltrainer.agent.cli.errors import OneLineErrors
from mltrainer.agent.cli.finalize import finalize
from mltrainer.agent.cli.mcp import mcp
from mltrainer.agent.cli.predict import predict
from mltrainer.agent.cli.report import report
from mltrainer.agent.cli.schemas import tools
from mltrainer.agent.cli.sessions import RUN_HELP, demo, replay, resume, run
from mltrainer.agent.cli.train import train
from mltrainer.agent.cli.trials import trials_app
from mltrainer.agent.cli.ui import ui

app = typer.Typer(
    help="Honest machine-learning research on market data, driven by an LLM.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=OneLineErrors,
)


def _print_version(asked: bool) -> None:
    if asked:
        from importlib.metadata import version

        typer.echo(f"mltrainer {version('mltrainer')}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Honest machine-learning research on market data, driven by an LLM."""


app.command()(demo)
app.command(help=RUN_HELP)(run)
app.command()(replay)
app.command()(resume)
app.command()(tools)
app.command()(finalize)
app.command()(train)
app.command()(predict)
app.command()(report)
app.command()(ui)
app.command()(mcp)
app.add_typer(bench_app, name="bench")
app.add_typer(data_app, name="data")
app.add_typer(trials_app, name="trials")


def main() -> None:
    try:
        app()
    finally:
        # As the interpreter exits it tears modules down with several full garbage-collection
        # passes over every object numpy, pandas, scikit-learn and Dask loaded: measured 3 to
        # 11 s on two busy cores, after the summary and past `--max-seconds`. The process is
        # ending, so its objects are frozen out of those passes; the atexit handlers (executors
        # closing their workers) and module teardown still run, only cycles go uncollected.
        gc.freeze()


if __name__ == "__main__":
    main()
