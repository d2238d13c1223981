"""Selection-aware statistics against worked examples: the numbers come from the papers'
published examples or from the formulas written out here, never from the code under test."""

from __future__ import annotations

import math
from itertools import combinations
from statistics import NormalDist

import numpy as np
import pytest
from scipy.stats import kurtosis, skew

from mltrainer.engine.stats import (
    SharpeMoments,
    best_of_n_accuracy,
    best_of_n_normal,
    deflated_sharpe,
    expected_max_sharpe,
    holm_adjusted,
    mcnemar_greater,
    mcnemar_two_sided,
    non_overlapping,
    probabilistic_sharpe,
    probability_of_backtest_overfitting,
)

# --- Holm ----------------------------------------------------------------------------------


def test_holm_hand_computed_in_the_order_given() -> None:
    # Sorted: 0.005 * 4 = 0.02, 0.01 * 3 = 0.03, 0.03 * 2 = 0.06, 0.04 * 1 = 0.04 -> 0.06
    # (the step-down keeps the running maximum).
    adjusted = holm_adjusted([0.01, 0.04, 0.03, 0.005])

    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one_and_one_try_is_unadjusted() -> None:
    np.testing.assert_allclose(holm_adjusted([0.4, 0.6]), [0.8, 0.8])
    np.testing.assert_allclose(holm_adjusted([0.7, 0.9]), [1.0, 1.0])
    np.testing.assert_allclose(holm_adjusted([0.02]), [0.02])


# --- best of N coin flips ------------------------------------------------------------------


def test_best_of_one_coin_flip_is_a_coin_flip() -> None:
    expected, _ = best_of_n_accuracy(1, 494)

    assert expected == pytest.approx(0.5)


def test_best_of_36_coin_flips_on_494_days_reaches_about_54_8_percent() -> None:
    # The measured random-walk session: the winner of 36 tries scored 54.7%.
    expected, q95 = best_of_n_accuracy(36, 494)

    assert expected == pytest.approx(0.548, abs=0.001)
    assert 0.56 < q95 < 0.575


def test_best_of_n_matches_a_simulation() -> None:
    rng = np.random.default_rng(7)
    simulated = rng.binomial(200, 0.5, size=(20000, 10)).max(axis=1) / 200

    expected, q95 = best_of_n_accuracy(10, 200)

    assert expected == pytest.approx(simulated.mean(), abs=0.002)
    assert q95 == pytest.approx(np.quantile(simulated, 0.95), abs=0.006)


# --- McNemar -------------------------------------------------------------------------------


def paired(only_first: int, only_second: int, both: int = 0, neither: int = 0):
    first = [True] * only_first + [False] * only_second + [True] * both + [False] * neither
    second = [False] * only_first + [True] * only_second + [True] * both + [False] * neither
    return np.array(first), np.array(second)


def test_mcnemar_two_sided_ten_against_two() -> None:
    # 2 * (C(12,10) + C(12,11) + C(12,12)) / 2**12 = 158 / 4096, whatever both got right.
    assert mcnemar_two_sided(*paired(10, 2, both=40, neither=30)) == pytest.approx(158 / 4096)
    assert mcnemar_two_sided(*paired(2, 10)) == pytest.approx(158 / 4096)


def test_mcnemar_one_sided_only_counts_the_first_being_better() -> None:
    assert mcnemar_greater(*paired(10, 2)) == pytest.approx(79 / 4096)
    assert mcnemar_greater(*paired(2, 10)) == pytest.approx(1 - 13 / 4096)


def test_mcnemar_with_no_disagreement_is_one() -> None:
    assert mcnemar_greater(*paired(0, 0, both=5)) == 1.0
    assert mcnemar_two_sided(*paired(0, 0, neither=5)) == 1.0


def test_non_overlapping_days_step_by_the_horizon() -> None:
    np.testing.assert_array_equal(non_overlapping(10, 3), [0, 3, 6, 9])
    np.testing.assert_array_equal(non_overlapping(4, 1), [0, 1, 2, 3])


# --- PSR and DSR ---------------------------------------------------------------------------


def psr_by_hand(sr: float, n: int, g3: float, g4: float, benchmark: float) -> float:
    """Bailey and López de Prado (2012), eq. 11, written out."""
    z = (sr - benchmark) * math.sqrt(n - 1) / math.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr**2)
    return NormalDist().cdf(z)


def test_psr_matches_the_formula_for_a_return_series() -> None:
    rng = np.random.default_rng(3)
    returns = rng.standard_t(5, size=750) * 0.01 + 0.0006
    sr = returns.mean() / returns.std(ddof=1)
    g3, g4 = skew(returns), kurtosis(returns, fisher=False)

    moments = SharpeMoments.of(returns)

    assert moments is not None
    assert probabilistic_sharpe(moments) == pytest.approx(psr_by_hand(sr, 750, g3, g4, 0.0))
    assert probabilistic_sharpe(moments, 0.05) == pytest.approx(psr_by_hand(sr, 750, g3, g4, 0.05))


# The Deflated Sharpe Ratio paper's numerical example (Bailey and López de Prado 2014): an
# annualised Sharpe of 2.5 over 5 years of daily returns (T = 1250), skewness -3, kurtosis 10,
# selected from N = 100 trials whose annualised Sharpe ratios have variance 1/2. The paper
# reports E[max SR] = 0.1132 (per day, 1.79 annualised) and DSR = 0.9004.
PAPER = SharpeMoments(sharpe=2.5 / math.sqrt(250), n=1250, skewness=-3.0, kurtosis=10.0)


