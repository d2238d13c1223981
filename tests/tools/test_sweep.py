"""`sweep`: a small grid run as one call, every configuration a recorded, counted try; grids
that are too large or cannot run are refused before anything trains."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mltrainer.engine.executors import DaskExecutor
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import load_settings
from mltrainer.tools import ToolArgumentError, get_tool
from mltrainer.tools.base import ToolContext
from mltrainer.tools.results import dump

BASE = {"symbol": "SPX", "days": 1500, "save_model": False}
GRID = {"model": ["naive_bayes", "logistic_regression"], "lookback": [10, 20]}


def sweep(context: ToolContext, **arguments: Any) -> dict[str, Any]:
    """The sweep's result as its JSON payload: the shape a transcript and a model see."""
    tool = get_tool("sweep")
    return dump(tool.run(context, tool.parse(json.dumps(arguments))))


def context(call_id: str | None = "call-1", **options: Any) -> ToolContext:
    return ToolContext(ResearchService(session="sweep-test", **options), call_id=call_id)


def test_every_configuration_is_a_recorded_try():
    engine = context()
    payload = sweep(engine, **BASE, grid=GRID)

    assert payload["status"] == "success", payload
    assert (payload["configurations"], payload["trained"], payload["errors"]) == (4, 4, [])
    rows = payload["rows"]
    assert [(r["model"], r["lookback"]) for r in rows] == [
        ("naive_bayes", 10),
        ("naive_bayes", 20),
        ("logistic_regression", 10),
        ("logistic_regression", 20),
    ]
    assert sorted(r["trial"] for r in rows) == [1, 2, 3, 4]
    assert {r["tries"] for r in rows} == {4}
    assert all(r["p_value_adjusted"] >= r["p_value"] for r in rows)
    assert all(r["return_p_value_adjusted"] >= r["return_p_value"] for r in rows)
    assert payload["best_trial"] == max(rows, key=lambda r: r["return_t"])["trial"]
    ledger = engine.service.ledger
    assert ledger.count() == 4
    assert {ledger.trial_for_call("sweep-test", f"call-1#{n}") for n in range(1, 5)} == {1, 2, 3, 4}


def test_a_repeated_sweep_call_adopts_its_recorded_trials():
    first = sweep(context(), **BASE, grid=GRID)
    again = sweep(context(), **BASE, grid=GRID)

    assert [r["trial"] for r in again["rows"]] == [r["trial"] for r in first["rows"]]
    assert ResearchService().ledger.count() == 4


def test_a_grid_above_the_limit_is_refused_naming_the_limit():
    tool = get_tool("sweep")
    arguments = {**BASE, "grid": {"model": ["rf", "lightgbm", "svm"], "seed": [1, 2, 3, 4, 5, 6]}}

    with pytest.raises(ToolArgumentError, match=r"18 configurations \(3 model x 6 seed\); the"):
        tool.parse(json.dumps(arguments))


def test_a_field_that_cannot_be_varied_is_refused_listing_those_that_can():
    tool = get_tool("sweep")

    with pytest.raises(ToolArgumentError, match=r"'features' cannot be varied; vary symbol, sou"):
        tool.parse(json.dumps({**BASE, "grid": {"features": [["rsi"]]}}))


def test_an_invalid_combination_is_refused_before_anything_runs():
    tool = get_tool("sweep")

    with pytest.raises(ToolArgumentError, match=r"combination \{'lookback': 500\}: lookback"):
        tool.parse(json.dumps({**BASE, "grid": {"lookback": [10, 500]}}))
    payload = sweep(context(), **BASE, grid={"model": ["knn", "naive_bayes"], "params.C": [1.0]})
    assert payload["status"] == "error"
    assert "C" in payload["error"]
    assert ResearchService().ledger.count() == 0


def test_a_configuration_that_fails_is_reported_beside_the_ones_that_ran():
    payload = sweep(context(), symbol="SPX", save_model=False, grid={"days": [100, 1500]})

    assert payload["status"] == "success"
    assert [r["days"] for r in payload["rows"]] == [1500]
    assert payload["errors"][0]["days"] == 100
    assert "usable rows for SPX" in payload["errors"][0]["error"]


@pytest.mark.slow
def test_a_sweep_on_dask_workers_gives_the_local_numbers(dask_scheduler: str):
    local = sweep(context(), **BASE, grid=GRID)
    executor = DaskExecutor(2, dask_scheduler)
    try:
        remote = sweep(context("call-2", executor=executor), **BASE, grid=GRID)
    finally:
        executor.close()

    def numbers(payload: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [(r["model_id"], r["selection_accuracy"], r["sharpe"]) for r in payload["rows"]]

    assert numbers(remote) == numbers(local)
    assert load_settings().db_path.exists()
    assert ResearchService().ledger.count() == 8
