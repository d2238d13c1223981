"""How results print in a terminal: the trials table, the finalized (holdout) table and a
session's summary, shared by `run`, `demo`, `resume`, `replay`, `train`, `trials` and `finalize`.
Both tables lead with the verdict: the strategy's return after costs against the best baseline
strategy; accuracy follows."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from mltrainer.agent.cli.common import console
from mltrainer.agent.cli.layout import FittedTable, short_model_name
from mltrainer.agent.cli.screen import on_screen
from mltrainer.engine.redaction import redact_text
from mltrainer.engine.targets import DEFAULT_TARGET, Headline, get_target

if TYPE_CHECKING:
    from mltrainer.agent.session.loop import SessionSummary
    from mltrainer.engine.results import FinalSummary, TrialSummary


_BASELINE_NAMES = {
    "majority_class": "majority",
    "always_up": "always up",
    "previous_direction": "prev. dir.",
}
_BASELINE_STRATEGIES = {
    "buy_and_hold": "B&H",
    "cash": "cash",
    "previous_direction": "prev. dir.",
}


def baseline_text(row: TrialSummary) -> str:
    name = _BASELINE_NAMES.get(row.best_baseline, "")
    return f"{row.baseline_accuracy:.1%} {name}".strip()


def baseline_strategy_text(name: str | None) -> str:
    """A baseline strategy's short name: buy_and_hold reads B&H."""
    if name is None:
        return "-"
    return _BASELINE_STRATEGIES.get(name, name.replace("_", " "))


def p_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def number_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def trials_table(
    rows: list[TrialSummary], title: str, *, holdout: Mapping[int, str] | None = None
) -> FittedTable:
    """One row per trial, led by the verdict: the strategy's excess Sharpe over the best
    baseline strategy after costs, its Newey-West t and p-value (raw and Holm over the tries);
    accuracy and its p-value follow (a target's own score and test, when the table holds
    other targets than direction). `holdout` adds a column with each finalized trial's
    holdout result. Too narrow a terminal shortens model names, then leaves out the columns of
    lowest `priority` (see `layout`)."""
    direction_only = all((row.target or DEFAULT_TARGET) == DEFAULT_TARGET for row in rows)
    table = FittedTable(title=title)
    table.add_column("trial", justify="right")
    table.add_column("model", short=short_model_name)
    table.add_column("symbol")
    table.add_column("data")
    table.add_column("excess Sharpe", justify="right")
    table.add_column("vs", priority=40, wrap=True)
    table.add_column("t", justify="right", priority=20)
    table.add_column("p", justify="right", priority=35)
    table.add_column("adj. p", justify="right")
    table.add_column("accuracy" if direction_only else "own score", justify="right", priority=30)
    table.add_column("acc. p" if direction_only else "its p", justify="right", priority=10)
    if holdout is not None:
        table.add_column("holdout", justify="right", priority=45, wrap=True)
    for row in rows:
        cells = [
            str(row.trial),
            row.model,
            row.symbol,
            data_label(row.data),
            number_text(row.excess_sharpe),
            baseline_strategy_text(row.return_baseline),
            number_text(row.return_t),
            p_text(row.return_p_value),
            p_text(row.return_p_value_adjusted),
            _score(row.selection_accuracy, row.target, named=True),
            p_text(row.p_value),
        ]
        if holdout is not None:
            cells.append(holdout.get(row.trial or 0, "-"))
        table.add_row(*cells)
    return table


def _score(value: float, target: str | None, *, named: bool = False) -> str:
    """A target's own score as it reads: accuracy as a percentage, an IC as a signed number
    (with its name when `named`, since a trials table may hold several targets)."""
    headline = get_target(target or DEFAULT_TARGET).headline
    if headline.percent:
        return f"{value:.1%}"
    return f"{value:+.3f} {headline.metric}" if named else f"{value:+.3f}"


def score_with_name(value: float, target: str | None) -> str:
    """A target's own score after its name: `accuracy 55.4%`, `Rank IC +0.004`."""
    return f"{get_target(target or DEFAULT_TARGET).headline.metric} {_score(value, target)}"


def _headline(row: FinalSummary) -> Headline:
    return get_target(row.target or DEFAULT_TARGET).headline


def data_label(label: str) -> str:
    if label == "SYNTHETIC DATA":
        return "[red]SYNTHETIC[/red]"
    return "caller" if label == "CALLER DATA" else "real"


def _verdict(row: FinalSummary) -> str:
    """Significant or not by the p-value to report: adjusted over the looks after more than
    one."""
    if row.return_p_value is None:
        return "-"
    reported = (
        row.return_p_value if row.return_p_value_adjusted is None else (row.return_p_value_adjusted)
    )
    return "significant" if reported < 0.05 else "not significant"


def _return_p_text(row: FinalSummary) -> str:
    shown = f"{number_text(row.return_t)} / {p_text(row.return_p_value)}"
    if row.family is None or row.family == 1 or row.return_p_value_adjusted is None:
        return shown
    return (
        f"{number_text(row.return_t)} / {p_text(row.return_p_value_adjusted)} "
        f"(Holm over {row.family} looks; raw {p_text(row.return_p_value)})"
    )


def _detectable(row: FinalSummary) -> str:
    if row.detectable_sharpe is None:
        return "-"
    if row.detectable_accuracy_points is None:
        return f"Sharpe {row.detectable_sharpe:.2f}"
    return f"Sharpe {row.detectable_sharpe:.2f} / {row.detectable_accuracy_points:.1f} acc. pts"