def test_expected_max_sharpe_of_the_paper_example() -> None:
    assert expected_max_sharpe(100, 0.5 / 250) == pytest.approx(0.1132, abs=5e-5)


def test_deflated_sharpe_of_the_paper_example() -> None:
    assert deflated_sharpe(PAPER, 100, 0.5 / 250) == pytest.approx(0.9004, abs=5e-5)


def test_one_trial_is_not_deflated() -> None:
    assert deflated_sharpe(PAPER, 1, 0.5 / 250) == probabilistic_sharpe(PAPER)


def test_flat_returns_have_no_sharpe_moments() -> None:
    assert SharpeMoments.of(np.zeros(100)) is None


# --- PBO -----------------------------------------------------------------------------------


def test_pbo_hand_computed_two_blocks_where_the_winner_always_flips() -> None:
    # Block 1: A has Sharpe 2.12, B 0.71. Block 2: A has 0, B 1.41. Each half's in-sample
    # winner is the out-of-sample loser: rank 1 of 2, w = 1/3, logit ln(1/2) < 0 both times.
    returns = np.array([[0.02, 0.00], [0.04, 0.02], [-0.01, 0.01], [0.01, 0.03]])

    result = probability_of_backtest_overfitting(returns, blocks=2)

    assert result.splits == 2
    assert result.pbo == 1.0
    np.testing.assert_allclose(result.logits, [math.log(0.5), math.log(0.5)])


def test_pbo_is_zero_when_the_winner_wins_everywhere() -> None:
    # B beats A in both blocks: the in-sample winner is always the out-of-sample winner.
    returns = np.array([[0.00, 0.02], [0.02, 0.05], [-0.01, 0.01], [0.01, 0.04]])

    result = probability_of_backtest_overfitting(returns, blocks=2)

    assert result.pbo == 0.0
    np.testing.assert_allclose(result.logits, [math.log(2.0), math.log(2.0)])


def pbo_by_hand(matrix: np.ndarray, blocks: int) -> float:
    """CSCV written out with loops (Bailey, Borwein, López de Prado and Zhu 2017)."""
    rows = len(matrix) // blocks
    parts = [matrix[i * rows : (i + 1) * rows] for i in range(blocks)]
    n_trials = matrix.shape[1]
    below = 0
    splits = list(combinations(range(blocks), blocks // 2))
    for chosen in splits:
        train = np.vstack([parts[i] for i in chosen])
        test = np.vstack([parts[i] for i in range(blocks) if i not in chosen])
        is_sharpe = train.mean(axis=0) / train.std(axis=0, ddof=1)
        oos_sharpe = test.mean(axis=0) / test.std(axis=0, ddof=1)
        winner = int(np.argmax(is_sharpe))
        rank = 1 + sum(oos_sharpe[j] < oos_sharpe[winner] for j in range(n_trials))
        w = rank / (n_trials + 1)
        below += math.log(w / (1 - w)) <= 0
    return below / len(splits)


def test_pbo_matches_the_loops_on_random_trials() -> None:
    rng = np.random.default_rng(11)
    matrix = rng.normal(0.0003, 0.01, size=(240, 7))

    result = probability_of_backtest_overfitting(matrix, blocks=8)

    assert result.splits == 70
    assert result.pbo == pytest.approx(pbo_by_hand(matrix, 8))


def test_pbo_of_pure_noise_trials_is_above_one_half() -> None:
    rng = np.random.default_rng(5)
    matrix = rng.normal(0.0, 0.01, size=(480, 20))

    # Complementary halves of the same days: a lucky in-sample half leaves an unlucky
    # out-of-sample half, so the noise winner is usually below the median out of sample.
    assert probability_of_backtest_overfitting(matrix).pbo > 0.5


def test_pbo_with_one_real_edge_is_low() -> None:
    rng = np.random.default_rng(6)
    matrix = rng.normal(0.0, 0.01, size=(480, 20))
    matrix[:, 4] += 0.004

    assert probability_of_backtest_overfitting(matrix).pbo < 0.1


def test_pbo_refuses_a_single_trial() -> None:
    with pytest.raises(ValueError, match="N >= 2 trials"):
        probability_of_backtest_overfitting(np.zeros((100, 1)))


# --- The best of N normal scores ----------------------------------------------


def test_best_of_one_normal_is_the_normal_itself():
    expected, q95 = best_of_n_normal(1)

    assert expected == pytest.approx(0.0, abs=1e-9)
    assert q95 == pytest.approx(1.6449, abs=1e-4)


def test_best_of_n_normal_matches_a_simulated_maximum():
    draws = np.random.default_rng(0).standard_normal((20000, 34)).max(axis=1)

    expected, q95 = best_of_n_normal(34)

    # Blom's value for the expected maximum of 34 normals is about 2.09.
    assert expected == pytest.approx(draws.mean(), abs=0.02)
    assert q95 == pytest.approx(np.quantile(draws, 0.95), abs=0.04)


def test_best_of_n_normal_needs_a_try():
    with pytest.raises(ValueError, match=r"need n_tries >= 1 and sigma >= 0, got 0 and 1\.0"):
        best_of_n_normal(0)


def test_best_of_n_normal_scales_with_the_spread_of_the_scores():
    expected, q95 = best_of_n_normal(30)

    assert best_of_n_normal(30, 0.05) == (
        pytest.approx(0.05 * expected),
        pytest.approx(0.05 * q95),
    )
