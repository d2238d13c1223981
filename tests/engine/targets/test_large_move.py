"""A second research target, `large_move` (defined in these tests, registered as a plugin
would), trains end to end on the offline sample data through `ResearchService` and through the
`train_model` tool, with its own labels, rules, positions and scores; before it is registered it
is refused by name."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from mltrainer.engine.data.sample import SampleSource
from mltrainer.engine.errors import ConfigError
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import load_settings
from mltrainer.engine.targets import get_target
from mltrainer.engine.trial import TrialConfig
from mltrainer.tools import ToolArgumentError, get_tool
from mltrainer.tools.base import ToolContext
from tests.engine.targets.large_move import LargeMove, calm_or_large

TRIAL = {"symbol": "SPX", "model": "logistic_regression", "days": 2000, "save_model": False}


def as_json(payload: object) -> dict[str, object]:
    dumped = payload.model_dump(mode="json") if hasattr(payload, "model_dump") else payload
    assert isinstance(dumped, dict)
    return dumped


def test_an_unregistered_target_is_refused_by_name():
    with pytest.raises(
        ValidationError, match="target\n  Input should be 'direction', 'return' or 'rank'"
    ):
        TrialConfig(symbol="SPX", target="large_move")
    with pytest.raises(
        ConfigError, match="unknown target 'large_move'; targets are direction, return, rank"
    ):
        get_target("large_move")
    with pytest.raises(
        ToolArgumentError, match=r"target: Input should be 'direction', 'return' or 'rank' \(got"
    ):
        get_tool("train_model").parse(json.dumps({"symbol": "SPX", "target": "large_move"}))


def test_a_registered_target_is_named_in_the_trial_schema(large_move):
    schema = TrialConfig.model_json_schema()["properties"]["target"]

    assert schema["enum"] == ["direction", "return", "rank", "large_move"]
    assert "large_move = whether the next bar's move is larger" in schema["description"]
    assert isinstance(get_target("large_move"), LargeMove)


def test_it_trains_through_the_research_service_on_its_own_labels(large_move):
    service = ResearchService(load_settings(), session="second-target")

    result = service.train(TrialConfig.model_validate(TRIAL | {"target": "large_move"})).result

    recorded = service.ledger.predictions(result.trial)
    # Its labels: |the return a next-bar position earns| above the last 20 moves' median.
    close = SampleSource().bars("SPX").frame["close"]
    move = close.pct_change().abs()
    earned = close.shift(-2) / close.shift(-1) - 1
    days = pd.DatetimeIndex(recorded.dates)
    large = (earned.abs() > move.rolling(20).median()).astype(int)
    assert recorded.y_true == large[days].tolist()
    direction = (close.shift(-1) > close).astype(int)
    assert recorded.y_true != direction[days].tolist()
    # Its scores, from those labels and its calls.
    assert result.config.target == "large_move"
    assert result.selection_accuracy == np.mean(np.equal(recorded.y_true, recorded.y_pred))
    assert (result.selection.n, result.selection_accuracy) == (398, 238 / 398)
    # Its rules, under its own names, and no rule of direction's.
    baselines = result.baselines.model_dump()
    assert set(baselines) == {
        "majority_class",
        "always_large",
        "previous_large",
        "best_name",
        "best_accuracy",
        "p_value",
        "mcnemar_p_value",
        "tested_days",
    }
    assert baselines["always_large"] == np.mean(recorded.y_true)
    # Its positions: out of the market on a forecast large move.
    held = calm_or_large(np.array(recorded.y_pred))["long_flat"]
    assert held.tolist() == [0.0 if call else 1.0 for call in recorded.y_pred]
    assert recorded.strategy_return == pytest.approx(
        (held * np.array(recorded.next_return) - 2e-4 * np.abs(np.diff(held, prepend=0))).tolist()
    )


def test_its_trials_are_told_apart_from_direction_trials(large_move):
    service = ResearchService(load_settings(), session="second-target")
    direction = service.train(TrialConfig.model_validate(TRIAL)).result
    large = service.train(TrialConfig.model_validate(TRIAL | {"target": "large_move"})).result

    assert direction.model_id != large.model_id
    with pytest.raises(
        ConfigError, match="compare_trials ranks trials of one target and horizon only"
    ):
        service.compare([direction.trial, large.trial])


def test_it_is_evaluated_compared_and_finalized_with_its_own_scores(large_move):
    service = ResearchService(load_settings(), session="second-target")
    first = service.train(TrialConfig.model_validate(TRIAL | {"target": "large_move"})).result
    second = service.train(
        TrialConfig.model_validate(TRIAL | {"target": "large_move", "model": "naive_bayes"})
    ).result

    evaluated = as_json(service.evaluate(first.trial, cost_bps=20))
    compared = as_json(service.compare([first.trial, second.trial]))
    final = service.finalize(first.trial)

    assert evaluated["selection"] == first.selection.model_dump(mode="json")
    assert evaluated["backtest"]["cost_bps"] == 20
    assert compared["trials"][1]["shared_days"] == 398
    assert final.holdout.accuracy == final.holdout.metrics.accuracy
    assert set(final.holdout.baselines.model_dump()) >= {"always_large", "previous_large"}
    assert final.config.target == "large_move"


def test_it_trains_through_the_train_model_tool(large_move):
    tool = get_tool("train_model")
    context = ToolContext(ResearchService(load_settings(), session="tool"), call_id="call-1")
    arguments = tool.parse(json.dumps(TRIAL | {"target": "large_move"}))

    payload = as_json(tool.handler(context, arguments))

    assert payload["status"] == "success", payload
    assert payload["config"]["target"] == "large_move"
    assert payload["baselines"]["best_name"] in ("majority_class", "always_large", "previous_large")
    assert payload["selection_accuracy"] == pytest.approx(0.5980, abs=5e-5)


def test_it_refuses_a_horizon_it_cannot_label(large_move):
    service = ResearchService(load_settings())

    with pytest.raises(ConfigError, match="large_move looks one bar ahead; got horizon=3"):
        service.train(TrialConfig.model_validate(TRIAL | {"target": "large_move", "horizon": 3}))
