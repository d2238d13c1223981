"""Features computed from past data only; the labels are the research target's (`targets/`).

Every rolling window looks backwards and warm-up rows are dropped, never back-filled, so changing
a future bar can never change an earlier feature row (a property test checks this). Macro series
join on the date a value became known (`available`), not on the period it describes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from mltrainer.engine.data.base import SeriesSet
from mltrainer.engine.errors import ConfigError
from mltrainer.engine.feature_names import (
    ALL_FEATURES,
    DEFAULT_FEATURES,
    FEATURE_INPUTS,
    LAG_FEATURES,
    N_LAGS,
    OPTIONAL_FEATURES,
    WARMUP_BARS,
)

__all__ = [
    "ALL_FEATURES",
    "DEFAULT_FEATURES",
    "FEATURE_INPUTS",
    "LAG_FEATURES",
    "N_LAGS",
    "OPTIONAL_FEATURES",
    "WARMUP_BARS",
    "build_features",
    "macro_asof",
    "rsi",
    "select_features",
]


def rsi(close: pd.Series, period: int = 14) -> pd.Series:
    """Wilder's RSI (exponential smoothing with alpha = 1/period), 0-100, NaN during warm-up."""
    change = close.diff()
    gain = change.clip(lower=0.0).ewm(alpha=1.0 / period, adjust=False, min_periods=period).mean()
    loss = (
        (-change.clip(upper=0.0)).ewm(alpha=1.0 / period, adjust=False, min_periods=period).mean()
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        strength = gain / loss
    value = 100.0 - 100.0 / (1.0 + strength)
    # No losses in the window: RSI is 100 by definition, not NaN.
    return value.where(loss != 0.0, 100.0).where(gain.notna())


def macro_asof(index: pd.DatetimeIndex, series: SeriesSet) -> pd.Series:
    """For each bar date, the latest period's value as known that day (latest known vintage).

    A revision of an older period published later must not replace a newer period's value, so
    only rows that are for the newest period known so far (first release or its revisions) count.
    """
    frame = series.frame.reset_index().rename(columns={"index": "date"})
    frame = frame.dropna(subset=["value"]).sort_values(["available", "date"], kind="stable")
    newest = frame["date"].cummax()
    frame = frame[frame["date"] >= newest]
    # merge_asof needs one datetime unit on both sides; callers' frames may come in any unit.
    known = pd.DataFrame(
        {
            "available": pd.DatetimeIndex(frame["available"]).as_unit("ns"),
            "value": frame["value"].to_numpy(),
        }
    )
    bars = pd.DataFrame({"bar_date": pd.DatetimeIndex(index).as_unit("ns")})
    joined = pd.merge_asof(
        bars, known, left_on="bar_date", right_on="available", direction="backward"
    )
    return pd.Series(joined["value"].to_numpy(), index=index)


def build_features(
    bars: pd.DataFrame,
    *,
    lookback: int = 20,
    macro: Mapping[str, SeriesSet] | None = None,
) -> pd.DataFrame:
    """Every feature column the bars allow, on the rows past their warm-up (no row is
    back-filled); a feature whose inputs the bars lack (`FEATURE_INPUTS`) is not computed."""
    close = bars["close"].astype(float)
    returns = close.pct_change(fill_method=None)
    log_returns = np.log(close / close.shift(1))
    sma_20 = close.rolling(20).mean()
    sma_50 = close.rolling(50).mean()
    columns: dict[str, pd.Series] = {
        "returns": returns,
        "log_returns": log_returns,
        "sma_20": sma_20,
        "sma_50": sma_50,
        "close_to_sma_20": close / sma_20 - 1.0,
        "close_to_sma_50": close / sma_50 - 1.0,
        "rsi": rsi(close),
    }
    if "volume" in bars.columns:
        volume = bars["volume"].astype(float)
        columns["volume_ratio"] = volume / volume.rolling(20).mean()
    columns["momentum"] = close / close.shift(lookback) - 1.0
    columns["volatility"] = log_returns.rolling(lookback).std()
    if "high" in bars.columns and "low" in bars.columns:
        columns["range"] = (bars["high"] - bars["low"]) / close
    for k in range(1, N_LAGS + 1):
        columns[f"ret_lag_{k}"] = returns.shift(k)
    for series_id, series in (macro or {}).items():
        columns[f"macro_{series_id}"] = macro_asof(pd.DatetimeIndex(bars.index), series)
    features = pd.DataFrame(columns, index=bars.index).replace([np.inf, -np.inf], np.nan)
    return features.dropna()


def unavailable_features(fields: Sequence[str]) -> dict[str, list[str]]:
    """Features that bars with only `fields` cannot have, and the columns each one lacks."""
    return {
        name: missing
        for name, needs in FEATURE_INPUTS.items()
        if (missing := [column for column in needs if column not in fields])
    }


def select_features(
    requested: Sequence[str] | None,
    macro_ids: Sequence[str],
    fields: Sequence[str] = ("open", "high", "low", "close", "volume"),
    *,
    symbol: str = "",
) -> list[str]:
    """The model's input columns: the defaults the bars allow (plus macro), or exactly what was
    asked for. A feature needing a column the bars lack (`fields`) is refused by name."""
    macro_columns = [f"macro_{m}" for m in macro_ids]
    lacking = unavailable_features(fields)
    if requested is None:
        return [*(f for f in DEFAULT_FEATURES if f not in lacking), *macro_columns]
    allowed = {*ALL_FEATURES, *macro_columns}
    names = [name.strip().lower() for name in requested]
    names = [f"macro_{n[6:].upper()}" if n.startswith("macro_") else n for n in names]
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise ConfigError(
            f"unknown features {unknown}; available features are {', '.join(ALL_FEATURES)}"
            + (f", {', '.join(macro_columns)}" if macro_columns else "")
            + " (add FRED series with `macro`)"
        )
    if not names:
        raise ConfigError("features is empty; leave it out to use the default set")
    if refused := [n for n in names if n in lacking]:
        needs = "; ".join(f"{n} needs {' and '.join(lacking[n])}" for n in refused)
        possible = [f for f in ALL_FEATURES if f not in lacking] + macro_columns
        raise ConfigError(
            f"the bars of {symbol or 'this symbol'} have only {', '.join(fields)}: {needs}, "
            f"and nothing is filled in for them. Features these bars allow: {', '.join(possible)}"
        )
    return list(dict.fromkeys(names))
