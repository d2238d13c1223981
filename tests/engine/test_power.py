"""The smallest detectable effects, checked by simulating the tests they describe."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binom, binomtest

from mltrainer.engine.newey_west import mean_test
from mltrainer.engine.power import critical_hits, detectable_accuracy, detectable_return

SIMULATIONS = 2000


def test_a_year_of_independent_days_detects_an_excess_sharpe_of_about_two_and_a_half():
    series = np.random.default_rng(0).standard_normal(252)

    detectable = detectable_return(mean_test(series, lags=0))

    # (z(0.95) + z(0.80)) = 2.49 standard errors; with one year of days that is 2.49 a year.
    assert detectable.sharpe == pytest.approx(2.49, abs=0.02)


def test_the_detectable_excess_return_scales_with_volatility():
    series = np.random.default_rng(0).standard_normal(252)

    calm = detectable_return(mean_test(0.01 * series, lags=0))
    wild = detectable_return(mean_test(0.02 * series, lags=0))

    assert wild.annual_return == pytest.approx(2 * calm.annual_return)
    assert wild.sharpe == pytest.approx(calm.sharpe)


def test_the_detectable_sharpe_is_found_four_times_in_five_by_simulation():
    rng = np.random.default_rng(1)
    days, sd = 250, 0.01
    detectable = detectable_return(mean_test(sd * rng.standard_normal(days), lags=0))
    true_mean = detectable.sharpe / math.sqrt(252) * sd

    found = [
        mean_test(true_mean + sd * rng.standard_normal(days)).p_value < 0.05
        for _ in range(SIMULATIONS)
    ]

    # Binomial standard error of a share near 0.8 over 2,000 runs: 0.009.
    assert np.mean(found) == pytest.approx(0.80, abs=0.03)


def test_the_critical_count_is_the_fewest_hits_the_binomial_test_calls_significant():
    needed = critical_hits(250, 0.53)

    assert binomtest(needed, 250, 0.53, "greater").pvalue <= 0.05
    assert binomtest(needed - 1, 250, 0.53, "greater").pvalue > 0.05


def test_the_detectable_accuracy_gain_reaches_exactly_eighty_percent_power():
    gain = detectable_accuracy(250, 0.53)
    needed = critical_hits(250, 0.53)

    assert binom.sf(needed - 1, 250, 0.53 + gain) == pytest.approx(0.80, abs=1e-6)
    assert 0.07 < gain < 0.09


def test_the_detectable_accuracy_gain_holds_up_in_simulation():
    rng = np.random.default_rng(2)
    gain = detectable_accuracy(250, 0.53)
    hits = rng.binomial(250, 0.53 + gain, SIMULATIONS)

    found = [binomtest(int(k), 250, 0.53, "greater").pvalue < 0.05 for k in hits]

    assert np.mean(found) == pytest.approx(0.80, abs=0.03)


def test_too_few_days_can_detect_nothing_short_of_perfection():
    # With 3 days against a rate of 0.9 no count is significant: the gain is everything left.
    assert detectable_accuracy(3, 0.9) == pytest.approx(0.1)


def test_a_rate_outside_zero_and_one_is_refused():
    with pytest.raises(ValueError, match=r"between 0 and 1; got 1\.0"):
        detectable_accuracy(100, 1.0)
