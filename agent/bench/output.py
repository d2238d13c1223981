"""What `mltrainer bench honesty` leaves in its output folder: `worlds.csv` (one row per world),
`summary.csv` (one row per kind and strength), `bench.json` (both, with the run's settings) and
`honesty.png` (the rates against 5% and against the predicted power).
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from mltrainer.agent.bench.honesty import BenchReport
from mltrainer.engine.honesty import GroupScore, WorldOutcome
from mltrainer.engine.power import ALPHA

WORLD_COLUMNS = (*(f.name for f in fields(WorldOutcome)), "significant")
SUMMARY_COLUMNS = tuple(f.name for f in fields(GroupScore))
FILES = ("worlds.csv", "summary.csv", "bench.json", "honesty.png")


def world_row(outcome: WorldOutcome) -> dict[str, Any]:
    return {**asdict(outcome), "significant": outcome.significant}


def write_outputs(report: BenchReport, folder: Path, settings: dict[str, Any]) -> list[Path]:
    """Write the four files into `folder`; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    worlds = [world_row(o) for o in report.outcomes]
    groups = [asdict(g) for g in report.groups]
    _write_csv(folder / "worlds.csv", WORLD_COLUMNS, worlds)
    _write_csv(folder / "summary.csv", SUMMARY_COLUMNS, groups)
    (folder / "bench.json").write_text(
        json.dumps({"settings": settings, "summary": groups, "worlds": worlds}, indent=2) + "\n"
    )
    honesty_figure(report.groups).savefig(folder / "honesty.png", dpi=110)
    return [folder / name for name in FILES]


def _write_csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def honesty_figure(groups: list[GroupScore]) -> Figure:
    """Share of significant claims per group with its 95% interval: noise worlds against the 5%
    a test at that level allows, planted strengths against the power predicted for them."""
    figure = Figure(figsize=(7.0, 4.2))
    axis = figure.add_subplot()
    labels = [g.kind if g.kind == "noise" else f"signal {g.strength:g}" for g in groups]
    positions = range(len(groups))
    rates = [g.rate for g in groups]
    errors = [[g.rate - g.rate_low for g in groups], [g.rate_high - g.rate for g in groups]]
    for kind, colour, label in (
        ("noise", "#d62728", "false discoveries (noise)"),
        ("signal", "#1f77b4", "detections (planted signal)"),
    ):
        members = [i for i, g in enumerate(groups) if g.kind == kind]
        if members:
            heights = [rates[i] for i in members]
            axis.bar(members, heights, color=colour, alpha=0.8, label=label)
    axis.errorbar(positions, rates, yerr=errors, fmt="none", ecolor="black", capsize=4)
    predicted = [(i, g.predicted_power) for i, g in enumerate(groups) if g.predicted_power]
    if predicted:
        axis.scatter(
            [i for i, _ in predicted],
            [p for _, p in predicted],
            marker="D",
            color="#ff7f0e",
            zorder=3,
            label="predicted power",
        )
    axis.axhline(ALPHA, color="#555555", linestyle="--", linewidth=1, label=f"{ALPHA:.0%} level")
    axis.set_xticks(list(positions), labels)
    axis.set_ylim(0.0, 1.0)
    axis.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    axis.set_ylabel("sessions with a significant holdout claim")
    axis.set_title("Honesty benchmark: significant holdout claims per world")
    axis.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    return figure
