"""Selection statistics from the ledger: the return test's Holm adjustment and best-of-N bar,
the accuracy noise bar on non-overlapping days, and PSR/DSR/PBO on the strategy's own return
beside its excess over buy-and-hold."""

from __future__ import annotations

import math

import pytest

from mltrainer.engine.data.synthetic import synthetic_bars
from mltrainer.engine.ledger import TryRow
from mltrainer.engine.selection import adjusted_return_p_values, selection_stats
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import load_settings
from mltrainer.engine.stats import best_of_n_accuracy, best_of_n_normal
from mltrainer.engine.trial import TrialConfig, TrialResult

BASE = {"symbol": "SEL", "model": "logistic_regression", "folds": 2, "save_model": False}


@pytest.fixture
def engine() -> ResearchService:
    return ResearchService(load_settings(), data={"SEL": synthetic_bars("SEL", n_bars=1500)})


def train(engine: ResearchService, **settings: object) -> TrialResult:
    return engine.train(TrialConfig.model_validate(BASE | settings)).result


def stats_of(engine: ResearchService, result: TrialResult):
    assert result.trial is not None
    predictions = engine.ledger.predictions(result.trial)
    return selection_stats(
        engine.ledger,
        result.dataset.key,
        result.trial,
        predictions,
        result.backtest.long_flat.sharpe,
    )


def try_row(trial: int, return_p_value: float | None) -> TryRow:
    return TryRow(
        trial=trial,
        model_id=f"X-m-{trial}",
        target="direction",
        p_value=0.5,
        return_p_value=return_p_value,
        sharpe=0.0,
        active_sharpe=None,
        window_start=None,
        window_end=None,
        session=None,
    )


def test_a_try_recorded_before_the_return_test_counts_with_p_one():
    adjusted = adjusted_return_p_values([try_row(1, 0.01), try_row(2, None), try_row(3, 0.04)])

    # Holm over (0.01, 1.0, 0.04): 3 x 0.01, 2 x 0.04, 1.0.
    assert adjusted == {1: pytest.approx(0.03), 2: 1.0, 3: pytest.approx(0.08)}


def test_the_accuracy_noise_bar_of_a_horizon_five_trial_counts_every_fifth_day(engine):
    result = train(engine, horizon=5)
    days = result.selection.n

    stats = stats_of(engine, result)

    assert (stats.noise_bar, stats.noise_bar_95) == best_of_n_accuracy(1, math.ceil(days / 5))


def test_the_return_tests_noise_bar_is_the_best_of_the_tries_normal_t(engine):
    first = train(engine)
    train(engine, model="naive_bayes")

    stats = stats_of(engine, first)

    assert (stats.return_noise_bar, stats.return_noise_bar_95) == best_of_n_normal(2)


def test_the_strategys_own_sharpe_evidence_is_shown_beside_the_excess(engine):
    result = train(engine)

    stats = stats_of(engine, result)

    assert stats.strategy_psr is not None and stats.psr is not None
    assert stats.strategy_psr != stats.psr
    assert stats.strategy_dsr == pytest.approx(stats.strategy_psr)  # one try: nothing to deflate
