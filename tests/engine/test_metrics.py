from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from mltrainer.engine.metrics import (
    backtest,
    costed_returns,
    position_returns,
    strategy_returns,
    strategy_stats,
)
from mltrainer.engine.trial import Backtest

# --- position_returns -------------------------------------------------------------------------

CLOSES = pd.Series([100.0, 101.0, 100.5, 100.5, 102.0])


def test_a_position_at_the_close_earns_the_next_bar():
    returns = position_returns(CLOSES, "close")

    assert returns.tolist()[:4] == pytest.approx([0.01, 100.5 / 101 - 1, 0.0, 102 / 100.5 - 1])
    assert np.isnan(returns.iloc[4])


def test_a_position_filled_next_bar_earns_the_bar_after_the_next():
    returns = position_returns(CLOSES, "next_bar")

    assert returns.tolist()[:3] == pytest.approx([100.5 / 101 - 1, 0.0, 102 / 100.5 - 1])
    assert np.isnan(returns.iloc[3:]).all()


# --- strategy_stats ---------------------------------------------------------------------------


def test_strategy_stats_annual_return_is_geometric():
    stats = strategy_stats(np.array([0.10, -0.05]), None, periods_per_year=4)

    # (1.10 * 0.95) ** (4 / 2) - 1
    assert stats.annual_return == pytest.approx(0.092025)


def test_strategy_stats_sharpe_uses_sample_std():
    stats = strategy_stats(np.array([0.01, -0.01, 0.02, 0.0]), None)

    # mean 0.005; squared deviations sum to 5e-4 over 3 degrees of freedom.
    assert stats.sharpe == pytest.approx(0.005 / np.sqrt(5e-4 / 3) * np.sqrt(252))
    assert stats.sharpe == pytest.approx(6.1482, abs=1e-4)


def test_strategy_stats_sharpe_zero_for_constant_returns():
    stats = strategy_stats(np.full(10, 0.001), None)

    assert stats.sharpe == 0.0


def test_strategy_stats_max_drawdown_of_known_equity_path():
    # equity 1.0 -> 1.5 -> 0.75 -> 0.9: the fall from 1.5 to 0.75 is half the peak.
    stats = strategy_stats(np.array([0.5, -0.5, 0.2]), None)

    assert stats.max_drawdown == pytest.approx(-0.5)


def test_strategy_stats_first_bar_loss_is_a_drawdown():
    stats = strategy_stats(np.array([-0.1, 0.05]), None)

    assert stats.max_drawdown == pytest.approx(-0.1)


def test_strategy_stats_no_drawdown_when_equity_only_rises():
    stats = strategy_stats(np.array([0.01, 0.02, 0.0]), None)

    assert stats.max_drawdown == 0.0


def test_strategy_stats_total_loss():
    stats = strategy_stats(np.array([-1.0, 0.1]), None)

    assert stats.annual_return == -1.0
    assert stats.max_drawdown == -1.0


def test_strategy_stats_turnover_is_mean_position_change_per_bar():
    stats = strategy_stats(np.zeros(4), np.array([1.0, 0.0, 1.0, 1.0]))

    # changes 1 + 1 + 0 over 4 bars
    assert stats.turnover == 0.5


def test_strategy_stats_buy_and_hold_has_zero_turnover():
    stats = strategy_stats(np.zeros(5), np.ones(5))

    assert stats.turnover == 0.0


def test_strategy_stats_refuses_mismatched_positions():
    with pytest.raises(ValueError, match="positions has 2 bars but daily_returns has 3"):
        strategy_stats(np.zeros(3), np.ones(2))


def test_strategy_stats_refuses_empty_returns():
    with pytest.raises(ValueError, match="empty series"):
        strategy_stats(np.array([]), None)


# --- backtest ---------------------------------------------------------------------------------

NEXT_RETURNS = np.array([0.01, -0.02, 0.03, 0.01])


def positions(long_flat: list[float], long_short: list[float]) -> dict[str, np.ndarray]:
    return {
        "long_flat": np.array(long_flat, dtype=float),
        "long_short": np.array(long_short, dtype=float),
        "buy_and_hold": np.ones(len(long_flat)),
    }


def traded(held: dict[str, np.ndarray], next_returns: np.ndarray, cost_bps: float = 10) -> Backtest:
    series = strategy_returns(held, next_returns, cost_bps=cost_bps)
    return backtest(series, cost_bps=cost_bps, execution="next_bar")


