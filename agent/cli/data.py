"""`mltrainer data`: fetch bars or macro series (through the cache), list the cache, clear it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from mltrainer.engine.errors import MLTrainerError

if TYPE_CHECKING:  # pandas, the data sources and settings load with the command that needs them
    import pandas as pd

    from mltrainer.engine.data.base import BarSet, SeriesSet
    from mltrainer.engine.data.catalog import RegisteredSource
    from mltrainer.engine.settings import Settings

data_app = typer.Typer(
    help="Market and macro data: fetch into the cache, list what is cached, clear it.",
    no_args_is_help=True,
)

_TAIL_ROWS = 5


StartOption = Annotated[
    datetime | None, typer.Option(formats=["%Y-%m-%d"], help="first date, YYYY-MM-DD")
]
EndOption = Annotated[
    datetime | None, typer.Option(formats=["%Y-%m-%d"], help="last date, YYYY-MM-DD")
]


@contextmanager
def _reported_errors() -> Iterator[None]:
    """Library errors become one line on stderr and exit code 1; nothing else is swallowed."""
    from pydantic import ValidationError

    try:
        yield
    except MLTrainerError as error:
        typer.echo(f"error: {' '.join(str(error).split())}", err=True)
        raise typer.Exit(1) from None
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        typer.echo(f"error: invalid settings: {problems}", err=True)
        raise typer.Exit(1) from None


def _settings() -> Settings:
    from mltrainer.engine.settings import load_settings

    with _reported_errors():
        return load_settings()


@data_app.command()
def fetch(
    symbol: Annotated[str, typer.Argument(help="ticker (MSFT, SPY) or FRED series id (DGS10)")],
    source: Annotated[
        str, typer.Option(help="where the data comes from: a data source's name (list_sources)")
    ],
    start: StartOption = None,
    end: EndOption = None,
    path: Annotated[
        Path | None,
        typer.Option(help="with --source csv: a .csv or .parquet file of your own daily bars"),
    ] = None,
    as_of: Annotated[
        bool,
        typer.Option(
            "--as-of/--latest",
            help="FRED: every vintage, each usable from the day it was published (default), "
            "or only today's revised values",
        ),
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON for machines")] = False,
) -> None:
    """Fetch daily bars or a macro series into the cache and summarise what came back.

    A range already cached makes no request; a wider one fetches only what is missing.

    Example: mltrainer data fetch MSFT --source polygon --start 2020-01-01 --end 2020-12-31

    Your own file: mltrainer data fetch MINE --source csv --path mine.parquet
    """
    known = _known_source(source)
    settings = _settings()
    first = start.date() if start else None
    last = end.date() if end else None
    console = Console(stderr=True)
    with _reported_errors(), console.status(f"fetching {symbol} from {known.name}"):
        data = _fetch(symbol, known, settings, first, last, as_of=as_of, path=path)
    if as_json:
        typer.echo(_fetch_json(data))
    else:
        _print_fetch(data)


def _known_source(name: str) -> RegisteredSource:
    """The registered source called `name` (plugins' too), or a usage error naming them all."""
    from mltrainer.engine.data.catalog import source_entry, source_names
    from mltrainer.engine.plugins import load_plugins

    with _reported_errors():
        load_plugins()
    entry = source_entry(name)
    if entry is None:
        raise typer.BadParameter(
            f"{name!r} is not one of {', '.join(source_names())}", param_hint="'--source'"
        )
    return entry


def _fetch(
    symbol: str,
    source: RegisteredSource,
    settings: Settings,
    start: date | None,
    end: date | None,
    *,
    as_of: bool,
    path: Path | None = None,
) -> BarSet | SeriesSet:
    from mltrainer.engine.data.registry import resolve_bars, resolve_series

    data = source.factory(settings)
    # A source of both kinds (the sample) serves a series when it has one by that name and
    # no bars under it.
    if not source.bars or (
        source.series and data.offers(symbol, series=True) and not data.offers(symbol)
    ):
        return resolve_series(
            symbol.upper(), settings, start=start, end=end, as_of=as_of, source=source.name
        )
    return resolve_bars(symbol, source.name, settings, start=start, end=end, path=path)


def _tail(data: BarSet | SeriesSet) -> pd.DataFrame:
    import pandas as pd

    tail = data.frame.tail(_TAIL_ROWS).reset_index()
    for column in tail.columns:
        if pd.api.types.is_datetime64_any_dtype(tail[column]):
            tail[column] = tail[column].dt.strftime("%Y-%m-%d")
    return tail


def _fetch_json(data: BarSet | SeriesSet) -> str:
    from mltrainer.engine.data.base import SeriesSet

    payload: dict[str, Any] = {
        "dataset": "series" if isinstance(data, SeriesSet) else "bars",
        "point_in_time": data.point_in_time if isinstance(data, SeriesSet) else None,
        "provenance": data.provenance.model_dump(mode="json"),
        "last_rows": json.loads(_tail(data).to_json(orient="records")),
    }
    return json.dumps(payload, indent=2)


def _print_fetch(data: BarSet | SeriesSet) -> None:
    from mltrainer.engine.data.base import SeriesSet

    console = Console()
    provenance = data.provenance
    if provenance.kind == "synthetic":
        console.print("[bold red]SYNTHETIC DATA[/] - not a market; results say so too")
    summary = Table(title=f"{provenance.symbol} from {provenance.source}", show_header=False)
    summary.add_column("field", style="bold")
    summary.add_column("value")
    fetched = provenance.fetched_at.isoformat() if provenance.fetched_at else "-"
    rows = [
        ("kind", provenance.kind),
        ("rows", str(provenance.rows)),
        ("range", f"{provenance.start} .. {provenance.end}"),
        ("from cache", "yes" if provenance.cached else "no"),
        ("fetched", fetched),
        ("content hash", provenance.content_hash),
        ("note", provenance.note or "-"),
    ]
    if isinstance(data, SeriesSet):
        rows.insert(1, ("point in time", "yes" if data.point_in_time else "no"))
    for name, value in rows:
        summary.add_row(name, value)
    console.print(summary)
    tail = _tail(data)
    last = Table(title=f"last {len(tail)} rows")
    for column in tail.columns:
        last.add_column(str(column), justify="left" if column in ("date", "available") else "right")
    for record in tail.itertuples(index=False):
        last.add_row(
            *(_cell(column, value) for column, value in zip(tail.columns, record, strict=True))
        )
    console.print(last)


def _cell(column: str, value: object) -> str:
    import pandas as pd

    if isinstance(value, str):
        return value
    if isinstance(value, float) and pd.isna(value):
        return "missing"
    return f"{value:,.0f}" if column == "volume" else f"{value:,.4f}"


@data_app.command("list")
def list_cached(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON for machines")] = False,
) -> None:
    """Show what is cached: source, symbol, rows, date range, covered ranges, fetch time.

    Example: mltrainer data list --json
    """
    settings = _settings()
    from mltrainer.engine.data.cache import MarketCache

    with _reported_errors():
        entries = MarketCache(settings.db_path).entries()
    if as_json:
        typer.echo(json.dumps([e.model_dump(mode="json") for e in entries], indent=2))
        return
    if not entries:
        typer.echo("the cache is empty; fill it with `mltrainer data fetch SYMBOL --source ...`")
        return
    table = Table(title="cached data", caption=str(settings.db_path))
    for column in ("source", "symbol", "dataset", "rows", "range", "covered", "fetched (UTC)"):
        table.add_column(column, justify="right" if column == "rows" else "left")
    for entry in entries:
        table.add_row(
            entry.source,
            entry.symbol,
            entry.dataset,
            str(entry.rows),
            f"{entry.start} .. {entry.end}" if entry.start else "-",
            ", ".join(entry.covered) or "-",
            entry.fetched_at.strftime("%Y-%m-%d %H:%M") if entry.fetched_at else "-",
        )
    Console().print(table)


@data_app.command()
def clear(
    source: Annotated[str | None, typer.Option(help="only this source (polygon, fred)")] = None,
    symbol: Annotated[str | None, typer.Option(help="only this ticker or series id")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")] = False,
) -> None:
    """Delete cached data: everything, or one source and/or symbol.

    Example: mltrainer data clear --source polygon --symbol MSFT --yes
    """
    settings = _settings()
    what = " ".join(
        part
        for part in (source and f"source={source.lower()}", symbol and f"symbol={symbol.upper()}")
        if part
    )
    if not yes:
        typer.confirm(f"Delete cached data ({what or 'everything'})?", abort=True)
    from mltrainer.engine.data.cache import MarketCache

    with _reported_errors():
        removed = MarketCache(settings.db_path).clear(
            source=source.lower() if source else None, symbol=symbol.upper() if symbol else None
        )
    typer.echo(f"removed {removed} cached row(s) ({what or 'everything'})")
