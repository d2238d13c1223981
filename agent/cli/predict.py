"""`mltrainer predict`: a recorded trial's saved model on the newest bars its data source has."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer
from rich.markup import escape

from mltrainer.agent.cli.common import JsonOption, console
from mltrainer.agent.cli.errors import load_cli_settings, run_reported
from mltrainer.agent.cli.layout import FittedTable


def predict(
    trial: Annotated[str, typer.Argument(help="Trial number or model id.")],
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of", formats=["%Y-%m-%d"], help="Use the bars up to this day (YYYY-MM-DD)."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The signal of a trial's saved model on the newest bars its data source has: its forecast
    for the bars after the newest, with that bar's date, the data's provenance and content hash,
    and the model's provenance. The model file is loaded only if its SHA-256 is the one the
    ledger recorded. A signal scores nothing: it is no try and no look at a holdout.

    Example: mltrainer predict 3
    """
    from mltrainer.engine.service import ResearchService

    settings = load_cli_settings()
    service = run_reported(lambda: ResearchService(settings))
    day = as_of.date() if as_of else None
    signal = run_reported(lambda: service.predict(trial, as_of=day))
    if as_json:
        print(json.dumps(signal.model_dump(mode="json"), indent=2))
        return
    chance = "" if signal.probability is None else f", probability of 1: {signal.probability:.3f}"
    console.print(
        f"[bold]Trial {signal.trial}[/bold] ({escape(signal.model)} on {signal.symbol}, "
        f"{signal.data_label}), forecast for the {signal.horizon} bar(s) after "
        f"{signal.bar_date}: [bold]{signal.target} = {signal.forecast:g}[/bold]{chance}",
        highlight=False,
    )
    table = FittedTable(title="Signal", show_header=False)
    table.add_column("field")
    table.add_column("value", wrap=True)
    data = signal.data
    for name, value in (
        ("target", f"{signal.target}: {signal.target_description}; horizon {signal.horizon}"),
        (
            "data",
            f"{data.source} ({data.kind}), {data.rows} bars {data.start} to {data.end}, hash "
            f"{signal.data_hash}"
            + (f", fetched {data.fetched_at:%Y-%m-%d %H:%M} UTC" if data.fetched_at else "")
            + (" (from the cache)" if data.cached else ""),
        ),
        ("model", f"trial {signal.trial}, {signal.model_id}, seed {signal.seed}"),
        ("fitted on", " to ".join(str(day) for day in signal.fitted_on)),
        ("model file", f"{signal.model_path} (SHA-256 {signal.model_sha256}, checked)"),
        ("code version", signal.code_version),
    ):
        table.add_row(name, escape(value))
    console.print(table)
    for note in signal.notes:
        console.print(f"note: {escape(note)}", highlight=False)
