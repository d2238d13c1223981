"""Seeded synthetic bars for tests and for symbols no real source has: always labelled synthetic.

The price is a two-regime random walk (calm and volatile, Markov switching). With
`signal > 0` a hidden daily driver moves both today's volume and the return `lead` bars later
(tomorrow's by default), so volume carries real information about that bar that none of the
baselines (majority class, always-up, previous direction) can use. With `lead=2` the driver moves
the return from t+1 to t+2: the bar the default `next_bar` execution trades, so a position
decided at t's close can earn it. `signal=0` is a pure random walk: nothing to find.
"""

from __future__ import annotations

import hashlib
from datetime import date

import numpy as np
import pandas as pd

from mltrainer.engine.data.base import BarSet, DataSource, SymbolInfo, clip_dates, make_provenance

_LAST_DAY = pd.Timestamp("2024-12-31")


def _symbol_seed(symbol: str, seed: int) -> int:
    digest = hashlib.sha256(f"{symbol.upper()}:{seed}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def synthetic_bars(
    symbol: str, *, n_bars: int = 2520, seed: int = 0, signal: float = 0.0, lead: int = 1
) -> pd.DataFrame:
    """Generate `n_bars` business days of OHLCV ending 2024-12-31, reproducible per symbol+seed."""
    if n_bars < 2:
        raise ValueError(f"n_bars must be at least 2, got {n_bars}")
    if not 0.0 <= signal <= 1.0:
        raise ValueError(f"signal must be between 0.0 and 1.0, got {signal}")
    if not 1 <= lead < n_bars:
        raise ValueError(f"lead must be between 1 and n_bars - 1 ({n_bars - 1}), got {lead}")
    rng = np.random.default_rng(_symbol_seed(symbol, seed))
    stay = np.array([0.98, 0.95])
    vols = np.array([0.008, 0.02])
    regimes = np.empty(n_bars, dtype=int)
    regimes[0] = 0
    switches = rng.random(n_bars)
    for t in range(1, n_bars):
        previous = regimes[t - 1]
        regimes[t] = previous if switches[t] < stay[previous] else 1 - previous
    sigma = vols[regimes]
    driver = rng.standard_normal(n_bars)
    noise = rng.standard_normal(n_bars)
    # Return on day t is driven by the hidden driver of day t - lead (known to the market
    # through that day's volume).
    lagged_driver = np.concatenate([np.zeros(lead), driver[:-lead]])
    returns = sigma * (signal * lagged_driver + np.sqrt(1.0 - signal**2) * noise) + 0.0002
    close = 100.0 * np.exp(np.cumsum(returns))
    open_ = close * np.exp(-returns * rng.uniform(0.2, 0.8, n_bars))
    spread = sigma * np.abs(rng.standard_normal(n_bars)) * close
    high = np.maximum(open_, close) + spread * 0.5
    low = np.minimum(open_, close) - spread * 0.5
    volume = 1e6 * np.exp(0.5 * driver + 0.3 * rng.standard_normal(n_bars) + 0.5 * regimes)
    index = pd.bdate_range(end=_LAST_DAY, periods=n_bars, name="date").as_unit("ns")
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )


class SyntheticSource(DataSource):
    """Any valid ticker gets its own reproducible series; results say SYNTHETIC DATA."""

    name = "synthetic"
    kind = "synthetic"

    def __init__(self, *, n_bars: int = 2520, seed: int = 0, signal: float = 0.0) -> None:
        self.n_bars = n_bars
        self.seed = seed
        self.signal = signal

    def symbols(self) -> list[SymbolInfo]:
        return [
            SymbolInfo(
                symbol="<any ticker>",
                source=self.name,
                kind="bars",
                description=(
                    f"seeded two-regime random walk, {self.n_bars} business days; "
                    "SYNTHETIC DATA, not a market"
                ),
            )
        ]

    def bars(self, symbol: str, start: date | None = None, end: date | None = None) -> BarSet:
        frame = clip_dates(
            synthetic_bars(symbol, n_bars=self.n_bars, seed=self.seed, signal=self.signal),
            start,
            end,
        )
        note = f"SYNTHETIC DATA (seed={self.seed}, signal={self.signal})"
        return BarSet(
            frame,
            make_provenance(
                frame, source=self.name, kind="synthetic", symbol=symbol.upper(), note=note
            ),
        )
