"""The engine's summaries of its results: a trial's row and a holdout score's row read the
numbers from the typed result, and a model is described from its registry entry."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from mltrainer.engine.models import MODELS
from mltrainer.engine.results import FinalSummary, ModelInfo, ParamInfo, TrialSummary
from mltrainer.engine.trial import FinalResult, TrialResult

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "transcripts_v1"


def recorded(call_id: str) -> dict[str, Any]:
    """What `mltrainer demo` recorded for `call_id` (see the fixtures' README)."""
    for line in (FIXTURES / "demo.jsonl").read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        if event["event"] == "tool_run" and event["call_id"] == call_id:
            payload: dict[str, Any] = event["payload"]
            return payload
    raise AssertionError(f"no tool run {call_id}")


def test_a_trials_row_holds_its_selection_numbers_against_its_best_baseline():
    result = TrialResult.model_validate(recorded("call_2"))

    row = TrialSummary.of(result)

    assert row == TrialSummary(
        trial=2,
        model_id=result.model_id,
        model="lightgbm",
        symbol="SPX",
        data="REAL DATA",
        selection_accuracy=result.selection_accuracy,
        best_baseline=result.baselines.best_name,
        baseline_accuracy=result.baselines.best_accuracy,
        p_value=result.baselines.p_value,
        p_value_adjusted=result.p_value_adjusted,
        tries=2,
        sharpe=result.backtest.long_flat.sharpe,
        buy_hold_sharpe=result.backtest.buy_and_hold.sharpe,
    )


def test_a_holdout_scores_row_holds_its_holdout_numbers_and_its_look():
    final = FinalResult.model_validate(recorded("call_6"))

    row = FinalSummary.of(final)

    assert (row.trial, row.model, row.symbol, row.data) == (
        1,
        "logistic_regression",
        "SPX",
        "REAL DATA",
    )
    assert row.holdout_accuracy == final.holdout.accuracy
    assert row.holdout_period == (date(2014, 12, 31), date(2018, 12, 27))
    assert (row.p_value, row.mcnemar_p_value) == (
        final.holdout.baselines.p_value,
        final.holdout.baselines.mcnemar_p_value,
    )
    assert (row.tries, row.look, row.untouched) == (3, 1, True)


def test_a_model_is_described_by_its_registry_entry():
    info = ModelInfo.of(MODELS["knn"])

    assert (info.name, info.family, info.needs) == ("knn", MODELS["knn"].family, None)
    assert info.params["n_neighbors"] == ParamInfo(
        default=MODELS["knn"].params["n_neighbors"].default,
        low=MODELS["knn"].params["n_neighbors"].low,
        high=MODELS["knn"].params["n_neighbors"].high,
        choices=None,
    )
