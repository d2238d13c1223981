"""The UI's comparison table names each target's own score and shows it as the number it is:
accuracy in percent, a Rank IC or an IC (and a return's baselines' R2) unscaled."""

from __future__ import annotations

import pytest

from mltrainer.agent.ui.widgets import comparison_frame
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import load_settings
from mltrainer.engine.trial import TrialConfig


def compared(*configs: dict[str, object]):
    service = ResearchService(load_settings(), session="widgets")
    for fields in configs:
        service.train(TrialConfig.model_validate({**fields, "save_model": False}))
    return service, service.compare()


def test_a_rank_comparison_shows_rank_ics_unscaled():
    rank = {"target": "rank", "universe": "sp20", "model": "ridge", "features": ["roc"]}
    service, comparison = compared(rank, {**rank, "params": {"alpha": 100.0}})

    frame = comparison_frame(comparison)

    assert "selection accuracy" not in frame.columns
    by_trial = frame.set_index("trial")
    for trial in (1, 2):
        result = service.ledger.result(trial)
        assert result is not None
        assert by_trial.loc[trial, "selection Rank IC"] == pytest.approx(
            result["selection_accuracy"]
        )
        assert by_trial.loc[trial, "best baseline Rank IC"] == pytest.approx(
            result["baselines"]["best_score"]
        )


def test_a_return_comparison_names_the_ic_and_the_baselines_r2():
    returns = {"target": "return", "symbol": "MSFT", "model": "ridge"}
    service, comparison = compared(returns, {**returns, "params": {"alpha": 100.0}})

    frame = comparison_frame(comparison)

    first = service.ledger.result(1)
    assert first is not None
    row = frame.set_index("trial").loc[1]
    assert row["selection IC"] == pytest.approx(first["selection_accuracy"])
    assert row["best baseline out-of-sample R2"] == pytest.approx(first["baselines"]["best_score"])


def test_a_direction_comparison_shows_accuracy_in_percent():
    direction = {"symbol": "SPX", "model": "naive_bayes", "days": 1500}
    service, comparison = compared(direction, {**direction, "model": "logit"})

    frame = comparison_frame(comparison)

    first = service.ledger.result(1)
    assert first is not None
    assert frame.set_index("trial").loc[1, "selection accuracy"] == pytest.approx(
        100.0 * first["selection_accuracy"]
    )