# Long on bars 0 and 3: flat or short in between.
CALLS = positions([1, 0, 0, 1], [1, -1, -1, 1])


def test_costed_returns_entering_from_flat_pays_a_cost():
    returns = costed_returns(np.array([1.0, 0.0, 0.0, 1.0]), NEXT_RETURNS, cost_bps=10)

    assert_allclose(returns, [0.009, -0.001, 0.0, 0.009])


def test_costed_returns_reversal_pays_twice():
    returns = costed_returns(np.array([1.0, -1.0, -1.0, 1.0]), NEXT_RETURNS, cost_bps=10)

    assert_allclose(returns, [0.009, 0.018, -0.03, 0.008])


def test_costs_reduce_returns_by_exactly_cost_times_position_change():
    positions = np.array([1.0, -1.0, 0.0, 0.0])

    gross = costed_returns(positions, NEXT_RETURNS, cost_bps=0)
    net = costed_returns(positions, NEXT_RETURNS, cost_bps=25)

    # changes 1, 2, 1, 0 at 25 bps each
    assert_allclose(gross - net, [0.0025, 0.005, 0.0025, 0.0])


def test_backtest_scores_each_strategy_on_its_costed_returns():
    result = traded(CALLS, NEXT_RETURNS)

    assert result.cost_bps == 10
    assert result.execution == "next_bar"
    expected = {
        "long_flat": strategy_stats(np.array([0.009, -0.001, 0.0, 0.009]), np.array([1, 0, 0, 1])),
        "long_short": strategy_stats(
            np.array([0.009, 0.018, -0.03, 0.008]), np.array([1, -1, -1, 1])
        ),
        "buy_and_hold": strategy_stats(np.array([0.009, -0.02, 0.03, 0.01]), np.ones(4)),
    }
    for name, stats in expected.items():
        assert getattr(result, name).model_dump() == pytest.approx(stats.model_dump())


def test_backtest_turnover_per_strategy():
    result = traded(CALLS, NEXT_RETURNS)

    # long/flat changes 1 + 0 + 1, long/short 2 + 0 + 2, over 4 bars; the entry is not turnover.
    assert result.long_flat.turnover == 0.5
    assert result.long_short.turnover == 1.0
    assert result.buy_and_hold.turnover == 0.0


def test_backtest_buy_and_hold_pays_one_entry_cost_over_a_flat_year():
    result = traded(positions([1] * 252, [1] * 252), np.zeros(252))

    assert result.buy_and_hold.annual_return == pytest.approx(-0.001)
    assert result.long_flat.annual_return == pytest.approx(-0.001)


def test_backtest_switching_every_bar_pays_every_bar():
    result = traded(positions([1, 0] * 126, [1, -1] * 126), np.zeros(252))

    assert result.long_flat.annual_return == pytest.approx(0.999**252 - 1)
    assert result.long_short.annual_return == pytest.approx(0.999 * 0.998**251 - 1)
    assert result.buy_and_hold.annual_return == pytest.approx(-0.001)


def test_backtest_without_costs_long_flat_earns_the_up_days():
    result = traded(positions([1, 1, 0], [1, 1, -1]), np.array([0.1, -0.5, -0.5]), cost_bps=0)

    # long on bars 0 and 1: 1.1 * 0.5 = 0.55 of the start
    assert result.long_flat.max_drawdown == pytest.approx(-0.5)
    assert result.long_flat.annual_return == pytest.approx(0.55 ** (252 / 3) - 1)


def test_backtest_active_sharpe_is_long_flats_return_over_buy_and_holds():
    result = traded(CALLS, NEXT_RETURNS)

    # long/flat 0.009, -0.001, 0, 0.009 less buy-and-hold 0.009, -0.02, 0.03, 0.01
    active = np.array([0.0, 0.019, -0.03, -0.001])
    assert result.active_sharpe == pytest.approx(strategy_stats(active, None).sharpe)


def test_strategy_returns_refuse_mismatched_lengths():
    with pytest.raises(ValueError, match="long_flat has 3 positions and there are 2 next_returns"):
        strategy_returns(positions([1, 0, 1], [1, -1, 1]), np.array([0.01, 0.02]), cost_bps=2)


def test_strategy_returns_refuse_negative_costs():
    with pytest.raises(ValueError, match=r"cost_bps=-1.0 must be >= 0"):
        strategy_returns(CALLS, NEXT_RETURNS, cost_bps=-1.0)
