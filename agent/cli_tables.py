"""Result tables the command line prints: trials (selection segment) and finalized holdouts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.table import Table

_BASELINE_NAMES = {
    "majority_class": "majority",
    "always_up": "always up",
    "previous_direction": "prev. dir.",
}


def _baseline(row: dict[str, Any]) -> str:
    name = _BASELINE_NAMES.get(str(row.get("best_baseline") or ""), "")
    return f"{row['baseline_accuracy']:.1%} {name}".strip()


def p_text(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}"


def trials_table(rows: list[dict[str, Any]], title: str) -> Table:
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
        accuracy = row.get("selection_accuracy", row.get("test_accuracy"))
        table.add_row(
            str(row.get("trial")),
            str(row.get("model")),
            str(row.get("symbol")),
            _data_label(row),
            f"{accuracy:.1%}",
            _baseline(row),
            p_text(row.get("p_value")),
            p_text(row.get("p_value_adjusted")),
            f"{row['sharpe']:.2f}",
            f"{row['buy_hold_sharpe']:.2f}",
        )
    return table


def _data_label(row: dict[str, Any]) -> str:
    label = str(row.get("data") or "")
    if label == "SYNTHETIC DATA" or row.get("synthetic") is True:
        return "[red]SYNTHETIC[/red]"
    return "caller" if label == "CALLER DATA" else "real"


def finalized_table(rows: list[dict[str, Any]]) -> Table:
    """One column per finalized trial: the holdout numbers are what a session reports."""
    table = Table(title="Locked holdout (finalize): the numbers to report")
    table.add_column("")
    for row in rows:
        table.add_column(f"trial {row['trial']}", justify="right")
    lines: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("model / symbol", lambda r: f"{r['model']} / {r['symbol']} ({_data_label(r)})"),
        ("holdout period", lambda r: " to ".join(str(d) for d in r["holdout_period"])),
        ("selection accuracy", lambda r: f"{r['selection_accuracy']:.1%}"),
        ("holdout accuracy", lambda r: f"{r['holdout_accuracy']:.1%}"),
        ("best baseline", lambda r: f"{r['best_baseline']} {r['baseline_accuracy']:.1%}"),
        (
            "p-value (binomial / McNemar)",
            lambda r: f"{p_text(r['p_value'])} / {p_text(r['mcnemar_p_value'])}",
        ),
        ("Sharpe vs buy-and-hold", lambda r: f"{r['sharpe']:.2f} vs {r['buy_hold_sharpe']:.2f}"),
        ("execution", lambda r: str(r["execution"])),
        ("deflated Sharpe (selection)", lambda r: p_text(r["dsr"])),
        ("PBO (selection window)", lambda r: p_text(r["pbo"])),
        ("tries on the dataset", lambda r: str(r["tries"])),
        (
            "holdout look",
            lambda r: f"{r['look']}" + (" (untouched)" if r["untouched"] else " (NOT untouched)"),
        ),
    ]
    for label, render in lines:
        table.add_row(label, *(render(row) for row in rows))
    return table
