"""The headline verdict: a strategy's daily returns against the best baseline strategy's."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mltrainer.engine.newey_west import mean_test
from mltrainer.engine.power import detectable_accuracy
from mltrainer.engine.trial import Baselines, TrialConfig
from mltrainer.engine.verdict import best_baseline_strategy, judge

CONFIG = TrialConfig(symbol="X", cost_bps=5.0)
RULES = Baselines(
    best_name="always_up",
    best_accuracy=0.53,
    p_value=0.5,
    mcnemar_p_value=0.5,
    tested_days=250,
)


def market(days: int = 250, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0004, 0.01, days)


def test_the_best_baseline_strategy_is_the_one_that_earned_most():
    assert best_baseline_strategy({"a": np.array([0.0, 0.01]), "b": np.array([0.02, 0.0])}) == "b"


def test_a_tie_between_baseline_strategies_goes_to_the_first_given():
    flat = np.zeros(3)

    assert best_baseline_strategy({"cash": flat, "also_cash": flat}) == "cash"


def test_no_baseline_strategy_is_refused():
    with pytest.raises(ValueError, match="at least one baseline strategy; got none"):
        best_baseline_strategy({})


def test_a_strategy_that_is_its_best_baseline_has_no_excess_and_no_evidence():
    held = market()
    baselines = {"cash": np.zeros(held.size), "buy_and_hold": held}

    verdict = judge("long_flat", held.copy(), baselines, RULES, CONFIG)

    # Buy-and-hold earned more than cash (the market drifted up), so it is the bar.
    test = verdict.return_test
    assert (test.strategy, test.baseline, test.execution, test.cost_bps) == (
        "long_flat",
        "buy_and_hold",
        "next_bar",
        5.0,
    )
    assert (test.excess_return, test.excess_sharpe, test.t_stat, test.p_value) == (
        0.0,
        0.0,
        0.0,
        1.0,
    )


def test_the_t_statistic_and_p_value_are_the_newey_west_test_of_the_daily_excess():
    held, noise = market(seed=1), market(seed=2)
    strategy = held + 0.1 * noise

    verdict = judge("long_flat", strategy, {"buy_and_hold": held}, RULES, CONFIG)

    expected = mean_test(0.1 * noise)
    excess = 0.1 * noise
    assert verdict.return_test.t_stat == pytest.approx(expected.t_stat)
    assert verdict.return_test.p_value == pytest.approx(expected.p_value)
    assert verdict.return_test.lags == 4
    assert verdict.return_test.excess_sharpe == pytest.approx(
        excess.mean() / excess.std(ddof=1) * math.sqrt(252)
    )


def test_the_power_is_for_the_segments_days_and_the_best_rules_rate():
    held = market()

    power = judge("long_flat", held + 0.1 * market(seed=3), {"b": held}, RULES, CONFIG).power

    assert (power.days, power.tested_days) == (250, 250)
    assert power.accuracy_points == pytest.approx(100 * detectable_accuracy(250, 0.53))
    assert 2.0 < power.excess_sharpe < 3.0


def test_a_baseline_strategy_of_another_length_is_refused():
    with pytest.raises(ValueError, match=r"cash \(3\) must have one return per day of long_flat"):
        judge("long_flat", market(), {"cash": np.zeros(3)}, RULES, CONFIG)