def finalized_table(rows: list[FinalSummary]) -> FittedTable:
    """One column per finalized trial: the holdout numbers are what a session reports, led by
    the verdict on the return the execution earned after costs and what the holdout could
    have detected. Too many trials for the width print as stacked tables."""
    table = FittedTable(title="Locked holdout (finalize): the numbers to report", stacked=True)
    table.add_column("", wrap=True)
    for row in rows:
        table.add_column(f"trial {row.trial}", justify="right", short=_short_leading_model)
    lines: list[tuple[str, Callable[[FinalSummary], str]]] = [
        ("model / symbol", lambda r: f"{r.model} / {r.symbol} ({data_label(r.data)})"),
        ("holdout period", lambda r: " to ".join(str(d) for d in r.holdout_period)),
        ("verdict (return after costs)", _verdict),
        (
            "excess Sharpe vs best baseline",
            lambda r: (
                f"{number_text(r.excess_sharpe)} vs {baseline_strategy_text(r.return_baseline)}"
            ),
        ),
        ("t / p-value (Newey-West)", _return_p_text),
        ("detectable at 80% power", _detectable),
        ("execution", lambda r: r.execution),
        ("target's own score", lambda r: _headline(r).metric),
        ("holdout score", lambda r: _score(r.holdout_accuracy, r.target)),
        (
            "best baseline",
            lambda r: f"{r.best_baseline} {_score(r.baseline_accuracy, r.target)}",
        ),
        ("its p (the target's test)", holdout_p_text),
        (
            "Sharpe vs its benchmark",
            lambda r: f"{r.sharpe:.2f} vs {r.buy_hold_sharpe:.2f} {_headline(r).strategies[2]}",
        ),
        ("selection score", lambda r: _score(r.selection_accuracy, r.target)),
        (
            "DSR: strategy / excess over B&H",
            lambda r: f"{p_text(r.strategy_dsr)} / {p_text(r.dsr)}",
        ),
        (
            "PBO: strategy / excess over B&H",
            lambda r: f"{p_text(r.strategy_pbo)} / {p_text(r.pbo)}",
        ),
        ("tries on the dataset", lambda r: str(r.tries)),
        (
            "holdout look",
            lambda r: f"{r.look}" + (" (untouched)" if r.untouched else " (NOT untouched)"),
        ),
    ]
    for label, render in lines:
        table.add_row(label, *(render(row) for row in rows))
    return table


def holdout_p_text(row: FinalSummary) -> str:
    """After more than one look, the adjusted p-values (the ones to report) with the raw ones
    beside them; a single look's are its raw ones."""
    raw = p_text(row.p_value)
    adjusted = p_text(row.p_value_adjusted)
    if row.mcnemar_p_value is not None:
        raw += f" / {p_text(row.mcnemar_p_value)}"
        adjusted += f" / {p_text(row.mcnemar_p_value_adjusted)}"
    if row.family is None or row.family == 1:
        return raw
    return f"{adjusted} (Holm over {row.family} looks; raw {raw})"


def _short_leading_model(cell: str) -> str:
    """ "random_forest / SPX (real)" with the model's short name; other cells as they are."""
    model, separator, rest = cell.partition(" / ")
    return short_model_name(model) + separator + rest if separator else cell


def print_summary(summary: SessionSummary, as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary_dict(summary), indent=2, default=str))
        return
    if summary.trials:
        console.print(
            trials_table(summary.trials, "Trials this session (selection segment, out of sample)")
        )
    if summary.finalized:
        console.print(finalized_table(summary.finalized))
    elif summary.trials:
        console.print(
            "No trial was finalized: the selection numbers above are optimistic after "
            f"{len(summary.trials)} tries (see adj. p)."
        )
    console.print(
        f"Session ended: [bold]{escape(on_screen(summary.reason))}[/bold] after "
        f"{summary.turns} turns, "
        f"{summary.tool_calls} tool calls, {summary.usage.total_tokens} tokens"
        + (
            f" ({summary.usage.cached_input_tokens} input tokens from the prompt cache)"
            if summary.usage.cached_input_tokens
            else ""
        )
        + (f", ${summary.usage.cost_usd:.4f}" if summary.usage.cost_usd else "")
    )
    if summary.conclusion:
        console.print(f"[bold]Conclusion:[/bold] {escape(on_screen(summary.conclusion))}")
    console.print(f"Transcript: {summary.transcript}")
    if summary.resumable:
        console.print(f"Resume with: mltrainer resume {summary.transcript}")


def summary_dict(summary: SessionSummary) -> dict[str, Any]:
    """The summary for `--json`: whole (machines read it), and redacted like the screen."""
    return {
        "reason": redact_text(summary.reason),
        "finished": summary.finished,
        "conclusion": None if summary.conclusion is None else redact_text(summary.conclusion),
        "best_trial": summary.best_trial,
        "turns": summary.turns,
        "tool_calls": summary.tool_calls,
        "usage": summary.usage.as_record(),
        "trials": [trial.model_dump(mode="json") for trial in summary.trials],
        "finalized": [final.model_dump(mode="json") for final in summary.finalized],
        "transcript": str(summary.transcript),
        "resumable": summary.resumable,
    }


def exit_for(summary: SessionSummary) -> None:
    """Budgets end a session normally; a provider failure, a tool failing past its retry
    budget or Ctrl-C is a failed (or unfinished) run."""
    if summary.reason.startswith(("provider error", "tool ")) or summary.resumable:
        raise typer.Exit(1)
