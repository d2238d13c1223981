"""The report figures read at a glance: no tick label overlaps another or leaves the figure,
titles stay inside, percentages carry no needless decimals, dates need no rotation."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.axis import XAxis, YAxis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from mltrainer.agent.report.figures import (
    accuracy_figure,
    confusion_figure,
    equity_figure,
    importance_figure,
)
from mltrainer.engine.importance import FeatureImportance
from mltrainer.engine.models import MODELS
from mltrainer.engine.report_data import (
    AccuracyPoint,
    ConfusionMatrix,
    Curve,
    EquityCurves,
    SessionAccuracy,
)


def curves(days: int) -> EquityCurves:
    dates = pd.bdate_range("2004-01-02", periods=days)
    rng = np.random.default_rng(days)
    made = []
    for strategy, label in (
        ("long_flat", "long/flat"),
        ("long_short", "long/short"),
        ("buy_and_hold", "buy-and-hold"),
    ):
        equity = np.cumprod(1.0 + rng.normal(0.0003, 0.01, days))
        peaks = np.maximum.accumulate(equity)
        made.append(
            Curve(
                strategy=strategy,
                label=label,
                equity=equity.tolist(),
                drawdown=(equity / peaks - 1.0).tolist(),
                total_return=float(equity[-1] - 1.0),
            )
        )
    return EquityCurves(
        trial=12,
        model="gradient_boosting",
        symbol="BRK.B",
        data_label="SYNTHETIC DATA",
        dates=[d.date().isoformat() for d in dates],
        cost_bps=10.0,
        execution="next_bar",
        curves=made,
    )


def session(trials: int) -> SessionAccuracy:
    models = list(MODELS)
    return SessionAccuracy(
        session="20261206-132948-ca67de",
        points=[
            AccuracyPoint(
                trial=100 + n,
                model=models[n % len(models)],
                symbol=("SPX", "IXIC", "BRK.B")[n % 3],
                selection_accuracy=0.5 + 0.003 * n,
                baseline_name="majority_class",
                baseline_accuracy=0.56,
                days=800,
                tries=n + 1,
                noise_bar=0.51,
                noise_bar_95=0.53,
            )
            for n in range(trials)
        ],
    )


def importance(features: int) -> FeatureImportance:
    return FeatureImportance(
        trial=7,
        model="logistic_regression",
        features=[f"close_to_sma_{n}" for n in range(features)],
        mean_drop=np.linspace(-0.01, 0.01, features).tolist(),
        std_drop=[0.003] * features,
        accuracy=0.55,
        repeats=10,
        rows=803,
    )


def drawn(axis: XAxis | YAxis, limits: tuple[float, float]) -> list[Text]:
    """The tick labels an axis draws: visible, with text, at a tick inside its view."""
    low, high = sorted(limits)
    return [
        tick.label1
        for tick in axis.get_major_ticks()
        if low <= tick.get_loc() <= high
        and tick.get_visible()
        and tick.label1.get_visible()
        and tick.label1.get_text()
    ]


def labels(figure: Figure) -> list[Text]:
    FigureCanvasAgg(figure)
    figure.draw_without_rendering()
    return [
        label
        for axes in figure.axes
        for label in [*drawn(axes.xaxis, axes.get_xlim()), *drawn(axes.yaxis, axes.get_ylim())]
    ]


def texts(figure: Figure) -> list[Text]:
    """Titles and tick labels: everything that must be read whole."""
    return [*labels(figure), *(axis.title for axis in figure.axes if axis.get_title(loc="left"))]


FIGURES = {
    "equity, 60 days": lambda: equity_figure(curves(60)),
    "equity, 15 years": lambda: equity_figure(curves(15 * 252)),
    "accuracy, 4 trials": lambda: accuracy_figure(session(4)),
    "accuracy, 12 trials": lambda: accuracy_figure(session(12)),
    "accuracy, 40 trials": lambda: accuracy_figure(session(40)),
    "confusion": lambda: confusion_figure(
        ConfusionMatrix(trial=3, counts=[[22, 330], [28, 423]], accuracy=0.554)
    ),
    "importance, 13 features": lambda: importance_figure(importance(13)),
    "importance, 40 features": lambda: importance_figure(importance(40)),
}


@pytest.mark.parametrize("name", FIGURES)
def test_no_tick_label_overlaps_another(name: str):
    shown = labels(FIGURES[name]())
    boxes = [label.get_window_extent() for label in shown]

    for (a, box_a), (b, box_b) in itertools.combinations(zip(shown, boxes, strict=True), 2):
        assert not box_a.overlaps(box_b), (a.get_text(), b.get_text())


@pytest.mark.parametrize("name", FIGURES)
def test_every_title_and_tick_label_is_inside_the_figure(name: str):
    figure = FIGURES[name]()
    shown = texts(figure)
    width, height = figure.canvas.get_width_height()

    for text in shown:
        box = text.get_window_extent()
        assert box.x0 >= -1 and box.x1 <= width + 1, text.get_text()
        assert box.y0 >= -1 and box.y1 <= height + 1, text.get_text()


@pytest.mark.parametrize("name", ["equity, 60 days", "equity, 15 years"])
def test_date_ticks_are_level(name: str):
    for label in labels(FIGURES[name]()):
        assert label.get_rotation() == 0, label.get_text()


@pytest.mark.parametrize("days", [60, 250, 15 * 252])
def test_percent_ticks_carry_no_needless_decimals(days: int):
    figure = equity_figure(curves(days))
    labels(figure)
    bottom = figure.axes[1]

    drawdown = [label.get_text() for label in drawn(bottom.yaxis, bottom.get_ylim())]

    assert drawdown
    assert all(not re.search(r"\.\d*0%", tick) for tick in drawdown), drawdown
