"""Ranking a universe date by date: rows into matrices, IC and Rank IC per date, the top and
bottom fifths, what they earn after costs, and the returns by fifth of the forecast."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr

from mltrainer.engine.panel.portfolio import (
    Grid,
    equal_weights,
    ic_by_date,
    portfolio_returns,
    quantile_returns,
    sides,
    top_k,
)


def test_rows_become_a_dates_by_stocks_matrix():
    grid = Grid.of(["d1", "d1", "d2"], ["B", "A", "A"])

    assert (grid.dates, grid.members) == (["d1", "d2"], ["A", "B"])
    np.testing.assert_array_equal(grid.matrix([1.0, 2.0, 3.0]), [[2.0, 1.0], [3.0, np.nan]])


def test_ic_and_rank_ic_are_the_dates_pearson_and_spearman_correlations():
    rng = np.random.default_rng(3)
    forecast, realised = rng.normal(size=(4, 7)), rng.normal(size=(4, 7))

    ic, rank_ic = ic_by_date(forecast, realised)

    for d in range(4):
        assert ic[d] == pytest.approx(pearsonr(forecast[d], realised[d]).statistic)
        assert rank_ic[d] == pytest.approx(spearmanr(forecast[d], realised[d]).statistic)


def test_a_date_with_too_few_stocks_or_no_spread_has_no_ic():
    forecast = np.array([[1.0, 2.0, np.nan, np.nan], [1.0, 1.0, 1.0, 1.0]])
    realised = np.array([[1.0, 3.0, 2.0, 4.0], [1.0, 2.0, 3.0, 4.0]])

    ic, rank_ic = ic_by_date(forecast, realised)

    assert np.isnan(ic).all() and np.isnan(rank_ic).all()


def test_the_top_and_bottom_fifth_hold_equal_weights():
    scores = np.array([[5.0, 1.0, 4.0, 2.0, 3.0, 0.0, 9.0, 8.0, 7.0, 6.0]])

    long, short = sides(scores, top_k(10))

    assert top_k(10) == 2 and top_k(4) == 1
    assert long.tolist() == [[0, 0, 0, 0, 0, 0, 0.5, 0.5, 0, 0]]
    assert short.tolist() == [[0, 0.5, 0, 0, 0, 0.5, 0, 0, 0, 0]]


def test_a_stock_without_a_score_is_held_by_neither_side():
    long, short = sides(np.array([[np.nan, 1.0, 2.0, 3.0]]), 1)

    assert long.tolist() == [[0, 0, 0, 1.0]]
    assert short.tolist() == [[0, 1.0, 0, 0]]


def test_costs_are_paid_on_every_change_of_weight_from_the_first_date():
    weights = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    returns = np.array([[0.01, 0.02], [0.03, -0.01], [0.0, 0.02]])

    turnover, earned = portfolio_returns(weights, returns, cost_bps=10.0)

    assert turnover.tolist() == [1.0, 2.0, 0.0]
    np.testing.assert_allclose(earned, [0.01 - 0.001, -0.01 - 0.002, 0.02])


def test_equal_weights_spread_over_the_stocks_with_a_return():
    available = np.array([[True, True, False, True]])

    assert equal_weights(available).tolist() == [[1 / 3, 1 / 3, 0.0, 1 / 3]]


def test_returns_by_fifth_rise_when_the_forecast_orders_them():
    forecast = np.tile(np.arange(10.0), (3, 1))
    next_returns = forecast / 1000

    means = quantile_returns(forecast, next_returns)

    assert means == pytest.approx([0.5 * 252 / 1000 + k * 2 * 252 / 1000 for k in range(5)])
