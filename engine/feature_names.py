"""The names of the features `features.py` builds, in a module of their own so that reading an
instruction (the bridge's vocabulary) knows them without importing pandas."""

from __future__ import annotations

N_LAGS = 5
LAG_FEATURES = tuple(f"ret_lag_{k}" for k in range(1, N_LAGS + 1))
# Price levels (sma_20, sma_50) are not stationary, so models get them as distances from the
# close; the raw levels stay available for the seed's frame and for users who ask for them.
DEFAULT_FEATURES: tuple[str, ...] = (
    "returns",
    "log_returns",
    "close_to_sma_20",
    "close_to_sma_50",
    "rsi",
    "volume_ratio",
    *LAG_FEATURES,
    "momentum",
    "volatility",
)
OPTIONAL_FEATURES: tuple[str, ...] = ("sma_20", "sma_50", "range")
ALL_FEATURES: tuple[str, ...] = DEFAULT_FEATURES + OPTIONAL_FEATURES
WARMUP_BARS = 50
# What a feature needs besides the close. Close-only bars (the sp20 stocks) cannot have these:
# the default set goes without them and says so, and asking for one is refused by name.
FEATURE_INPUTS: dict[str, tuple[str, ...]] = {"volume_ratio": ("volume",), "range": ("high", "low")}
