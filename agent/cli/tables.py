"""How results print in a terminal: the trials table, the finalized (holdout) table and a
session's summary, shared by `run`, `demo`, `resume`, `replay`, `train`, `trials` and `finalize`."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table

from mltrainer.agent.cli.common import console
from mltrainer.agent.cli.screen import on_screen
from mltrainer.engine.redaction import redact_text

if TYPE_CHECKING:
    from mltrainer.agent.session.loop import SessionSummary
    from mltrainer.engine.results import FinalSummary, TrialSummary


_BASELINE_NAMES = {
    "majority_class": "majority",
    "always_up": "always up",
    "previous_direction": "prev. dir.",
}


def baseline_text(row: TrialSummary) -> str:
    name = _BASELINE_NAMES.get(row.best_baseline, "")
    return f"{row.baseline_accuracy:.1%} {name}".strip()


def p_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def trials_table(rows: list[TrialSummary], title: str) -> Table:
    table = Table(title=title)
    for column, left in (
        ("trial", False),
        ("model", True),
        ("symbol", True),
        ("data", True),
        ("selection acc", False),
        ("best baseline", False),
        ("p-value", False),
        ("adj. p", False),
        ("Sharpe", False),
        ("B&H Sharpe", False),
    ):
        table.add_column(column, justify="left" if left else "right")
    for row in rows:
        table.add_row(
            str(row.trial),
            row.model,
            row.symbol,
            data_label(row.data),
            f"{row.selection_accuracy:.1%}",
            baseline_text(row),
            p_text(row.p_value),
            p_text(row.p_value_adjusted),
            f"{row.sharpe:.2f}",
            f"{row.buy_hold_sharpe:.2f}",
        )
    return table


def data_label(label: str) -> str:
    if label == "SYNTHETIC DATA":
        return "[red]SYNTHETIC[/red]"
    return "caller" if label == "CALLER DATA" else "real"


def finalized_table(rows: list[FinalSummary]) -> Table:
    """One column per finalized trial: the holdout numbers are what a session reports."""
    table = Table(title="Locked holdout (finalize): the numbers to report")
    table.add_column("")
    for row in rows:
        table.add_column(f"trial {row.trial}", justify="right")
    lines: list[tuple[str, Callable[[FinalSummary], str]]] = [
        ("model / symbol", lambda r: f"{r.model} / {r.symbol} ({data_label(r.data)})"),
        ("holdout period", lambda r: " to ".join(str(d) for d in r.holdout_period)),
        ("selection accuracy", lambda r: f"{r.selection_accuracy:.1%}"),
        ("holdout accuracy", lambda r: f"{r.holdout_accuracy:.1%}"),
        ("best baseline", lambda r: f"{r.best_baseline} {r.baseline_accuracy:.1%}"),
        (
            "p-value (binomial / McNemar)",
            lambda r: f"{p_text(r.p_value)} / {p_text(r.mcnemar_p_value)}",
        ),
        ("Sharpe vs buy-and-hold", lambda r: f"{r.sharpe:.2f} vs {r.buy_hold_sharpe:.2f}"),
        ("execution", lambda r: r.execution),
        ("deflated Sharpe (selection)", lambda r: p_text(r.dsr)),
        ("PBO (selection window)", lambda r: p_text(r.pbo)),
        ("tries on the dataset", lambda r: str(r.tries)),
        (
            "holdout look",
            lambda r: f"{r.look}" + (" (untouched)" if r.untouched else " (NOT untouched)"),
        ),
    ]
    for label, render in lines:
        table.add_row(label, *(render(row) for row in rows))
    return table


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
