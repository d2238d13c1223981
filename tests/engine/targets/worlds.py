"""Synthetic worlds for the targets' honesty tests, handed to `ResearchService` as caller data:
random walks with nothing to find, and random walks with a planted signal of known strength.

The planted signal: each bar's return loads on the stock's own return over the previous five
bars (what the `roc_5` feature and `return`'s default features carry), scaled so that the
information coefficient of that lagged return for the next bar's return is `ic` (0.05: a weak
signal of the size Qlib's Alpha158 models report).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mltrainer.engine.data.base import BarSet, make_provenance

DAILY_VOLATILITY = 0.01
LAG = 5


def _bars(symbol: str, close: np.ndarray, dates: pd.DatetimeIndex) -> BarSet:
    frame = pd.DataFrame({"close": close}, index=dates)
    return BarSet(frame, make_provenance(frame, source="caller", kind="real", symbol=symbol))


def _returns(rng: np.random.Generator, dates: int, stocks: int, ic: float) -> np.ndarray:
    """Returns whose cross-section (or, for one stock, time series) correlates `ic` with the
    sum of the previous `LAG` returns. Each bar's noise is scaled down so the total variance
    stays about `DAILY_VOLATILITY` squared."""
    noise = rng.normal(0.0, DAILY_VOLATILITY, (dates, stocks))
    returns = np.zeros_like(noise)
    for t in range(dates):
        past = returns[max(t - LAG, 0) : t].sum(axis=0)
        if stocks > 1:
            past = past - past.mean()
        spread = past.std() if stocks > 1 else DAILY_VOLATILITY * np.sqrt(LAG)
        signal = past / spread * DAILY_VOLATILITY if spread > 0 else np.zeros(stocks)
        returns[t] = ic * signal + np.sqrt(1 - ic * ic) * noise[t]
    return returns


def panel_world(
    seed: int, *, ic: float = 0.0, stocks: int = 20, dates: int = 1500
) -> dict[str, BarSet]:
    """`stocks` random walks over `dates` business days; with `ic` > 0, a planted
    cross-sectional signal. Symbols S00, S01, ..."""
    rng = np.random.default_rng(seed)
    closes = 50 * np.exp(np.cumsum(_returns(rng, dates, stocks, ic), axis=0))
    index = pd.bdate_range("2000-01-03", periods=dates, name="date")
    return {f"S{k:02d}": _bars(f"S{k:02d}", closes[:, k], index) for k in range(stocks)}


def series_world(seed: int, *, ic: float = 0.0, dates: int = 2500) -> BarSet:
    """One random walk over `dates` business days; with `ic` > 0, a planted time-series
    signal in its own lagged returns."""
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(np.cumsum(_returns(rng, dates, 1, ic)[:, 0]))
    index = pd.bdate_range("1970-01-01", periods=dates, name="date")
    return _bars("WALK", close, index)
