"""What the figures and tables show, from the ledger: equity curves that end at the reported
total return, drawdowns, confusion counts, the session's accuracies against the noise band,
and the ledger table with Holm p-values and holdout numbers."""

from __future__ import annotations

import numpy as np
import pytest

from mltrainer.engine.errors import ConfigError
from mltrainer.engine.report_data import (
    config_text,
    confusion_matrix,
    equity_curves,
    ledger_table,
    session_accuracy,
    trial_rows,
)
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import load_settings
from mltrainer.engine.stats import best_of_n_accuracy, holm_adjusted
from mltrainer.engine.trial import TrialConfig

SPX = {"symbol": "SPX", "model": "naive_bayes", "days": 1500, "save_model": False}


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> ResearchService:
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLTRAINER_HOME", str(home))
        service = ResearchService(load_settings(), session="report-test")
        service.train(TrialConfig.model_validate(SPX))
        service.train(TrialConfig.model_validate({**SPX, "model": "logit", "cost_bps": 10}))
        service.train(TrialConfig.model_validate({**SPX, "symbol": "IXIC"}))
        service.finalize(1)
    return service


def test_each_equity_curve_ends_at_the_total_return_the_trial_reported(recorded):
    for trial in (1, 2, 3):
        result = recorded.ledger.result(trial)
        assert result is not None
        curves = equity_curves(recorded.ledger, trial)

        for strategy in ("long_flat", "long_short", "buy_and_hold"):
            curve = curves.curve(strategy)
            reported = result["backtest"][strategy]["total_return"]
            assert curve.equity[-1] - 1.0 == pytest.approx(reported, abs=1e-12)
            assert curve.total_return == pytest.approx(reported, abs=1e-12)
            assert min(curve.drawdown) == pytest.approx(
                result["backtest"][strategy]["max_drawdown"], abs=1e-12
            )
            assert len(curve.equity) == len(curves.dates)
        assert curves.cost_bps == result["config"]["cost_bps"]


def test_long_flat_curve_is_the_stored_daily_strategy_return(recorded):
    predictions = recorded.ledger.predictions(2)
    assert predictions is not None and predictions.strategy_return is not None
    curve = equity_curves(recorded.ledger, 2).curve("long_flat")

    np.testing.assert_allclose(curve.equity, np.cumprod(1 + np.array(predictions.strategy_return)))


def test_drawdown_is_never_positive_and_zero_at_new_highs(recorded):
    curve = equity_curves(recorded.ledger, 1).curve("buy_and_hold")
    equity = np.array(curve.equity)
    highs = equity >= np.maximum.accumulate(np.concatenate([[1.0], equity]))[1:]

    assert max(curve.drawdown) <= 0.0
    assert np.all(np.array(curve.drawdown)[highs] == 0.0)


def test_confusion_counts_add_up_to_the_selection_days_and_give_the_accuracy(recorded):
    result = recorded.ledger.result(1)
    assert result is not None
    matrix = confusion_matrix(recorded.ledger, 1)

    (down_down, down_up), (up_down, up_up) = matrix.counts
    assert down_down + down_up + up_down + up_up == result["selection"]["n"]
    assert (down_down + up_up) / result["selection"]["n"] == pytest.approx(
        result["selection_accuracy"]
    )
    assert matrix.accuracy == pytest.approx(result["selection_accuracy"])


def test_session_accuracy_counts_tries_per_dataset_and_puts_the_noise_band_there(recorded):
    points = session_accuracy(recorded.ledger, [3, 1, 2], "report-test").points

    assert [p.trial for p in points] == [1, 2, 3]
    assert [p.tries for p in points] == [1, 2, 1]  # IXIC is another dataset
    second = points[1]
    assert (second.noise_bar, second.noise_bar_95) == best_of_n_accuracy(2, second.days)
    result = recorded.ledger.result(2)
    assert result is not None
    assert second.baseline_accuracy == result["baselines"]["best_accuracy"]
    assert second.selection_accuracy == result["selection_accuracy"]


def test_ledger_table_has_holm_p_values_labels_and_the_holdout_score(recorded):
    rows = ledger_table(recorded.ledger)

    assert [r.trial for r in rows] == [3, 2, 1]
    by_trial = {r.trial: r for r in rows}
    spx = [recorded.ledger.result(t) for t in (1, 2)]
    expected = holm_adjusted([r["baselines"]["p_value"] for r in spx if r])
    assert by_trial[1].p_value_adjusted == pytest.approx(expected[0])
    assert by_trial[2].p_value_adjusted == pytest.approx(expected[1])
    assert by_trial[3].tries == 1
    assert {r.data for r in rows} == {"REAL"}
    look = recorded.ledger.looks()[0].result
    assert by_trial[1].holdout_accuracy == look["holdout"]["accuracy"]
    assert by_trial[1].holdout_looks == 1
    assert by_trial[2].holdout_accuracy is None
    assert "cost_bps=10.0" in by_trial[2].config


def test_trial_rows_carry_holm_p_values_and_tries_per_dataset(recorded):
    rows = trial_rows(recorded.ledger)

    assert [(r.trial, r.symbol, r.tries) for r in rows] == [
        (3, "IXIC", 1),
        (2, "SPX", 2),
        (1, "SPX", 2),
    ]
    by_trial = {r.trial: r for r in rows}
    expected = holm_adjusted([by_trial[1].p_value, by_trial[2].p_value])
    assert by_trial[1].p_value_adjusted == pytest.approx(expected[0])
    assert by_trial[2].p_value_adjusted == pytest.approx(expected[1])
    assert by_trial[3].p_value_adjusted == by_trial[3].p_value


def test_trial_rows_filter_by_symbol_and_count_tries_beyond_the_limit(recorded):
    rows = trial_rows(recorded.ledger, limit=1, symbol="spx")

    assert [(r.trial, r.tries) for r in rows] == [(2, 2)]


def test_config_text_names_what_was_set_and_the_hyper_parameters():
    text = config_text(
        {
            "train_ratio": 0.8,
            "lookback": 20,
            "horizon": 1,
            "cost_bps": 2.0,
            "execution": "next_bar",
            "days": None,
            "features": ["rsi", "momentum"],
            "params": {"max_depth": 4},
        }
    )

    assert text == (
        "train_ratio=0.8, lookback=20, horizon=1, cost_bps=2.0, execution=next_bar, "
        "features=rsi,momentum, max_depth=4"
    )


def test_an_unknown_trial_is_refused_by_number(recorded):
    with pytest.raises(ConfigError, match="no recorded trial '99'"):
        equity_curves(recorded.ledger, 99)
