"""The Trials page's table shows each target's own score as the number it is: a direction
trial's accuracy in the percent columns, a rank trial's Rank IC in the score columns."""

from __future__ import annotations

import math

import pytest

from mltrainer.agent.ui.trials import table_frame
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import load_settings
from mltrainer.engine.trial import TrialConfig


def test_a_rank_trial_fills_the_score_columns_and_a_direction_trial_the_percent_ones():
    service = ResearchService(load_settings(), session="table")
    rank = {"target": "rank", "universe": "sp20", "model": "ridge", "features": ["roc"]}
    service.train(TrialConfig.model_validate({**rank, "save_model": False}))
    service.train(TrialConfig.model_validate({"symbol": "SPX", "model": "naive_bayes"}))

    frame = table_frame(service.ledger_table()).set_index("trial")

    ranked, direction = service.ledger.result(1), service.ledger.result(2)
    assert ranked is not None and direction is not None
    assert list(frame["target"]) == ["direction", "rank"]
    assert frame.loc[1, "selection score"] == pytest.approx(ranked["selection_accuracy"])
    assert math.isnan(frame.loc[1, "selection acc"])
    assert frame.loc[2, "selection acc"] == pytest.approx(100 * direction["selection_accuracy"])
    assert math.isnan(frame.loc[2, "selection score"])
