"""Comparing recorded trials on a real ledger: ranking, paired tests on shared selection days,
p-values adjusted (Holm) over every try on the dataset, and the best trial's selection
statistics."""

from __future__ import annotations

import numpy as np
import pytest

from mltrainer.engine.compare import compare_trials
from mltrainer.engine.errors import ConfigError
from mltrainer.engine.newey_west import mean_test
from mltrainer.engine.results import PairedTrial
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import load_settings
from mltrainer.engine.stats import holm_adjusted
from mltrainer.engine.trial import TrialConfig

# IXIC sample data, the most recent bars before its locked holdout. days=600 and days=700 end
# on the same bar, so the 700-day trial's selection segment (140 bars) holds the 600-day
# trials (120 bars) plus 20 earlier days; the last 2 bars of each have no next-bar return yet.
TRIALS = (
    {"model": "decision_tree", "days": 600},
    {"model": "logistic_regression", "days": 600},
    {"model": "naive_bayes", "days": 700},
)


def ixic(model: str, **settings: object) -> TrialConfig:
    return TrialConfig.model_validate(
        {"symbol": "IXIC", "source": "sample", "model": model, "save_model": False, **settings}
    )


@pytest.fixture
def engine() -> ResearchService:
    engine = ResearchService(load_settings())
    for trial in TRIALS:
        engine.train(ixic(**trial))
    return engine


def test_trials_are_ranked_by_the_return_test_by_default(engine: ResearchService) -> None:
    comparison = compare_trials(engine.ledger, [2, 3, 1])
    t_stats = {n: engine.ledger.result(n)["return_test"]["t_stat"] for n in (1, 2, 3)}

    assert comparison.rank_by == "return_test"
    assert [row.return_t for row in comparison.trials] == sorted(t_stats.values(), reverse=True)
    assert comparison.best.return_t == max(t_stats.values())
    assert (
        comparison.best_return_p_value
        == (engine.ledger.result(comparison.best.trial)["return_test"]["p_value"])
    )


def test_the_order_of_the_keys_does_not_change_the_ranking(engine: ResearchService) -> None:
    forwards = compare_trials(engine.ledger, [1, 2, 3], rank_by="accuracy")
    backwards = compare_trials(engine.ledger, [3, 2, 1], rank_by="accuracy")

    assert [row.trial for row in forwards.trials] == [row.trial for row in backwards.trials]


def test_trials_can_be_ranked_by_selection_accuracy(engine: ResearchService) -> None:
    comparison = compare_trials(engine.ledger, [2, 3, 1], rank_by="accuracy")
    accuracies = {n: engine.ledger.result(n)["selection_accuracy"] for n in (1, 2, 3)}
    ranked = [row.selection_accuracy for row in comparison.trials]

    assert sorted(row.trial or 0 for row in comparison.trials) == [1, 2, 3]
    assert ranked == sorted(accuracies.values(), reverse=True)
    assert comparison.best.trial == comparison.trials[0].trial
    assert comparison.best.selection_accuracy == max(accuracies.values())
    assert comparison.synthetic is False


def test_trials_can_be_ranked_by_sharpe(engine: ResearchService) -> None:
    comparison = compare_trials(engine.ledger, [1, 2, 3], rank_by="sharpe")
    sharpes = [row.sharpe for row in comparison.trials]

    assert comparison.rank_by == "sharpe"
    assert sharpes == sorted(sharpes, reverse=True)


def test_only_selection_days_both_trials_scored_are_compared(engine: ResearchService) -> None:
    comparison = compare_trials(engine.ledger, [1, 2, 3])
    best, *others = comparison.trials
    best_days = set(engine.ledger.predictions(best.trial).dates)

    assert not isinstance(best, PairedTrial)
    assert {"shared_days", "p_vs_best"}.isdisjoint(best.model_dump())
    for row in others:
        assert isinstance(row, PairedTrial)
        days = set(engine.ledger.predictions(row.trial).dates)
        assert row.shared_days == len(days & best_days)
        assert row.p_vs_best is not None
        assert 0.0 < row.p_vs_best <= 1.0
    assert sorted(len(engine.ledger.predictions(n).dates) for n in (1, 2, 3)) == [118, 118, 138]


def test_each_trial_returns_are_tested_against_the_best_on_shared_days(
    engine: ResearchService,
) -> None:
    comparison = compare_trials(engine.ledger, [1, 2, 3])
    best, *others = comparison.trials
    mine = engine.ledger.predictions(best.trial)
    by_day = dict(zip(mine.dates, mine.strategy_return, strict=True))

    for row in others:
        theirs = engine.ledger.predictions(row.trial)
        difference = [
            by_day[day] - earned
            for day, earned in zip(theirs.dates, theirs.strategy_return, strict=True)
            if day in by_day
        ]
        assert len(difference) == row.shared_days
        assert row.return_p_vs_best == pytest.approx(
            mean_test(np.array(difference)).two_sided_p_value
        )


def test_trials_are_found_by_model_id_too(engine: ResearchService) -> None:
    first_id = engine.ledger.result(1)["model_id"]
    comparison = compare_trials(engine.ledger, [first_id, 2])

    assert {row.trial for row in comparison.trials} == {1, 2}
    assert first_id in {row.model_id for row in comparison.trials}


