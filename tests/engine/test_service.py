"""`ResearchService`: trials never see the locked holdout, `finalize` looks at it once per
session, tries and looks are counted across sessions, a repeated tool call is adopted instead
of trained twice, and no model file outlives a failed write."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mltrainer.engine.data.synthetic import synthetic_bars
from mltrainer.engine.errors import ComplianceError, ConfigError, MLTrainerError
from mltrainer.engine.persistence import recover_staged, stage_model
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import load_settings
from mltrainer.engine.trial import TrialConfig, TrialResult

QUICK = {"symbol": "OWN", "model": "logistic_regression", "folds": 2, "save_model": False}
# Fields that differ between two runs of the same trial for bookkeeping reasons only.
BOOKKEEPING = {
    "trial",
    "timings",
    "tries",
    "tries_same_window",
    "p_value_adjusted",
    "return_p_value_adjusted",
}


def walk(seed: int = 3, signal: float = 0.0, n_bars: int = 1500) -> pd.DataFrame:
    return synthetic_bars("OWN", n_bars=n_bars, seed=seed, signal=signal)


def service(session: str | None = "s1", frame: pd.DataFrame | None = None) -> ResearchService:
    return ResearchService(
        load_settings(), session=session, data={"OWN": frame if frame is not None else walk()}
    )


def train(engine: ResearchService, **settings: object) -> TrialResult:
    return engine.train(TrialConfig.model_validate(QUICK | settings)).result


def comparable(result: TrialResult) -> dict[str, object]:
    # `provenance` describes the whole series as delivered, holdout included; what the trial
    # used is `dataset.used` and its hash, which are compared.
    return result.model_dump(exclude=BOOKKEEPING | {"provenance"})


# --- trials cannot see the holdout ---------------------------------------------------------


def test_changing_holdout_bars_moves_nothing_before_finalize() -> None:
    original = walk()
    changed = original.copy()
    holdout = changed.index[-300:]  # the last 300 of 1500 bars are the holdout
    rng = np.random.default_rng(0)
    changed.loc[holdout, ["open", "high", "low", "close"]] *= rng.uniform(0.5, 1.5, (300, 1))
    changed.loc[holdout, "volume"] *= 3

    first = service("a", original)
    second = service("b", changed)
    before = train(first)
    after = train(second)

    assert before.dataset.holdout.rows == 300
    assert comparable(before) == comparable(after)
    assert first.ledger.predictions(1) == second.ledger.predictions(2)
    # The holdout itself is what differs, and finalize is the one place that sees it. The bars
    # match before the holdout, so they are one dataset and a second look is asked for.
    assert first.finalize().holdout != second.finalize(again=True).holdout


def test_a_trial_never_trains_or_scores_on_a_holdout_day() -> None:
    engine = service()
    result = train(engine, train_ratio=0.9, end="2030-01-01")

    holdout_start = result.dataset.holdout.start
    assert result.selection_period[1] < holdout_start
    assert max(engine.ledger.predictions(1).dates) < holdout_start.isoformat()
    assert any("reaches into the locked holdout; clipped" in note for note in result.notes)


# --- finalize --------------------------------------------------------------------------------


def test_finalize_refits_before_the_holdout_and_scores_it() -> None:
    engine = service()
    trial = train(engine)

    final = engine.finalize()

    assert final.trial == 1
    assert final.holdout.period[0] >= trial.dataset.holdout.start
    assert final.holdout.train_period[1] < trial.dataset.holdout.start
    # Refitted on development and selection together: it trains on more than the trial did.
    assert final.holdout.train_period[1] > trial.train_period[1]
    assert final.holdout.metrics.n >= 290
    assert (final.look, final.untouched) == (1, True)
    assert final.notes == [
        "trial 1 was chosen as this session's best by return test among its comparable tries "
        "(direction, horizon 1)"
    ]


def test_finalize_defaults_to_the_sessions_best_by_the_return_test() -> None:
    engine = service()
    results = [train(engine, model=m) for m in ("logistic_regression", "naive_bayes", "knn")]

    by_return = max(results, key=lambda r: r.return_test.t_stat)
    assert engine.best_trial() == by_return.trial
    by_sharpe = max(results, key=lambda r: r.backtest.long_flat.sharpe)
    assert engine.best_trial("sharpe") == by_sharpe.trial


def test_tied_trials_are_chosen_by_their_configuration_not_the_order_they_were_recorded() -> None:
    # Logistic regression ignores its seed: two seeds make the same calls, a perfect tie.
    seeds = (1, 2)
    chosen = []
    for order, session in ((seeds, "forwards"), (seeds[::-1], "backwards")):
        engine = service(session)
        for seed in order:
            train(engine, seed=seed)
        first, second = (engine.recorded(n) for n in (1, 2))
        assert first.return_test == second.return_test
        chosen.append(engine.recorded(engine.best_trial()).config.seed)

    assert chosen[0] == chosen[1]


def test_finalize_will_not_pick_between_horizons() -> None:
    engine = service()
    train(engine)
    train(engine, horizon=5)

    with pytest.raises(
        ConfigError,
        match=r"finalize picks among trials of one target and horizon only .* predict direction 1 "
        r"bar\(s\) ahead: trials \[1\]; direction 5 bar\(s\) ahead: trials \[2\]: name the trial",
    ):
        engine.finalize()


def test_a_second_finalize_of_the_same_holdout_in_a_session_is_refused() -> None:
    engine = service()
    train(engine)
    train(engine, model="naive_bayes")
    engine.finalize(1)

    with pytest.raises(
        ConfigError, match=r"holdout of caller:OWN:bars was already scored: look 1, trial 1"
    ):
        engine.finalize(2)
    assert len(engine.ledger.looks("caller:OWN:bars")) == 1


def test_a_new_session_reports_earlier_tries_and_holdout_looks() -> None:
    first = service("first")
    train(first)
    train(first, model="naive_bayes")
    first.finalize()

    second = service("second")
    result = train(second, model="knn")
    final = second.finalize(again=True)

    assert result.tries == 3
    assert result.dataset.holdout_looks == 1
    assert any(
        "scored 1 time(s) by finalize; it is no longer an untouched" in n for n in result.notes
    )
    assert (final.look, final.untouched) == (2, False)
    assert any("is no longer untouched: this is look 2" in note for note in final.notes)
    assert final.selection_stats.tries == 3


def test_a_planted_signal_the_execution_can_trade_is_found_on_the_holdout() -> None:
    # The generator's signal moves tomorrow's return; trading at today's close catches it.
    engine = service(frame=walk(seed=4, signal=0.5))
    train(engine, execution="close")

    final = engine.finalize()

    assert final.holdout.return_test.p_value < 0.01
    assert final.holdout.accuracy > final.holdout.baselines.best_accuracy + 0.05
    assert final.holdout.baselines.p_value < 0.01
    assert final.holdout.baselines.mcnemar_p_value < 0.01


def test_a_planted_one_day_signal_is_not_called_significant_under_next_bar() -> None:
    # The audit's case: the same bars, traded a bar after the signal, when the move it
    # foretold is over. The labels are the move the execution trades, so accuracy has nothing
    # to find either.
    engine = service(frame=walk(seed=4, signal=0.5))
    train(engine)

    final = engine.finalize()

    assert final.holdout.return_test.execution == "next_bar"
    assert final.holdout.return_test.p_value > 0.05
    assert final.holdout.baselines.p_value > 0.05
    assert final.holdout.baselines.mcnemar_p_value > 0.05


def test_every_holdout_result_shows_what_it_could_have_detected() -> None:
    engine = service()
    train(engine)

    power = engine.finalize().holdout.power

    # About 300 holdout days: (z(0.95) + z(0.8)) * sqrt(252 / 300) = 2.28 for independent days,
    # somewhat more or less with the autocorrelation the Newey-West errors see.
    assert (power.days, power.tested_days) == (298, 298)
    assert 1.8 < power.excess_sharpe < 2.8
    assert 6.5 < power.accuracy_points < 8.0


def test_finalize_of_caller_data_needs_the_bars_again() -> None:
    trained = service("s1")
    train(trained)
    without = ResearchService(load_settings(), session="s2")

    with pytest.raises(ConfigError, match="pass the same bars"):
        without.finalize(1)


# --- selection statistics are computed when shown ------------------------------------------


def test_adjusted_p_value_of_a_trial_grows_as_tries_are_added() -> None:
    engine = service()
    first = train(engine)
    for model in ("naive_bayes", "knn", "decision_tree"):
        train(engine, model=model)

    shown_later = engine.recorded(1)

    assert first.tries == 1 and shown_later.tries == 4
    assert shown_later.p_value_adjusted >= first.p_value_adjusted


# --- one unit of work per tool call -----------------------------------------------------------


def test_a_repeated_tool_call_adopts_the_recorded_trial() -> None:
    engine = service()
    config = TrialConfig.model_validate(QUICK)

    first = engine.train(config, call_id="call_7")
    again = engine.train(config, call_id="call_7")

    assert again.pipeline is None
    assert again.result.trial == first.result.trial == 1
    assert engine.ledger.count() == 1


def test_a_repeated_finalize_call_is_counted_once() -> None:
    engine = service()
    train(engine)

    first = engine.finalize(call_id="call_9")
    again = engine.finalize(call_id="call_9")

    assert again == first
    assert len(engine.ledger.looks("caller:OWN:bars")) == 1


def test_a_saved_model_is_recorded_with_its_sha256() -> None:
    engine = service()

    result = train(engine, save_model=True)

    path = Path(result.model_path or "")
    assert path.exists()
    assert len(result.model_sha256 or "") == 64
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".staging-")]


def test_recovery_removes_models_staged_by_a_dead_writer_and_finishes_recorded_ones() -> None:
    engine = service()
    train(engine, save_model=True)
    folder = load_settings().models_dir
    pipeline = engine.train(TrialConfig.model_validate(QUICK)).pipeline
    assert pipeline is not None
    orphan = stage_model(pipeline, folder, "OWN-orphan")
    recorded = stage_model(pipeline, folder, "OWN-recorded")
    # Pretend both were staged by a process that died: pid 1 is never this process.
    for staged in (orphan, recorded):
        os.utime(staged.staging, (0, 0))
        staged.staging.rename(staged.staging.with_name(".staging-1-" + staged.final.name))

    removed = recover_staged(folder, {str(recorded.final)})

    assert [p.name for p in removed] == [".staging-1-" + orphan.final.name]
    assert recorded.final.exists()
    assert not orphan.final.exists()
    assert not [p for p in folder.iterdir() if p.name.startswith(".staging-")]


# --- no silent substitutes -------------------------------------------------------------------


def test_xgboost_is_refused_by_name_not_replaced() -> None:
    engine = service()
    with pytest.raises(ComplianceError, match="xgboost is not installed; ask for lightgbm"):
        train(engine, model="xgboost")
    assert engine.ledger.count() == 0


def test_a_symbol_with_no_data_is_an_error_and_nothing_is_recorded() -> None:
    engine = ResearchService(load_settings(), session="s1")

    with pytest.raises(Exception, match="no real bars for 'ZZZQ'") as raised:
        engine.train(TrialConfig(symbol="ZZZQ"))

    assert "sample symbols that work offline: SPX, IXIC, MSFT" in str(raised.value)
    assert engine.ledger.count() == 0


# --- what surfaces show -------------------------------------------------------------------------


def test_a_trial_record_has_the_selection_statistics_of_every_try_so_far() -> None:
    engine = service()
    train(engine)
    first = engine.trial_record(1)
    train(engine, model="naive_bayes")
    later = engine.trial_record(1)

    assert first is not None and later is not None
    assert (first.session, first.result.trial, first.result.tries) == ("s1", 1, 1)
    assert (first.selection_stats.tries, later.selection_stats.tries) == (1, 2)
    assert later.result.tries == 2
    assert later.selection_stats.p_value_adjusted == later.result.p_value_adjusted
    assert later.selection_stats.p_value_adjusted >= first.selection_stats.p_value_adjusted
    assert later.looks == []


def test_a_trial_record_is_found_by_model_id_and_lists_its_holdout_looks() -> None:
    engine = service()
    trained = train(engine)
    final = engine.finalize(1)

    record = engine.trial_record(trained.model_id)

    assert record is not None and record.result.trial == 1
    assert [(look.look, look.trial) for look in record.looks] == [(1, 1)]
    assert record.looks[0].result["holdout"] == final.holdout.model_dump(mode="json")


def test_an_unknown_trial_has_no_record() -> None:
    engine = service()

    assert engine.trial_record(7) is None
    assert engine.trial_record("OWN-logistic_regression-0000000000") is None


def test_report_data_comes_from_the_service() -> None:
    engine = service()
    train(engine)
    train(engine, model="naive_bayes", cost_bps=10)

    curves = engine.equity_curves(2)
    confusion = engine.confusion_matrix(2)
    accuracy = engine.session_accuracy([1, 2], "s1")
    table = engine.ledger_table()

    assert (curves.trial, curves.cost_bps) == (2, 10.0)
    assert sum(map(sum, confusion.counts)) == len(curves.dates)
    assert [p.tries for p in accuracy.points] == [1, 2]
    assert [(row.trial, row.tries) for row in table] == [(2, 2), (1, 2)]
    assert [(row.trial, row.tries) for row in engine.trial_rows(limit=1)] == [(2, 2)]


def test_feature_importance_needs_a_saved_model() -> None:
    engine = service()
    train(engine)

    with pytest.raises(ConfigError, match="trial 1 was trained with save_model=false"):
        engine.feature_importance(1)


# --- sweeps -------------------------------------------------------------------------------------


def test_a_sweep_records_each_configuration_and_reads_them_back_counted() -> None:
    engine = service()
    configs = [TrialConfig.model_validate(QUICK | {"model": m}) for m in ("naive_bayes", "knn")]

    results = engine.sweep(configs, call_id="call_3")

    assert [(r.trial, r.model, r.tries) for r in results] == [
        (1, "naive_bayes", 2),
        (2, "knn", 2),
    ]
    assert engine.ledger.trial_for_call("s1", "call_3#2") == 2


def test_a_sweep_with_one_bad_configuration_runs_nothing() -> None:
    engine = service()
    configs = [
        TrialConfig.model_validate(QUICK),
        TrialConfig.model_validate(QUICK | {"model": "knn", "params": {"n_neighbors": 0}}),
    ]

    with pytest.raises(ComplianceError, match="n_neighbors=0 is out of bounds"):
        engine.sweep(configs)
    assert engine.ledger.count() == 0


def test_a_configuration_that_fails_while_running_is_returned_as_its_error() -> None:
    engine = service()
    configs = [TrialConfig.model_validate(QUICK), TrialConfig(symbol="ZZZQ", folds=2)]

    ran, failed = engine.sweep(configs)

    assert isinstance(ran, TrialResult) and ran.trial == 1
    assert isinstance(failed, MLTrainerError)
    assert "no real bars for 'ZZZQ'" in str(failed)
    assert engine.ledger.count() == 1
