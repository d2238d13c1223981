"""`mltrainer report`: an HTML report and PNG figures for a trial or a whole session, written
under the data home's `reports/`, for people who look rather than read."""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated

import typer

from mltrainer.agent.cli.common import JsonOption, console
from mltrainer.agent.cli.errors import fail, load_cli_settings, run_reported


def report(
    transcript: Annotated[
        Path | None,
        typer.Argument(help="A session's transcript (.jsonl); or give --trial instead."),
    ] = None,
    trial: Annotated[
        int | None, typer.Option("--trial", min=1, help="Report one recorded trial.")
    ] = None,
    repeats: Annotated[
        int,
        typer.Option(min=1, max=100, help="Shuffles per feature for permutation importance."),
    ] = 10,
    as_json: JsonOption = False,
) -> None:
    """Write a self-contained HTML report and its PNG figures into the data home's reports/
    and print the HTML's path: equity curve and drawdown of each strategy against
    buy-and-hold, accuracy of each trial against its baselines and the best-of-N noise band,
    confusion matrix, and permutation importance on the selection segment.

    Example: mltrainer report --trial 3
    Example: mltrainer report ~/.local/share/mltrainer/transcripts/SESSION.jsonl
    """
    if (transcript is None) == (trial is None):
        raise fail("give a transcript or --trial N (one of them)")
    from mltrainer.agent.report.writer import session_report, trial_report

    settings = load_cli_settings()
    with console.status("drawing the report ...") if not as_json else nullcontext():
        if trial is not None:
            written = run_reported(lambda: trial_report(settings, trial, repeats=repeats))
        else:
            assert transcript is not None
            written = run_reported(lambda: session_report(settings, transcript, repeats=repeats))
    if as_json:
        print(
            json.dumps(
                {
                    "html": str(written.html),
                    "figures": [str(f) for f in written.figures],
                    "data": [str(f) for f in written.data],
                    "notes": written.notes,
                },
                indent=2,
            )
        )
        return
    for note in written.notes:
        console.print(f"note: {note}", highlight=False)
    console.print(f"{len(written.figures)} figures in {written.html.parent}", highlight=False)
    print(written.html)