def test_p_values_are_adjusted_over_every_try_on_the_dataset(engine: ResearchService) -> None:
    raw = [engine.ledger.result(n)["baselines"]["p_value"] for n in (1, 2, 3)]
    holm = dict(zip((1, 2, 3), holm_adjusted(raw), strict=True))
    # Compare only two of them: the third try still counts.
    comparison = compare_trials(engine.ledger, [1, 2])

    assert comparison.tries == 3
    assert {row.trial: row.p_value_adjusted for row in comparison.trials} == {
        1: pytest.approx(holm[1]),
        2: pytest.approx(holm[2]),
    }
    assert comparison.best.trial is not None
    assert comparison.best_p_value_adjusted == pytest.approx(holm[comparison.best.trial])


def test_return_test_p_values_are_adjusted_over_every_try_too(engine: ResearchService) -> None:
    raw = [engine.ledger.result(n)["return_test"]["p_value"] for n in (1, 2, 3)]
    holm = dict(zip((1, 2, 3), holm_adjusted(raw), strict=True))

    comparison = compare_trials(engine.ledger, [1, 2])

    assert {row.trial: row.return_p_value_adjusted for row in comparison.trials} == {
        1: pytest.approx(holm[1]),
        2: pytest.approx(holm[2]),
    }
    assert comparison.best_return_p_value_adjusted == pytest.approx(holm[comparison.best.trial])


def test_trials_of_other_horizons_are_not_ranked_together(engine: ResearchService) -> None:
    engine.train(ixic("logistic_regression", days=600, horizon=5))

    with pytest.raises(
        ConfigError,
        match=r"compare_trials ranks trials of one target and horizon only .* predict direction "
        r"1 bar\(s\) ahead: trials \[1, 2\]; direction 5 bar\(s\) ahead: trials \[4\]",
    ):
        compare_trials(engine.ledger, [4, 1, 2])


def test_tries_in_another_session_count_too(engine: ResearchService) -> None:
    ResearchService(load_settings(), session="another-session").train(ixic("knn"))

    comparison = compare_trials(engine.ledger, [1, 2])

    assert comparison.tries == 4


def test_best_trial_comes_with_the_noise_bar_and_deflated_sharpe(engine: ResearchService) -> None:
    stats = compare_trials(engine.ledger, [1, 2, 3]).best.selection_stats

    assert stats is not None
    assert stats.tries == 3
    # The best of 3 coin flips on 120 or 140 days reaches about 52-53% on average.
    assert 0.51 < stats.noise_bar < 0.54
    assert stats.noise_bar < stats.noise_bar_95
    assert stats.dsr is not None
    assert stats.psr is not None
    assert 0.0 <= stats.dsr <= stats.psr <= 1.0
    assert stats.strategy_dsr is not None
    assert stats.strategy_psr is not None
    assert 0.0 <= stats.strategy_dsr <= stats.strategy_psr <= 1.0
    assert stats.pbo is None  # fewer than 4 trials share a window
    assert stats.strategy_pbo is None
    # The best of 3 normal t-statistics: 0.85 on average, 2.12 at the 95th percentile.
    assert stats.return_noise_bar == pytest.approx(0.846, abs=1e-3)
    assert stats.return_noise_bar_95 == pytest.approx(2.121, abs=1e-3)


@pytest.mark.parametrize("keys", [[], [1]])
def test_fewer_than_two_trials_is_a_config_error(engine: ResearchService, keys: list[int]) -> None:
    with pytest.raises(ConfigError, match="compare needs at least two trials"):
        compare_trials(engine.ledger, keys)


def test_unknown_trial_is_a_config_error_naming_it(engine: ResearchService) -> None:
    with pytest.raises(ConfigError, match=r"no recorded trial '99'; list them with"):
        compare_trials(engine.ledger, [1, 99])


def test_unknown_model_id_is_a_config_error_naming_it(engine: ResearchService) -> None:
    with pytest.raises(ConfigError, match=r"no recorded trial 'IXIC-knn-0000000000'"):
        compare_trials(engine.ledger, [1, "IXIC-knn-0000000000"])


def test_rank_trials_are_compared_on_their_rank_ic_and_their_portfolios_dates() -> None:
    service = ResearchService(load_settings(), session="compare-rank")
    rank = {"target": "rank", "universe": "sp20", "model": "ridge", "features": ["roc"]}
    for alpha in (1.0, 1000.0):
        service.train(TrialConfig.model_validate({**rank, "params": {"alpha": alpha}}))

    comparison = compare_trials(service.ledger, [1, 2])

    best, other = comparison.trials
    assert isinstance(other, PairedTrial)
    recorded = service.ledger.result(best.trial)
    assert recorded is not None
    assert (best.target, best.baseline_accuracy) == ("rank", recorded["baselines"]["best_score"])
    mine = service.ledger.predictions(best.trial)
    theirs = service.ledger.predictions(other.trial)
    days = sorted(set(mine.dates))
    assert len(days) == len(mine.strategy_return)
    difference = np.array(mine.strategy_return) - np.array(theirs.strategy_return)
    assert other.return_p_vs_best == pytest.approx(mean_test(difference).two_sided_p_value)
