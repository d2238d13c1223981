from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mltrainer.engine.data.base import BAR_COLUMNS, SeriesSet, make_provenance
from mltrainer.engine.errors import ConfigError
from mltrainer.engine.features import (
    ALL_FEATURES,
    DEFAULT_FEATURES,
    build_features,
    macro_asof,
    select_features,
    unavailable_features,
)


def random_bars(n_bars: int, seed: int, start: str = "2015-01-01") -> pd.DataFrame:
    """A positive random walk with volumes, on business days, nanosecond dates like every source."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, n_bars)))
    open_ = close * np.exp(rng.normal(0.0, 0.005, n_bars))
    spread = close * np.abs(rng.normal(0.0, 0.01, n_bars))
    index = pd.bdate_range(start, periods=n_bars, name="date").as_unit("ns")
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) + spread,
            "low": np.minimum(open_, close) - spread,
            "close": close,
            "volume": 1e6 * np.exp(rng.normal(0.0, 0.4, n_bars)),
        },
        index=index,
    )


def series_set(rows: list[tuple[str, float, str]], series_id: str = "X") -> SeriesSet:
    """A hand-built macro series from (period, value, available) rows, in nanosecond dates."""
    frame = pd.DataFrame(
        {
            "value": [value for _, value, _ in rows],
            "available": pd.DatetimeIndex([a for _, _, a in rows]).as_unit("ns"),
        },
        index=pd.DatetimeIndex([p for p, _, _ in rows], name="date").as_unit("ns"),
    )
    return SeriesSet(frame, make_provenance(frame, source="test", kind="real", symbol=series_id))


# --- no look-ahead -----------------------------------------------------------------------------


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(
    seed=st.integers(0, 2**16),
    n_bars=st.integers(60, 130),
    position=st.floats(0.0, 1.0, exclude_max=True),
    column=st.sampled_from(BAR_COLUMNS),
    factor=st.floats(0.05, 20.0).filter(lambda f: abs(f - 1.0) > 1e-6),
    lookback=st.integers(2, 60),
    with_macro=st.booleans(),
)
def test_changing_a_future_bar_never_changes_an_earlier_feature_row(
    seed: int,
    n_bars: int,
    position: float,
    column: str,
    factor: float,
    lookback: int,
    with_macro: bool,
) -> None:
    bars = random_bars(n_bars, seed)
    k = int(position * n_bars)
    changed = bars.copy()
    changed.iloc[k, changed.columns.get_loc(column)] *= factor
    macro = (
        {"X": series_set([("2014-12-01", 1.0, "2014-12-20"), ("2015-02-01", 2.0, "2015-03-10")])}
        if with_macro
        else None
    )

    before = build_features(bars, lookback=lookback, macro=macro)
    after = build_features(changed, lookback=lookback, macro=macro)

    cutoff = bars.index[k]
    pd.testing.assert_frame_equal(
        before.loc[before.index < cutoff], after.loc[after.index < cutoff], check_exact=True
    )


def test_features_have_no_missing_or_infinite_values() -> None:
    features = build_features(random_bars(300, seed=1), lookback=30)

    values = features.to_numpy(dtype=float)
    assert not np.isnan(values).any()
    assert np.isfinite(values).all()


@pytest.mark.parametrize(("lookback", "first_row"), [(20, 49), (50, 50), (60, 60)])
def test_first_row_is_the_first_bar_after_warm_up(lookback: int, first_row: int) -> None:
    # SMA 50 needs 50 bars (first at position 49); momentum and volatility need `lookback`
    # returns, so the first at position `lookback`. Nothing earlier is back-filled.
    bars = random_bars(200, seed=2)

    features = build_features(bars, lookback=lookback)

    assert features.index[0] == bars.index[first_row]
    first = features.iloc[0]
    last_50 = bars["close"].iloc[first_row - 49 : first_row + 1]
    assert first["sma_50"] == pytest.approx(last_50.mean())
    assert first["momentum"] == pytest.approx(
        bars["close"].iloc[first_row] / bars["close"].iloc[first_row - lookback] - 1.0
    )


def test_every_feature_column_is_present() -> None:
    features = build_features(random_bars(120, seed=3))

    assert list(features.columns) == [
        "returns",
        "log_returns",
        "sma_20",
        "sma_50",
        "close_to_sma_20",
        "close_to_sma_50",
        "rsi",
        "volume_ratio",
        "momentum",
        "volatility",
        "range",
        "ret_lag_1",
        "ret_lag_2",
        "ret_lag_3",
        "ret_lag_4",
        "ret_lag_5",
    ]


def test_the_last_bar_has_a_feature_row():
    # Features look back only: the newest bar is a row, although nothing after it is known.
    bars = random_bars(120, seed=3)

    assert build_features(bars).index[-1] == bars.index[-1]


# --- macro as-of join --------------------------------------------------------------------------

# January's value 1.0 is published 2020-02-15 (a Saturday), February's 2.0 on 2020-03-15 (a
# Sunday). On 2020-03-20 January is revised to 1.5: an old period, so February stays the latest
# value. On 2020-04-01 February itself is revised to 2.5, which is the newest period, so it shows.
MACRO_ROWS = [
    ("2020-01-01", 1.0, "2020-02-15"),
    ("2020-02-01", 2.0, "2020-03-15"),
    ("2020-01-01", 1.5, "2020-03-20"),
    ("2020-02-01", 2.5, "2020-04-01"),
]


def test_macro_value_is_not_visible_before_its_available_date() -> None:
    index = pd.bdate_range("2020-02-10", "2020-03-18").as_unit("ns")

    values = macro_asof(index, series_set(MACRO_ROWS))

    assert values[:"2020-02-14"].isna().all()
    assert values["2020-02-17":"2020-03-13"].tolist() == [1.0] * 20
    assert values["2020-03-16":].tolist() == [2.0, 2.0, 2.0]


def test_revision_of_an_old_period_does_not_replace_the_newest_value() -> None:
    index = pd.DatetimeIndex(["2020-03-19", "2020-03-20", "2020-03-31", "2020-04-01", "2020-04-02"])

    values = macro_asof(index.as_unit("ns"), series_set(MACRO_ROWS))

    assert values.tolist() == [2.0, 2.0, 2.0, 2.5, 2.5]


def test_macro_feature_rows_start_when_the_first_value_is_published() -> None:
    bars = random_bars(150, seed=4, start="2019-10-01")

    features = build_features(bars, macro={"X": series_set(MACRO_ROWS)})

    assert features.index[0] == pd.Timestamp("2020-02-17")
    macro = features["macro_X"]
    assert set(macro[:"2020-03-13"]) == {1.0}
    assert set(macro["2020-03-16":"2020-03-31"]) == {2.0}
    assert set(macro["2020-04-01":]) == {2.5}


def test_macro_join_accepts_bars_dated_in_another_resolution() -> None:
    index = pd.bdate_range("2020-03-16", "2020-03-18").as_unit("us")

    values = macro_asof(index, series_set(MACRO_ROWS))

    assert values.tolist() == [2.0, 2.0, 2.0]


# --- feature selection -------------------------------------------------------------------------


def test_select_features_defaults_then_macro_columns() -> None:
    assert select_features(None, ["UNRATE"]) == [*DEFAULT_FEATURES, "macro_UNRATE"]


def test_select_features_normalises_names_and_drops_duplicates() -> None:
    chosen = select_features([" RSI", "rsi", "macro_unrate", "sma_20"], ["UNRATE"])

    assert chosen == ["rsi", "macro_UNRATE", "sma_20"]


def test_select_features_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ConfigError, match=r"unknown features \['moon_phase'\]") as caught:
        select_features(["returns", "moon_phase"], ["UNRATE"])

    message = str(caught.value)
    assert f"available features are {', '.join(ALL_FEATURES)}, macro_UNRATE" in message


def test_select_features_macro_column_needs_its_series() -> None:
    with pytest.raises(ConfigError, match=r"unknown features \['macro_DGS10'\].*add FRED series"):
        select_features(["macro_DGS10"], [])


def test_select_features_refuses_an_empty_list() -> None:
    with pytest.raises(ConfigError, match="features is empty; leave it out to use the default set"):
        select_features([], [])


# --- close-only bars ---------------------------------------------------------------------------


def test_close_only_bars_get_every_feature_that_needs_only_the_close() -> None:
    features = build_features(random_bars(300, seed=4)[["close"]])

    assert "volume_ratio" not in features and "range" not in features
    assert {"returns", "rsi", "momentum", "volatility", "sma_50"} <= set(features)
    assert not features.isna().to_numpy().any()


def test_the_default_set_of_close_only_bars_goes_without_volume() -> None:
    assert unavailable_features(["close"]) == {
        "volume_ratio": ["volume"],
        "range": ["high", "low"],
    }
    assert select_features(None, [], ["close"]) == [
        f for f in DEFAULT_FEATURES if f != "volume_ratio"
    ]


def test_a_feature_close_only_bars_cannot_have_is_refused_by_name() -> None:
    with pytest.raises(
        ConfigError,
        match=r"the bars of AAPL have only close: volume_ratio needs volume; range needs high "
        r"and low, and nothing is filled in for them\. Features these bars allow: returns,",
    ):
        select_features(["rsi", "volume_ratio", "range"], [], ["close"], symbol="AAPL")
