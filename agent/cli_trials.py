"""`mltrainer trials`: the ledger's recorded trials as tables (or JSON)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from mltrainer.agent.cli_errors import OneLineErrors, fail, load_cli_settings

trials_app = typer.Typer(
    help="Recorded trials (the ledger).", no_args_is_help=True, cls=OneLineErrors
)
# Pipes get 80 columns from rich by default, too narrow for the results table.
console = Console(width=None if Console().is_terminal else 120)
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def trials_table(rows: list[dict[str, Any]], title: str) -> Table:
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

    settings = load_cli_settings()
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
    console.print(trials_table(table_rows, f"{len(rows)} recorded trials (out of sample)"))


@trials_app.command("show")
def trials_show(
    trial: Annotated[str, typer.Argument(help="Trial number or model id.")],
    as_json: JsonOption = False,
) -> None:
    """Show one recorded trial in full.

    Example: mltrainer trials show 3
    """
    from mltrainer.engine.ledger import Ledger

    settings = load_cli_settings()
    result = Ledger(settings.db_path).result(trial)
    if result is None:
        raise fail(f"no recorded trial '{trial}'; see `mltrainer trials list`")
    if as_json:
        print(json.dumps(result, indent=2))
        return
    from mltrainer.engine.runner import result_summary

    console.print(
        trials_table([result_summary(result)], f"Trial {result['trial']}: {result['model_id']}")
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
