"""Metric labels come from bounded sets, so no caller can grow `/metrics` without end. The
attack: 5,000 unknown tool names over MCP made 10,000 new series (`/metrics` 5 KB -> 1.17 MB),
200 calls with 200 KB names made it 81 MB, and 300 symbols made 300 accuracy series."""

from __future__ import annotations

import json

import pytest
from prometheus_client import REGISTRY, generate_latest

from mltrainer.agent import metrics
from mltrainer.agent.messages import ToolCall
from mltrainer.agent.metrics import OTHER, TopSymbols
from mltrainer.agent.session.dispatch import LiveExecutor
from mltrainer.engine.results import TrialSummary
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import load_settings

# Any fixed bound proves the point; the registered names make a few dozen series per metric.
SERIES_BOUND = 200


@pytest.fixture(autouse=True)
def fresh_symbols(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test counts symbols from nothing (the registry itself lives as long as the process)."""
    monkeypatch.setattr(metrics, "_top_symbols", TopSymbols(20))


def series(name: str) -> int:
    """How many label sets the metric `name` has (a counter's `_total` and `_created` samples
    are one series)."""
    return len(
        {
            tuple(sorted(sample.labels.items()))
            for family in REGISTRY.collect()
            if family.name == name
            for sample in family.samples
        }
    )


def row(symbol: str, model: str = "naive_bayes") -> TrialSummary:
    return TrialSummary(
        trial=1,
        model_id="m",
        model=model,
        symbol=symbol,
        data="REAL DATA",
        selection_accuracy=0.5,
        best_baseline="majority_class",
        baseline_accuracy=0.5,
        p_value=0.5,
        p_value_adjusted=None,
        tries=1,
        sharpe=0.0,
        buy_hold_sharpe=0.0,
    )


async def test_5000_unknown_tool_names_make_no_new_series() -> None:
    executor = LiveExecutor(ResearchService(load_settings()))
    calls = [ToolCall(f"c{i}", f"no_such_tool_{i}", "{}") for i in range(5000)]
    calls += [ToolCall(f"long{i}", "x" * 200_000 + str(i), "{}") for i in range(200)]
    before = series("mltrainer_tool_calls")
    size_before = len(generate_latest(REGISTRY))

    report = await executor.execute(calls)

    assert len(report.runs) == 5200
    assert series("mltrainer_tool_calls") - before <= 1  # at most the one `other` series
    assert len(generate_latest(REGISTRY)) - size_before < 1000


def test_1000_symbols_keep_the_accuracy_gauge_bounded() -> None:
    before = series("ml_model_accuracy")

    for index in range(1000):
        metrics._count_trial(row(f"SYM{index}"))

    assert series("ml_model_accuracy") < SERIES_BOUND
    assert series("ml_model_accuracy") - before <= 20 + 1  # the top 20, and `other`


def test_the_symbols_with_most_trials_keep_their_labels() -> None:
    top = TopSymbols(2)

    labels = [top.label(symbol) for symbol in ("SPX", "IXIC", "MSFT", "MSFT", "MSFT")]

    assert labels == [
        ("SPX", None),
        ("IXIC", None),
        (OTHER, None),  # one trial each: no better than those already labelled
        ("MSFT", "SPX"),  # two trials: it displaces the first of the weakest
        ("MSFT", None),
    ]


def test_a_displaced_symbols_series_are_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "_top_symbols", TopSymbols(1))
    metrics._count_trial(row("AAA"))
    assert (
        REGISTRY.get_sample_value(
            "ml_model_accuracy", {"model_type": "naive_bayes", "symbol": "AAA"}
        )
        == 0.5
    )

    metrics._count_trial(row("BBB"))
    metrics._count_trial(row("BBB"))

    labels = {"model_type": "naive_bayes", "symbol": "AAA"}
    assert REGISTRY.get_sample_value("ml_model_accuracy", labels) is None
    assert REGISTRY.get_sample_value("ml_model_accuracy", {**labels, "symbol": "BBB"}) == 0.5


def test_an_unregistered_model_counts_as_other() -> None:
    metrics._count_trial(row("SPX", model="a-model-nobody-registered"))

    labels = {"model_type": OTHER, "symbol": "SPX"}
    assert REGISTRY.get_sample_value("ml_model_accuracy", labels) == 0.5


def test_a_label_is_never_longer_than_64_characters() -> None:
    assert metrics.bounded("y" * 300, ["y" * 300]) == "y" * 64
    assert json.dumps(metrics.bounded("unknown", ["known"])) == '"other"'


def test_the_number_of_symbols_comes_from_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLTRAINER_METRICS_SYMBOLS", "7")
    monkeypatch.setattr(metrics, "_top_symbols", None)

    assert metrics.top_symbols().limit == 7
