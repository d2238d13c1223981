"""Comparing recorded trials: the exact McNemar test, ranking on a real ledger, shared test days,
and the best p-value adjusted for the number of tries."""

from __future__ import annotations

import numpy as np
import pytest

from mltrainer.engine.compare import compare_trials, mcnemar_p
from mltrainer.engine.errors import ConfigError
from mltrainer.engine.ml_engine import MLEngine


def paired(
    only_best: int, only_other: int, both: int = 0, neither: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Per-day correctness of two models with the given counts of each outcome."""
    best = [True] * only_best + [False] * only_other + [True] * both + [False] * neither
    other = [False] * only_best + [True] * only_other + [True] * both + [False] * neither
    return np.array(best), np.array(other)


def test_mcnemar_ten_against_two_is_the_two_sided_binomial_tail() -> None:
    # Two-sided exact binomial test of 10 of 12 at 0.5: 2 * (C(12,10) + C(12,11) + C(12,12))
    # / 2**12 = 2 * (66 + 12 + 1) / 4096 = 158 / 4096.
    assert mcnemar_p(*paired(10, 2)) == pytest.approx(0.03857421875)


def test_mcnemar_ignores_days_both_models_agree_on() -> None:
    assert mcnemar_p(*paired(10, 2, both=40, neither=30)) == pytest.approx(0.03857421875)


def test_mcnemar_is_symmetric_in_the_two_models() -> None:
    assert mcnemar_p(*paired(2, 10)) == pytest.approx(0.03857421875)


def test_mcnemar_five_against_none() -> None:
    # 2 * (1/2)**5
    assert mcnemar_p(*paired(5, 0)) == pytest.approx(0.0625)


def test_mcnemar_even_split_is_one() -> None:
    assert mcnemar_p(*paired(3, 3)) == pytest.approx(1.0)


def test_mcnemar_models_that_always_agree_is_one() -> None:
    assert mcnemar_p(*paired(0, 0, both=7, neither=5)) == 1.0


# IXIC sample data, most recent bars. With the 49 warm-up rows and the unlabelled last row
# dropped, days=600 leaves 110 test rows (2018-07-24 to 2018-12-28) and days=700 leaves 130
# (2018-06-25 to 2018-12-28): the same last 110 days plus 20 earlier ones.
TRIALS = (
    {"model": "decision_tree", "days": 600},
    {"model": "logistic_regression", "days": 600},
    {"model": "naive_bayes", "days": 700},
)


@pytest.fixture
def engine() -> MLEngine:
    engine = MLEngine()
    for trial in TRIALS:
        result = engine.train_model(
            {"symbol": "IXIC", "source": "sample", "save_model": False, **trial}
        )
        assert result["status"] == "success", result
    return engine


def test_trials_are_ranked_by_test_accuracy(engine: MLEngine) -> None:
    comparison = compare_trials(engine.ledger, [2, 3, 1])

    assert [row["trial"] for row in comparison["trials"]] == [1, 3, 2]
    assert [row["model"] for row in comparison["trials"]] == [
        "decision_tree",
        "naive_bayes",
        "logistic_regression",
    ]
    accuracies = [row["test_accuracy"] for row in comparison["trials"]]
    assert accuracies == sorted(accuracies, reverse=True)
    assert comparison["best"]["trial"] == 1
    assert comparison["synthetic"] is False


def test_only_test_days_both_trials_scored_are_compared(engine: MLEngine) -> None:
    comparison = compare_trials(engine.ledger, [1, 2, 3])
    best, *others = comparison["trials"]

    assert "shared_days" not in best
    assert "p_vs_best" not in best
    # Trial 3 scored 130 days; only the 110 the best trial also scored are paired.
    assert {row["trial"]: row["shared_days"] for row in others} == {2: 110, 3: 110}
    assert all(0.0 < row["p_vs_best"] <= 1.0 for row in others)


def test_trials_are_found_by_model_id_too(engine: MLEngine) -> None:
    best_id = engine.ledger.result(1)["model_id"]
    comparison = compare_trials(engine.ledger, [best_id, 2])

    assert comparison["best"]["model_id"] == best_id
    assert [row["trial"] for row in comparison["trials"]] == [1, 2]


def test_best_p_value_is_adjusted_for_the_tries_given(engine: MLEngine) -> None:
    best_p = engine.ledger.result(1)["baselines"]["p_value"]
    comparison = compare_trials(engine.ledger, [1, 2, 3], tries=4)

    assert best_p * 4 < 1.0  # the best trial's p-value is about 0.2, so no cap applies here
    assert comparison["tries"] == 4
    assert comparison["best_p_value"] == best_p
    assert comparison["best_p_value_adjusted"] == pytest.approx(min(1.0, best_p * 4))


def test_fewer_tries_than_trials_compared_counts_the_trials(engine: MLEngine) -> None:
    best_p = engine.ledger.result(1)["baselines"]["p_value"]
    comparison = compare_trials(engine.ledger, [1, 2, 3], tries=1)

    assert comparison["tries"] == 3
    assert comparison["best_p_value_adjusted"] == pytest.approx(min(1.0, best_p * 3))


def test_no_tries_given_counts_the_trials(engine: MLEngine) -> None:
    best_p = engine.ledger.result(1)["baselines"]["p_value"]
    comparison = compare_trials(engine.ledger, [1, 2])

    assert comparison["tries"] == 2
    assert comparison["best_p_value_adjusted"] == pytest.approx(min(1.0, best_p * 2))


def test_adjusted_p_value_is_capped_at_one(engine: MLEngine) -> None:
    comparison = compare_trials(engine.ledger, [1, 2, 3], tries=1000)

    assert comparison["best_p_value_adjusted"] == 1.0


@pytest.mark.parametrize("keys", [[], [1]])
def test_fewer_than_two_trials_is_a_config_error(engine: MLEngine, keys: list[int]) -> None:
    with pytest.raises(ConfigError, match="compare needs at least two trials"):
        compare_trials(engine.ledger, keys)


def test_unknown_trial_is_a_config_error_naming_it(engine: MLEngine) -> None:
    with pytest.raises(ConfigError, match=r"no recorded trial '99'; list them with"):
        compare_trials(engine.ledger, [1, 99])


def test_unknown_model_id_is_a_config_error_naming_it(engine: MLEngine) -> None:
    with pytest.raises(ConfigError, match=r"no recorded trial 'IXIC-knn-0000000000'"):
        compare_trials(engine.ledger, [1, "IXIC-knn-0000000000"])
