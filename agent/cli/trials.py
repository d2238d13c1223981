"""`mltrainer trials`: the ledger's recorded trials, listed or shown in full with their
selection statistics as of now."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from mltrainer.agent.cli.common import JsonOption, console
from mltrainer.agent.cli.errors import OneLineErrors, fail, load_cli_settings, run_reported
from mltrainer.agent.cli.layout import FittedTable
from mltrainer.agent.cli.tables import (
    baseline_strategy_text,
    finalized_table,
    number_text,
    p_text,
    trials_table,
)
from mltrainer.engine.targets import DEFAULT_TARGET, get_target

if TYPE_CHECKING:
    from mltrainer.engine.ledger import Look
    from mltrainer.engine.report_data import TrialRow

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

    holdout = {r.trial: _holdout_cell(r) for r in rows if r.holdout_look is not None}
    console.print(
        trials_table(
            [TrialSummary.model_validate(row) for row in table_rows],
            f"{len(rows)} recorded trials (selection segment, out of sample; holdout: the "
            "finalized excess Sharpe and its p, and which look at its dataset's holdout it was)",
            holdout=holdout,
        )
    )


def _holdout_cell(row: TrialRow) -> str:
    """The latest holdout look's return test (its accuracy when recorded before there was
    one), and which look at the dataset's holdout it was."""
    look = f"look {row.holdout_look}"
    if row.holdout_excess_sharpe is not None:
        return f"{row.holdout_excess_sharpe:.2f} p {p_text(row.holdout_return_p_value)}, {look}"
    if row.holdout_accuracy is not None:
        return f"accuracy {row.holdout_accuracy:.1%}, {look}"
    return look


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
    finals = [holdout_result(look) for look in record.looks]
    if as_json:
        shown = {**result, "selection_stats": stats, "holdout_results": finals}
        print(json.dumps(shown, indent=2, default=str))
        return
    from mltrainer.engine.results import TrialSummary

    console.print(
        trials_table(
            [TrialSummary.of(record.result)],
            f"Trial {result['trial']}: {result['model_id']}",
        )
    )
    table = FittedTable(title="Details")
    table.add_column("field")
    table.add_column("value", wrap=True)
    bt = result["backtest"]
    held = get_target(result["config"].get("target") or DEFAULT_TARGET).headline.strategies
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
            "{start} to {end} ({rows} bars), scored {looks} time(s) so far, {mine} of them "
            "for this trial".format(
                **dataset["holdout"], looks=dataset["holdout_looks"], mine=len(finals)
            ),
        ),
        ("train period", " to ".join(result["train_period"])),
        ("selection period", " to ".join(result["selection_period"])),
        *_score_lines(result, stats),
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
            held[0],
            _strategy_line(bt["long_flat"]) + f", max DD {bt['long_flat']['max_drawdown']:.1%}",
        ),
        (held[1], _strategy_line(bt["long_short"])),
        (held[2], _strategy_line(bt["buy_and_hold"])),
        ("costs / execution", f"{bt['cost_bps']} bps, {bt['execution']}"),
        ("config", json.dumps(result["config"])),
        ("seed / version", f"{result['seed']} / {result['code_version']}"),
        ("notes", "; ".join(result.get("notes", [])) or "-"),
    ):
        table.add_row(name, escape(value))
    console.print(table)
    if finals:
        from mltrainer.engine.results import FinalSummary
        from mltrainer.engine.trial import FinalResult

        console.print(
            finalized_table([FinalSummary.of(FinalResult.model_validate(f)) for f in finals])
        )


def holdout_result(look: Look) -> dict[str, Any]:
    """A look's holdout result as recorded, numbered among the looks at its dataset's holdout,
    with the time it was taken."""
    return {**look.result, "look": look.number, "looked_at": look.created_at}


def _score_lines(result: dict[str, Any], stats: dict[str, Any]) -> list[tuple[str, str]]:
    """The target's own score under its own name (accuracy in percent; an IC, a Rank IC or an
    R2 as the number it is), its other measures, and its test against its baselines."""
    target = result["config"].get("target")
    headline = get_target(target or DEFAULT_TARGET).headline
    metric = headline.metric

    def score(value: float) -> str:
        return f"{value:.1%}" if headline.percent else f"{value:+.4f}"

    selection = result["selection"]
    baselines = result["baselines"]
    lines = [
        (
            f"train / selection {metric}",
            f"{score(result['train_accuracy'])} / {score(result['selection_accuracy'])}",
        ),
        (
            f"walk-forward {metric}",
            f"{score(result['walk_forward_accuracy'])} over {len(result['walk_forward'])} folds",
        ),
    ]
    # A direction trial's baselines record `best_accuracy`, the other targets' `best_score`.
    best_score = baselines.get("best_score", baselines.get("best_accuracy"))
    best = f"{baselines['best_name']} ({headline.baseline_score} {score(best_score)})"
    match selection.get("kind", "classification"):
        case "ranking":
            lines += [
                (
                    "IC / ICIR",
                    f"{selection['ic']:+.4f} / {p_text(selection['icir'])} over "
                    f"{selection['dates']} dates x {selection['members']} stocks",
                ),
                (
                    "Rank IC / ICIR",
                    f"{selection['rank_ic']:+.4f} / {p_text(selection['rank_icir'])}, Newey-West "
                    f"t {selection['rank_ic_t']:.2f} (p {selection['rank_ic_p_value']:.3f}), "
                    f"above 0 on {selection['positive_share']:.0%} of dates",
                ),
                (
                    "vs best baseline",
                    f"{best}: Newey-West p {baselines['p_value']:.3f} on "
                    f"{baselines['tested_days']} dates",
                ),
            ]
        case "forecast":
            lines += [
                (
                    "R2 (out of sample) / IC / Rank IC",
                    f"{selection['r2_oos']:+.4f} / {p_text(selection['ic'])} / "
                    f"{p_text(selection['rank_ic'])}",
                ),
                ("hit rate", f"{selection['hit_rate']:.1%} of {selection['n']} rows"),
                (
                    "vs best baseline",
                    f"{best}: Clark-West p {baselines['p_value']:.3f} on "
                    f"{baselines['tested_days']} days",
                ),
            ]
        case _:
            lines += [
                (
                    "precision / recall",
                    f"{selection['precision']:.3f} / {selection['recall']:.3f}",
                ),
                (
                    "AUC / log loss",
                    f"{p_text(selection['auc'])} / {p_text(selection['log_loss'])}",
                ),
                (
                    "vs best baseline",
                    f"binomial p {baselines['p_value']:.3f}, McNemar p "
                    f"{baselines['mcnemar_p_value']:.3f} on {baselines['tested_days']} days",
                ),
            ]
    lines.append(
        (
            f"{metric}, selection",
            f"{stats['tries']} tries on the dataset; Holm p {stats['p_value_adjusted']:.3f}; "
            f"best-of-N noise bar {score(stats['noise_bar'])} "
            f"(95%: {score(stats['noise_bar_95'])})",
        )
    )
    return lines


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
