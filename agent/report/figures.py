"""The report figures, drawn with matplotlib from the engine's report data (`engine/report_data.py`,
`engine/importance.py`). The same functions serve `mltrainer report` and the UI.

Figures are built with the object-oriented API (`Figure`, no pyplot), so several threads of the
UI's server can draw at once. Percentages carry one decimal; symbols and model names are shown
as recorded.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter, MaxNLocator

from mltrainer.engine.importance import FeatureImportance
from mltrainer.engine.report_data import (
    ConfusionMatrix,
    EquityCurves,
    ForecastCharts,
    SessionAccuracy,
)

COLOURS = {
    "long_flat": "#1f77b4",
    "long_short": "#ff7f0e",
    "buy_and_hold": "#555555",
    "sized": "#2ca02c",
}
DPI = 110
# Room a trial needs on the accuracy figure's axis for its label on three lines
# ("#12" / "gradient_boosting" / "SPX" at 8 points); with less, labels turn upright.
_STACKED_LABEL_INCHES = 0.95


class _PercentTicks(Formatter):
    """Fractions as percentages with the fewest decimals that show every tick exactly: -5%,
    -10%, but 0.2%, 0.4%."""

    decimals = 0

    def set_locs(self, locs: list[float]) -> None:
        super().set_locs(locs)
        percents = [100.0 * loc for loc in locs]
        self.decimals = next(
            (d for d in range(4) if all(abs(p - round(p, d)) < 1e-9 for p in percents)), 4
        )

    def __call__(self, x: float, pos: int | None = None) -> str:
        return f"{100.0 * x:.{self.decimals}f}%".replace("-", "\N{MINUS SIGN}")


def _percent_axis(axis: Axes, which: str = "y") -> None:
    (axis.yaxis if which == "y" else axis.xaxis).set_major_formatter(_PercentTicks())


def _date_axis(axis: Axes) -> None:
    """Dates that need no rotation: the year once, then months (matplotlib's concise form)."""
    locator = AutoDateLocator(minticks=3, maxticks=8)
    axis.xaxis.set_major_locator(locator)
    axis.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def _title(curves: EquityCurves) -> str:
    label = "" if curves.data_label == "REAL DATA" else f" ({curves.data_label})"
    return (
        f"Trial {curves.trial}: {curves.model} on {curves.symbol}{label}, selection segment, "
        f"after {curves.cost_bps:g} bps costs ({curves.execution})"
    )


def equity_figure(curves: EquityCurves) -> Figure:
    """Growth of 1.0 for each strategy against buy-and-hold, and each one's drawdown below."""
    figure = Figure(figsize=(9.0, 5.6), dpi=DPI, layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    dates = pd.to_datetime(curves.dates)
    for curve in curves.curves:
        colour = COLOURS[curve.strategy]
        width = 1.2 if curve.strategy == "buy_and_hold" else 1.6
        top.plot(
            dates,
            curve.equity,
            color=colour,
            linewidth=width,
            label=f"{curve.label} {curve.total_return:+.1%}",
        )
        bottom.plot(dates, curve.drawdown, color=colour, linewidth=1.0, label=curve.label)
    top.axhline(1.0, color="#999999", linewidth=0.8, linestyle=":")
    top.set_ylabel("growth of 1.0")
    top.legend(loc="upper left", fontsize=9, frameon=False, title="total return", title_fontsize=9)
    top.set_title(_title(curves), fontsize=10, loc="left")
    bottom.set_ylabel("drawdown")
    _percent_axis(bottom)
    for axis in (top, bottom):
        axis.grid(alpha=0.3)
    _date_axis(bottom)
    return figure


def equity_sparkline(curves: EquityCurves) -> Figure:
    """A trial card's small curve: long/flat against buy-and-hold, no axes chrome."""
    figure = Figure(figsize=(3.6, 1.3), dpi=DPI, layout="constrained")
    axis = figure.subplots()
    dates = pd.to_datetime(curves.dates)
    for strategy in ("buy_and_hold", "long_flat"):
        curve = curves.curve(strategy)
        axis.plot(dates, curve.equity, color=COLOURS[strategy], linewidth=1.2, label=curve.label)
    axis.axhline(1.0, color="#999999", linewidth=0.6, linestyle=":")
    axis.legend(loc="upper left", fontsize=7, frameon=False)
    axis.tick_params(labelsize=7)
    axis.xaxis.set_major_locator(MaxNLocator(3))
    axis.set_xticks([])
    return figure


def accuracy_figure(session: SessionAccuracy) -> Figure:
    """Each trial's selection accuracy against its best baseline, over the band that the best
    of N coin flips reaches (expected to 95th percentile), N = tries on its dataset so far."""
    points = session.points
    width = min(max(6.5, 0.9 * len(points) + 3.0), 14.0)
    figure = Figure(figsize=(width, 4.6), dpi=DPI, layout="constrained")
    axis = figure.subplots()
    x = np.arange(len(points))
    low = [p.noise_bar for p in points]
    high = [p.noise_bar_95 for p in points]
    axis.bar(
        x, np.subtract(high, low), bottom=low, width=0.7, color="#d62728", alpha=0.15,
        label="best of N coin flips (expected to 95th pct.)",
    )  # fmt: skip
    axis.axhline(0.5, color="#999999", linewidth=0.8, linestyle=":", label="coin flip")
    axis.scatter(
        x, [p.baseline_accuracy for p in points], marker="_", s=400, color="#555555",
        linewidths=2.5, label="best baseline", zorder=3,
    )  # fmt: skip
    axis.scatter(
        x, [p.selection_accuracy for p in points], color="#1f77b4", s=45,
        label="selection accuracy", zorder=4,
    )  # fmt: skip
    for position, point in zip(x, points, strict=True):
        axis.annotate(
            f"{point.selection_accuracy:.1%}",
            (position, point.selection_accuracy),
            textcoords="offset points",
            xytext=(0, 7),
            ha="center",
            fontsize=8,
        )
    if width / len(points) >= _STACKED_LABEL_INCHES:
        axis.set_xticks(x, [f"#{p.trial}\n{p.model}\n{p.symbol}" for p in points], fontsize=8)
    else:  # too many trials side by side for three-line labels: one line each, upright
        axis.set_xticks(
            x, [f"#{p.trial} {p.model} {p.symbol}" for p in points], fontsize=8, rotation=90
        )
    values = low + high + [p.baseline_accuracy for p in points]
    values += [p.selection_accuracy for p in points]
    axis.set_ylim(min(min(values), 0.5) - 0.02, max(values) + 0.03)
    _percent_axis(axis)
    axis.set_ylabel("accuracy on the selection segment")
    title = f"Session {session.session}" if session.session else "Trials"
    axis.set_title(f"{title}: accuracy against baselines and luck", fontsize=10, loc="left")
    axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, fontsize=8, frameon=False)
    axis.grid(axis="y", alpha=0.3)
    return figure


def ic_figure(charts: ForecastCharts) -> Figure:
    """The forecast's IC over time (each date's Rank IC for a ranking, a trailing quarter's IC
    for one series) with its trend, and beside it the realised return of each fifth of the
    forecast: a forecast worth trading rises from the lowest fifth to the highest."""
    figure = Figure(figsize=(10.0, 3.8), dpi=DPI, layout="constrained")
    over_time, by_fifth = figure.subplots(1, 2, width_ratios=(3, 1.3))
    dates = pd.to_datetime(charts.dates)
    values = np.array([np.nan if v is None else v for v in charts.ic], dtype=float)
    trend = np.array([np.nan if v is None else v for v in charts.ic_trend], dtype=float)
    if charts.metric.startswith("Rank IC per date"):
        over_time.bar(dates, values, width=1.0, color="#9ecae1", label=charts.metric)
        over_time.plot(dates, trend, color="#08519c", linewidth=1.4, label="mean of 63 dates")
    else:
        over_time.plot(dates, values, color="#08519c", linewidth=1.2, label=charts.metric)
    over_time.axhline(0.0, color="#555555", linewidth=0.8)
    over_time.axhline(
        charts.mean_ic, color="#d62728", linewidth=1.0, linestyle="--",
        label=f"selection {charts.metric.split(' ')[0]} {charts.mean_ic:+.3f}",
    )  # fmt: skip
    over_time.set_title(
        f"Trial {charts.trial}: {charts.model} on {charts.symbol}, selection segment",
        fontsize=10,
        loc="left",
    )
    over_time.legend(loc="upper left", fontsize=8, frameon=False, ncol=3)
    over_time.grid(alpha=0.3)
    fifths = np.arange(1, len(charts.quantile_returns) + 1)
    colours = ["#d62728" if r < 0 else "#1f77b4" for r in charts.quantile_returns]
    by_fifth.bar(fifths, charts.quantile_returns, color=colours)
    by_fifth.set_xticks(fifths, ["low", *[""] * (len(fifths) - 2), "high"])
    by_fifth.set_xlabel("fifth of the forecast")
    _percent_axis(by_fifth)
    by_fifth.set_title("next-bar return, annualised", fontsize=10, loc="left")
    by_fifth.axhline(0.0, color="#555555", linewidth=0.8)
    by_fifth.grid(axis="y", alpha=0.3)
    figure.autofmt_xdate()
    return figure


def confusion_figure(matrix: ConfusionMatrix) -> Figure:
    """Counts of each call against what happened, with the share of each actual direction."""
    figure = Figure(figsize=(4.2, 3.6), dpi=DPI, layout="constrained")
    axis = figure.subplots()
    counts = np.asarray(matrix.counts, dtype=float)
    rows = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    axis.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    for actual in range(2):
        for called in range(2):
            colour = "white" if shares[actual, called] > 0.6 else "black"
            axis.text(
                called,
                actual,
                f"{int(counts[actual, called])}\n{shares[actual, called]:.1%}",
                ha="center",
                va="center",
                color=colour,
                fontsize=10,
            )
    axis.set_xticks([0, 1], [f"called {label}" for label in matrix.labels])
    axis.set_yticks([0, 1], [f"was {label}" for label in matrix.labels])
    axis.set_title(f"Trial {matrix.trial}: accuracy {matrix.accuracy:.1%}", fontsize=10, loc="left")
    return figure


def importance_figure(importance: FeatureImportance) -> Figure:
    """The score (accuracy, IC, Rank IC) lost when each feature is shuffled on the selection
    rows (mean and spread); only the 25 that matter most for a wide set such as rank's 60."""
    order = np.argsort(importance.mean_drop)[-25:]
    height = max(2.6, 0.32 * len(order) + 1.4)
    figure = Figure(figsize=(6.4, height), dpi=DPI, layout="constrained")
    axis = figure.subplots()
    means = np.asarray(importance.mean_drop)[order]
    spreads = np.asarray(importance.std_drop)[order]
    colours = ["#1f77b4" if m > 0 else "#bbbbbb" for m in means]
    axis.barh(np.arange(len(order)), means, xerr=spreads, color=colours, capsize=2)
    axis.set_yticks(np.arange(len(order)), [importance.features[i] for i in order], fontsize=9)
    axis.axvline(0.0, color="#555555", linewidth=0.8)
    if importance.metric == "accuracy":
        _percent_axis(axis, "x")
    axis.set_xlabel(f"{importance.metric} lost when shuffled (selection segment)")
    axis.set_title(
        f"Trial {importance.trial}: permutation importance ({importance.model})\n"
        f"{importance.repeats} shuffles of {importance.rows} selection rows",
        fontsize=10,
        loc="left",
    )
    axis.grid(axis="x", alpha=0.3)
    return figure


def png_bytes(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=figure.dpi)
    return buffer.getvalue()
