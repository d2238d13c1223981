"""The universe's features: each operator against a plain pandas or numpy computation of its
definition, no look-ahead, the per-date normalisation, and which names are allowed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from mltrainer.engine.errors import ConfigError
from mltrainer.engine.panel.features import (
    ALL_PANEL_FEATURES,
    DEFAULT_PANEL_FEATURES,
    _Panel,
    normalise_by_date,
    panel_features,
    select_panel_features,
)

W = 10


@pytest.fixture(scope="module")
def closes() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    walk = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, size=(120, 6)), axis=0))
    # Rounded like the shipped file, so equal closes (ties) occur.
    return pd.DataFrame(np.round(walk, 1), columns=list("ABCDEF"))


def raw(closes: pd.DataFrame, operator: str) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return _Panel(closes.to_numpy()).feature(operator, W)


def trend(window: np.ndarray) -> tuple[float, float, float]:
    slope, intercept = np.polyfit(np.arange(W), window, 1)
    fitted = intercept + slope * np.arange(W)
    r2 = np.corrcoef(np.arange(W), window)[0, 1] ** 2
    return slope, r2, window[-1] - fitted[-1]


def test_rates_of_change_and_moving_statistics_match_pandas(closes):
    c = closes
    np.testing.assert_allclose(raw(c, "roc"), (c / c.shift(W) - 1).to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(raw(c, "ma"), (c.rolling(W).mean() / c).to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(raw(c, "std"), (c.rolling(W).std() / c).to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(raw(c, "max"), (c.rolling(W).max() / c).to_numpy())
    np.testing.assert_allclose(raw(c, "min"), (c.rolling(W).min() / c).to_numpy())
    np.testing.assert_allclose(
        raw(c, "qtlu"), (c.rolling(W).quantile(0.8) / c).to_numpy(), rtol=1e-12
    )


def test_the_trend_is_a_least_squares_line_through_the_window(closes):
    values = closes.to_numpy()
    slope, r2, resid = raw(closes, "beta"), raw(closes, "rsqr"), raw(closes, "resi")
    for row, column in [(W - 1, 0), (60, 3), (119, 5)]:
        expected = trend(values[row - W + 1 : row + 1, column])
        close = values[row, column]
        assert (
            slope[row, column] * close,
            rsqr := r2[row, column],
            resid[row, column] * close,
        ) == (
            pytest.approx(expected[0], abs=1e-9),
            pytest.approx(expected[1], abs=1e-9),
            pytest.approx(expected[2], abs=1e-9),
        )
        assert 0 <= rsqr <= 1


def test_bars_since_the_extremes_count_to_the_latest_of_equal_closes(closes):
    view = sliding_window_view(closes.to_numpy(), W, axis=0)[:, :, ::-1]

    np.testing.assert_array_equal(raw(closes, "imax")[W - 1 :] * W, view.argmax(axis=-1))
    np.testing.assert_array_equal(raw(closes, "imin")[W - 1 :] * W, view.argmin(axis=-1))
    assert np.isnan(raw(closes, "imax")[: W - 1]).all()


def test_counts_and_sums_of_moves_match_their_definitions(closes):
    change = closes.diff()
    up = (change > 0).astype(float).where(change.notna())
    gains = change.clip(lower=0).rolling(W).sum()
    moves = change.abs().rolling(W).sum()
    np.testing.assert_allclose(raw(closes, "cntp"), up.rolling(W).mean().to_numpy(), atol=1e-12)
    np.testing.assert_allclose(raw(closes, "sump"), (gains / moves).to_numpy(), rtol=1e-9)
    rsv = (closes - closes.rolling(W).min()) / (closes.rolling(W).max() - closes.rolling(W).min())
    np.testing.assert_allclose(raw(closes, "rsv"), rsv.to_numpy(), rtol=1e-9)


def test_the_correlation_is_with_the_universes_equal_weighted_return(closes):
    returns = closes.pct_change()
    market = returns.mean(axis=1)

    expected = returns.rolling(W).corr(market).to_numpy()

    np.testing.assert_allclose(raw(closes, "corr"), expected, atol=1e-9)


def test_a_feature_never_depends_on_a_later_close(closes):
    changed = closes.copy()
    changed.iloc[80:] *= 1.5

    before = panel_features(closes.to_numpy(), ALL_PANEL_FEATURES)
    after = panel_features(changed.to_numpy(), ALL_PANEL_FEATURES)

    np.testing.assert_array_equal(before[:80], after[:80])
    assert not np.allclose(before[90:], after[90:], equal_nan=True)


def test_features_are_z_scores_across_each_dates_stocks(closes):
    values = panel_features(closes.to_numpy(), ["roc_5", "ma_20"])

    assert values.shape == (120, 6, 2)
    # ma_20 needs 20 closes: the first 19 dates have none.
    assert np.isnan(values[:19, :, 1]).all() and not np.isnan(values[19:]).any()
    np.testing.assert_allclose(values[19:].mean(axis=1), 0.0, atol=1e-12)
    # Six stocks cannot be more than sqrt(5) deviations out, so nothing is clipped here.
    np.testing.assert_allclose(values[19:].std(axis=1), 1.0, atol=1e-12)
    assert np.abs(values[19:]).max() <= 3.0


def test_a_date_whose_stocks_all_agree_scores_zero():
    same = np.ones((2, 1, 4))

    assert normalise_by_date(same).tolist() == [[[0.0] * 4], [[0.0] * 4]]


def test_the_default_set_is_twelve_operators_over_five_windows():
    assert len(DEFAULT_PANEL_FEATURES) == 60
    assert DEFAULT_PANEL_FEATURES[:5] == ("roc_5", "roc_10", "roc_20", "roc_30", "roc_60")
    assert select_panel_features(None) == list(DEFAULT_PANEL_FEATURES)
    assert len(ALL_PANEL_FEATURES) == 110


def test_an_operator_alone_means_all_its_windows():
    assert select_panel_features(["ROC", "ma_20", "roc_5"]) == [
        "roc_5",
        "roc_10",
        "roc_20",
        "roc_30",
        "roc_60",
        "ma_20",
    ]


def test_operators_needing_open_high_low_or_volume_are_refused_by_name():
    with pytest.raises(
        ConfigError,
        match=r"adjusted closes only: klen needs open, high and low; vma_20 needs volume, "
        "which they do not have, and nothing is filled in for them. Operators these bars "
        "allow: roc, ma, std",
    ):
        select_panel_features(["klen", "roc_5", "vma_20"])


def test_unknown_names_are_refused_with_what_exists():
    with pytest.raises(ConfigError, match=r"unknown features \['roc_7', 'rsi'\].*e\.g\. roc_20"):
        select_panel_features(["roc_7", "rsi"])
