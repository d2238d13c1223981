"""`mltrainer trials`: the ledger's recorded trials, listed or shown in full with their
selection statistics as of now."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from mltrainer.agent.cli.common import JsonOption, console
from mltrainer.agent.cli.errors import OneLineErrors, fail, load_cli_settings, run_reported
from mltrainer.agent.cli.tables import (
    baseline_strategy_text,
    number_text,
    p_text,
    trials_table,
)

trials_app = typer.Typer(
    help="Recorded trials (the ledger).", no_args_is_help=True, cls=OneLineErrors
)


@trials_app.command("list")
def trials_list(
    symbol: Annotated[str | None, typer.Option(help="Only this symbol.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
    as_json: JsonOption = False,
) -> None:
    """List recorded trials, newest first, with p-values adjusted (Holm) over every try on each
    trial's dataset as of now.

    Example: mltrainer trials list --symbol SPX
    """
    from mltrainer.engine.service import ResearchService

    settings = load_cli_settings()
    service = run_reported(lambda: ResearchService(settings))
    rows = service.trial_rows(limit=limit, symbol=symbol)
    table_rows = [
        {
            **r.model_dump(exclude={"p_value_adjusted", "tries", "return_p_value_adjusted"}),
            "data": "SYNTHETIC DATA" if r.synthetic else "REAL DATA",
            "baseline_accuracy": r.best_baseline,
            "best_baseline": "",
            "p_value_adjusted": r.p_value_adjusted,
            "tries": r.tries,
            "return_p_value_adjusted": r.return_p_value_adjusted,
        }
        for r in rows
    ]
    if as_json:
        print(json.dumps(table_rows, indent=2))
        return
    from mltrainer.engine.results import TrialSummary

    console.print(
        trials_table(
            [TrialSummary.model_validate(row) for row in table_rows],
            f"{len(rows)} recorded trials (selection segment, out of sample)",
        )
    )


@trials_app.command("show")
def trials_show(
    trial: Annotated[str, typer.Argument(help="Trial number or model id.")],
    as_json: JsonOption = False,
) -> None:
    """Show one recorded trial in full, led by its verdict (the strategy's return after costs
    against the best baseline strategy), with its selection statistics as of now (tries on its
    dataset, Holm-adjusted p-values, best-of-N noise bars, deflated Sharpe ratios, PBO).

    Example: mltrainer trials show 3
    """
    from mltrainer.engine.service import ResearchService

    settings = load_cli_settings()
    service = run_reported(lambda: ResearchService(settings))
    record = run_reported(lambda: service.trial_record(trial))
    if record is None:
        raise fail(f"no recorded trial '{trial}'; see `mltrainer trials list`")
    result = record.result.model_dump(mode="json")
    stats = record.selection_stats.model_dump()
    if as_json:
        print(json.dumps({**result, "selection_stats": stats}, indent=2))
        return
    from mltrainer.engine.results import TrialSummary

    console.print(
        trials_table(
            [TrialSummary.of(record.result)],
            f"Trial {result['trial']}: {result['model_id']}",
        )
    )
    table = Table(title="Details")
    table.add_column("field")
    table.add_column("value")
    selection = result["selection"]
    bt = result["backtest"]
    dataset = result["dataset"]
    for name, value in (
        *_verdict_lines(result, stats),
        (
            "data",
            "{data_label} {provenance[source]}, used {used[rows]} bars "
            "{used[start]} to {used[end]}, hash {used_hash}".format(**result, **dataset),
        ),
        (
            "locked holdout",
            "{start} to {end} ({rows} bars), looked at {looks} time(s)".format(
                **dataset["holdout"], looks=dataset["holdout_looks"]
            ),
        ),
        ("train period", " to ".join(result["train_period"])),
        ("selection period", " to ".join(result["selection_period"])),
        (
            "train / selection accuracy",
            f"{result['train_accuracy']:.1%} / {result['selection_accuracy']:.1%}",
        ),
        (
            "walk-forward accuracy",
            f"{result['walk_forward_accuracy']:.1%} over {len(result['walk_forward'])} folds",
        ),
        ("precision / recall", f"{selection['precision']:.3f} / {selection['recall']:.3f}"),
        ("AUC / log loss", f"{p_text(selection['auc'])} / {p_text(selection['log_loss'])}"),
        (
            "vs best baseline",
            f"binomial p {result['baselines']['p_value']:.3f}, McNemar p "
            f"{result['baselines']['mcnemar_p_value']:.3f} on "
            f"{result['baselines']['tested_days']} days",
        ),
        (
            "accuracy, selection",
            f"{stats['tries']} tries on the dataset; Holm p {stats['p_value_adjusted']:.3f}; "
            f"best-of-N noise bar {stats['noise_bar']:.1%} (95%: {stats['noise_bar_95']:.1%})",
        ),
        (
            "strategy: PSR / DSR / PBO",
            f"{p_text(stats.get('strategy_psr'))} / {p_text(stats.get('strategy_dsr'))} / "
            f"{p_text(stats.get('strategy_pbo'))}",
        ),
        (
            "excess over B&H: PSR / DSR / PBO",
            f"{p_text(stats['psr'])} / {p_text(stats['dsr'])} / {p_text(stats['pbo'])} "
            f"(PBO over {stats['pbo_trials']} trials in the window)",
        ),
        (
            "long/flat",
            _strategy_line(bt["long_flat"]) + f", max DD {bt['long_flat']['max_drawdown']:.1%}",
        ),
        ("long/short", _strategy_line(bt["long_short"])),
        ("buy and hold", _strategy_line(bt["buy_and_hold"])),
        ("costs / execution", f"{bt['cost_bps']} bps, {bt['execution']}"),
        ("config", json.dumps(result["config"])),
        ("seed / version", f"{result['seed']} / {result['code_version']}"),
        ("notes", "; ".join(result.get("notes", [])) or "-"),
    ):
        table.add_row(name, value)
    console.print(table)


def _verdict_lines(result: dict[str, Any], stats: dict[str, Any]) -> list[tuple[str, str]]:
    """The return test first: what the execution earned after costs over the best baseline
    strategy, and how it stands against luck over every try on the dataset."""
    verdict = result.get("return_test")
    if verdict is None:
        return [("return test", "- (recorded before there was one)")]
    adjusted = stats.get("return_p_value_adjusted")
    judged = verdict["p_value"] if adjusted is None else adjusted
    return [
        (
            "return test",
            f"{'significant' if judged < 0.05 else 'not significant'}: excess Sharpe "
            f"{verdict['excess_sharpe']:.2f} over {baseline_strategy_text(verdict['baseline'])} "
            f"after {verdict['cost_bps']:g} bps, {verdict['execution']}, over "
            f"{verdict['days']} days",
        ),
        (
            "t / p / Holm p",
            f"{verdict['t_stat']:.2f} (Newey-West, {verdict['lags']} lags) / "
            f"{p_text(verdict['p_value'])} / {p_text(adjusted)} over {stats['tries']} tries",
        ),
        (
            "return, selection",
            f"best-of-{stats['tries']} noise bar t {number_text(stats.get('return_noise_bar'))} "
            f"(95%: {number_text(stats.get('return_noise_bar_95'))})",
        ),
    ]


def _strategy_line(stats: dict[str, Any]) -> str:
    return f"return {stats['annual_return']:.1%}, Sharpe {stats['sharpe']:.2f}"
