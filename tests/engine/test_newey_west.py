"""The Newey-West mean test against statsmodels' own HAC standard errors on fixed series, in
both of its conventions (small-sample correction and Student t; neither, and the normal)."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest
import statsmodels.api as sm

from mltrainer.engine.newey_west import (
    default_lags,
    known_mean_test,
    long_run_variance,
    mean_test,
)


def autocorrelated(seed: int, days: int = 300, drift: float = 0.001) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal(days) * 0.01
    return drift + noise + 0.5 * np.concatenate([[0.0], noise[:-1]])


def statsmodels_hac(series: np.ndarray, lags: int):
    return sm.OLS(series, np.ones(series.size)).fit(
        cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}, use_t=True
    )


@pytest.mark.parametrize(("seed", "lags"), [(0, 5), (1, 0), (2, 12)])
def test_standard_error_and_t_match_statsmodels_hac(seed, lags):
    series = autocorrelated(seed)
    expected = statsmodels_hac(series, lags)

    test = mean_test(series, lags=lags)

    assert test.standard_error == pytest.approx(expected.bse[0], rel=1e-12)
    assert test.t_stat == pytest.approx(expected.tvalues[0], rel=1e-12)
    assert test.two_sided_p_value == pytest.approx(expected.pvalues[0], rel=1e-10)


def test_the_one_sided_p_value_is_half_the_two_sided_for_a_positive_mean():
    series = autocorrelated(0)
    expected = statsmodels_hac(series, 5)

    test = mean_test(series, lags=5)

    assert test.t_stat > 0
    assert test.p_value == pytest.approx(expected.pvalues[0] / 2, rel=1e-10)


def test_a_known_series_gives_its_hand_computed_long_run_variance():
    # Centred 1, -1, 1, -1: autocovariances (over n = 4) 1, -3/4, 1/2, -1/4. With 1 lag the
    # Bartlett weight is 1/2: 1 + 2 * 1/2 * (-3/4) = 1/4, times n / (n - 1) = 4/3.
    assert long_run_variance(np.array([1.0, -1.0, 1.0, -1.0]), 1) == pytest.approx(1 / 3)


def test_positive_autocorrelation_inflates_the_standard_error():
    test = mean_test(autocorrelated(3, days=2000), lags=5)

    # MA(1) with theta = 0.5: long-run sd over the plain sd is (1 + 0.5) / sqrt(1 + 0.25).
    assert test.inflation == pytest.approx(1.5 / np.sqrt(1.25), abs=0.08)


def test_lags_follow_the_newey_west_rule_and_never_fall_below_the_horizon():
    assert [default_lags(n) for n in (100, 250, 400, 2500)] == [4, 4, 5, 8]
    assert default_lags(250, horizon=10) == 10


def test_a_series_without_variation_has_no_evidence_either_way():
    test = mean_test(np.zeros(50))

    assert (test.t_stat, test.p_value, test.two_sided_p_value) == (0.0, 1.0, 1.0)


def test_too_few_days_are_refused():
    with pytest.raises(ValueError, match="at least 10 days; got 9"):
        mean_test(np.ones(9))


def test_missing_values_are_refused():
    with pytest.raises(ValueError, match="NaN or infinite"):
        mean_test(np.array([0.01] * 20 + [np.nan]))


@pytest.mark.parametrize("lags", [0, 1, 4])
def test_the_normal_convention_matches_statsmodels_default_hac(lags):
    rng = np.random.default_rng(1)
    x = np.convolve(rng.normal(0.1, 1, 300), np.ones(5) / 5, "valid")
    fitted = sm.OLS(x, np.ones_like(x)).fit(cov_type="HAC", cov_kwds={"maxlags": lags})

    test = known_mean_test(x, lags)

    assert test.mean == pytest.approx(fitted.params[0])
    assert test.standard_error == pytest.approx(fitted.bse[0], rel=1e-12)
    assert test.two_sided_p_value == pytest.approx(fitted.pvalues[0], rel=1e-9)
    assert test.p_value == pytest.approx(NormalDist().cdf(-test.t_stat))


def test_the_known_values_are_tested_and_missing_ones_left_out():
    assert known_mean_test([0.1, np.nan, 0.3], 0).days == 2


def test_too_few_known_values_are_no_evidence():
    test = known_mean_test([0.2, np.nan], 1)

    assert (test.days, test.p_value, test.two_sided_p_value) == (1, 1.0, 1.0)


def test_known_values_without_spread_around_zero_are_no_evidence():
    assert known_mean_test([0.0, 0.0, 0.0], 1).p_value == 1.0


def test_a_mean_without_spread_away_from_zero_is_certain():
    test = known_mean_test([0.25, 0.25, 0.25, 0.25], 1)

    assert (test.t_stat, test.p_value, test.two_sided_p_value) == (np.inf, 0.0, 0.0)
