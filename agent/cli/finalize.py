"""`mltrainer finalize`: one look at a dataset's locked holdout for one trial's configuration."""

from __future__ import annotations

import json
from contextlib import nullcontext
from typing import Annotated

import typer

from mltrainer.agent.cli.common import JsonOption, console
from mltrainer.agent.cli.errors import load_cli_settings, run_reported
from mltrainer.agent.cli.tables import finalized_table


def finalize(
    trial: Annotated[int, typer.Argument(help="The trial whose configuration to score.", min=1)],
    again: Annotated[
        bool,
        typer.Option(
            "--again",
            help="Look at a holdout that was already scored; its p-values are then adjusted "
            "(Holm) over every look at it.",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Score one trial's configuration on its dataset's locked holdout: refit on everything
    before the holdout, score the holdout. A holdout is scored once: a second look (from any
    session, under any name for the same bars) is refused, naming the first, unless --again;
    then every holdout p-value is shown adjusted over all looks, the raw one beside it.

    Example: mltrainer finalize 3
    """
    from mltrainer.engine.results import FinalSummary
    from mltrainer.engine.service import ResearchService

    settings = load_cli_settings()
    service = run_reported(lambda: ResearchService(settings))
    with console.status("refitting and scoring the holdout ...") if not as_json else nullcontext():
        final = run_reported(lambda: service.finalize(trial, again=again))
    if as_json:
        print(json.dumps(final.model_dump(mode="json"), indent=2))
        return
    console.print(finalized_table([FinalSummary.of(final)]))
    for note in final.notes:
        console.print(f"note: {note}")
