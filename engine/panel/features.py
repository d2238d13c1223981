"""Per-stock features for ranking a universe: Alpha158-style operators on the closes (rates of
change, moving averages and deviations, trend slope and fit, rolling max/min and where they
were, RSV, up-day counts and gains, rolling correlation with the market) over windows of 5, 10,
20, 30 and 60 bars, computed for the whole panel at once and normalised across the stocks of
each date.

Every operator works on a dates x stocks array with cumulative sums or strided windows along
the date axis: no loop over stocks, and each value uses only that date's bar and earlier ones.
Qlib's Alpha158 operators that need open, high, low or volume (KBAR's KMID, KLEN, ...; VMA,
VSTD, WVMA, VSUMP, ...) are refused by name for close-only data, never filled in. "The market" is
the equal-weighted return of the universe's stocks that day.

Names are `operator_window` (`roc_20`); an operator alone (`roc`) means all its windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.ndimage import maximum_filter1d, minimum_filter1d

from mltrainer.engine.errors import ConfigError

WINDOWS = (5, 10, 20, 30, 60)
# Cross-sectional z-scores are clipped here: one stock's outlier must not stretch a date's scale.
Z_CLIP = 3.0
_EPS = 1e-12

OPERATORS: dict[str, str] = {
    "roc": "rate of change: close over the close `window` bars ago, minus 1",
    "ma": "moving average of the close over the close",
    "std": "standard deviation of the close over the close",
    "beta": "slope of a straight line through the window's closes, over the close",
    "rsqr": "R-squared of that line: how straight the trend was",
    "resi": "the close's residual from that line, over the close",
    "max": "highest close of the window over the close",
    "min": "lowest close of the window over the close",
    "qtlu": "80th percentile of the window's closes over the close",
    "qtld": "20th percentile of the window's closes over the close",
    "rank": "percentile of the close among the window's closes",
    "rsv": "where the close sits between the window's lowest and highest close (0 to 1)",
    "imax": "bars since the window's highest close, over the window",
    "imin": "bars since the window's lowest close, over the window",
    "imxd": "bars between the window's lowest and highest close, signed, over the window",
    "corr": "correlation of the stock's daily returns with the market's over the window",
    "cntp": "share of up days in the window",
    "cntn": "share of down days in the window",
    "cntd": "up-day share minus down-day share",
    "sump": "gains over gains plus losses (an RSI without smoothing)",
    "sumn": "losses over gains plus losses",
    "sumd": "gains minus losses, over gains plus losses",
}
# The default set: 12 operators x 5 windows = 60 features.
DEFAULT_OPERATORS = (
    "roc",
    "ma",
    "std",
    "beta",
    "rsqr",
    "resi",
    "max",
    "min",
    "rsv",
    "imxd",
    "corr",
    "sump",
)
# Alpha158 operators that need more than the close, and what they need.
NEEDS_MORE: dict[str, str] = {
    **{
        name: "open, high and low"
        for name in ("kmid", "klen", "kmid2", "kup", "kup2", "klow", "klow2", "ksft", "ksft2")
    },
    **{name: "open" for name in ("open0",)},
    **{name: "high" for name in ("high0",)},
    **{name: "low" for name in ("low0",)},
    **{name: "volume" for name in ("vwap0", "vma", "vstd", "wvma", "vsump", "vsumn", "vsumd")},
}
WARMUP = max(WINDOWS) + 1

ALL_PANEL_FEATURES = tuple(f"{op}_{w}" for op in OPERATORS for w in WINDOWS)
DEFAULT_PANEL_FEATURES = tuple(f"{op}_{w}" for op in DEFAULT_OPERATORS for w in WINDOWS)


def select_panel_features(requested: Sequence[str] | None) -> list[str]:
    """The model's input columns: the default 60, or exactly those asked for (an operator alone
    stands for all its windows). Unknown names and names needing open, high, low or volume
    are refused with what is available."""
    if requested is None:
        return list(DEFAULT_PANEL_FEATURES)
    names: list[str] = []
    refused: list[str] = []
    unknown: list[str] = []
    for raw in requested:
        name = raw.strip().lower()
        operator = name.rsplit("_", 1)[0] if name.rsplit("_", 1)[-1].isdigit() else name
        if operator in NEEDS_MORE:
            refused.append(f"{name} needs {NEEDS_MORE[operator]}")
        elif name in OPERATORS:
            names += [f"{name}_{w}" for w in WINDOWS]
        elif name in ALL_PANEL_FEATURES:
            names.append(name)
        else:
            unknown.append(name)
    if refused:
        raise ConfigError(
            f"the universe's bars are adjusted closes only: {'; '.join(refused)}, which they "
            "do not have, and nothing is filled in for them. Operators these bars allow: "
            f"{', '.join(OPERATORS)} (windows {', '.join(map(str, WINDOWS))})"
        )
    if unknown:
        raise ConfigError(
            f"unknown features {unknown} for ranking a universe; features are an operator "
            f"({', '.join(OPERATORS)}) or operator_window with a window of "
            f"{', '.join(map(str, WINDOWS))} (e.g. roc_20)"
        )
    if not names:
        raise ConfigError("features is empty; leave it out to use the default set")
    return list(dict.fromkeys(names))


def _rolling_sum(x: np.ndarray, window: int) -> np.ndarray:
    """Sum over the last `window` rows (this one included); NaN where any is missing."""
    missing = np.isnan(x)
    total = np.cumsum(np.where(missing, 0.0, x), axis=0)
    out = np.full(x.shape, np.nan)
    out[window - 1] = total[window - 1]
    out[window:] = total[window:] - total[:-window]
    if missing.any():
        gaps = np.cumsum(missing, axis=0)
        gaps[window:] -= gaps[:-window].copy()
        out[gaps > 0] = np.nan
    return out


def _windows(x: np.ndarray, window: int) -> np.ndarray:
    """Strided view: row t holds rows t-window+1 .. t (oldest first) of each column."""
    return sliding_window_view(x, window, axis=0)


def _aligned(reduced: np.ndarray, window: int, rows: int) -> np.ndarray:
    out = np.full((rows, *reduced.shape[1:]), np.nan)
    out[window - 1 :] = reduced
    return out


class _Panel:
    """The closes and the series every operator shares, each computed once per panel."""

    def __init__(self, close: np.ndarray) -> None:
        self.close = close
        self.rows = close.shape[0]
        change = np.full(close.shape, np.nan)
        change[1:] = close[1:] - close[:-1]
        self.change = change
        returns = np.full(close.shape, np.nan)
        returns[1:] = close[1:] / close[:-1] - 1.0
        self.returns = returns
        self._series: dict[str, np.ndarray] = {}
        self._sums: dict[tuple[str, int], np.ndarray] = {}
        self._extremes: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._since: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._trends: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def mean(self, name: str, window: int) -> np.ndarray:
        """The rolling mean of series `name` over `window` bars."""
        key = (name, window)
        if key not in self._sums:
            self._sums[key] = _rolling_sum(self.series(name), window) / window
        return self._sums[key]

    def series(self, name: str) -> np.ndarray:
        """A series the operators average: per stock, or (time, the market) one column."""
        if name not in self._series:
            self._series[name] = self._make(name)
        return self._series[name]

    def _make(self, name: str) -> np.ndarray:
        c, r, change = self.close, self.returns, self.change
        known = ~np.isnan(r)
        match name:
            case "c":
                return c
            case "cc":
                return c * c
            case "t":
                return np.arange(self.rows, dtype=float)[:, None]
            case "tc":
                return self.series("t") * c
            case "r":
                return r
            case "rr":
                return r * r
            case "m":
                # The market: the universe's equal-weighted return (one column).
                return np.mean(r, axis=1, keepdims=True)
            case "mm":
                return self.series("m") ** 2
            case "rm":
                return r * self.series("m")
            case "up":
                return np.where(known, r > 0, np.nan)
            case "down":
                return np.where(known, r < 0, np.nan)
            case "gain":
                return np.where(known, np.maximum(change, 0.0), np.nan)
            case "move":
                return np.abs(change)
        raise KeyError(name)

    def trend(self, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Slope, R-squared and the last close's residual of the least-squares line through
        the window's closes (population moments: the window is the whole sample)."""
        if window not in self._trends:
            self._trends[window] = self._fit_trend(window)
        return self._trends[window]

    def _fit_trend(self, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        mean_t, mean_c = self.mean("t", window), self.mean("c", window)
        cov = self.mean("tc", window) - mean_t * mean_c
        var_t = (window * window - 1) / 12.0
        var_c = np.maximum(self.mean("cc", window) - mean_c * mean_c, 0.0)
        slope = cov / var_t
        with np.errstate(divide="ignore", invalid="ignore"):
            rsqr = np.where(var_c > _EPS, cov * cov / (var_t * var_c), 0.0)
        resid = self.close - mean_c - slope * (window - 1) / 2.0
        return slope, np.where(np.isnan(slope), np.nan, rsqr), resid

    def extremes(self, window: int) -> tuple[np.ndarray, np.ndarray]:
        """Highest and lowest close of the window."""
        if window not in self._extremes:
            # A filter centred `origin` bars later is a trailing window ending at this row.
            origin = (window - 1) // 2
            high = maximum_filter1d(self.close, window, axis=0, origin=origin)
            low = minimum_filter1d(self.close, window, axis=0, origin=origin)
            high[: window - 1] = low[: window - 1] = np.nan
            self._extremes[window] = high, low
        return self._extremes[window]

    @cached_property
    def _ordered(self) -> np.ndarray:
        """Each close's dense rank within its stock's history, times the rows, plus its row:
        ordering these keys orders (close, row), so a rolling maximum of them finds the
        window's highest close and, among equal ones, the latest."""
        order = np.argsort(self.close, axis=0, kind="stable")
        ordered = np.take_along_axis(self.close, order, axis=0)
        steps = np.vstack([np.zeros((1, ordered.shape[1])), np.diff(ordered, axis=0) != 0])
        ranks = np.empty(self.close.shape, dtype=np.int64)
        np.put_along_axis(ranks, order, np.cumsum(steps, axis=0).astype(np.int64), axis=0)
        return ranks * self.rows

    def bars_since(self, window: int) -> tuple[np.ndarray, np.ndarray]:
        """Bars since the window's highest close and since its lowest (the latest of equals)."""
        if window not in self._since:
            origin = (window - 1) // 2
            row = np.arange(self.rows, dtype=np.int64)[:, None]
            high_key = maximum_filter1d(self._ordered + row, window, axis=0, origin=origin)
            low_key = minimum_filter1d(
                self._ordered + (self.rows - 1 - row), window, axis=0, origin=origin
            )
            since_high = (row - high_key % self.rows).astype(float)
            since_low = (row - (self.rows - 1 - low_key % self.rows)).astype(float)
            since_high[: window - 1] = since_low[: window - 1] = np.nan
            self._since[window] = since_high, since_low
        return self._since[window]

    def feature(self, operator: str, window: int) -> np.ndarray:
        c, w = self.close, window
        match operator:
            case "roc":
                past = np.full(c.shape, np.nan)
                past[w:] = c[:-w]
                return c / past - 1.0
            case "ma":
                return self.mean("c", w) / c
            case "std":
                var = np.maximum(self.mean("cc", w) - self.mean("c", w) ** 2, 0.0)
                return np.sqrt(var * w / (w - 1)) / c
            case "beta":
                return self.trend(w)[0] / c
            case "rsqr":
                return self.trend(w)[1]
            case "resi":
                return self.trend(w)[2] / c
            case "max":
                return self.extremes(w)[0] / c
            case "min":
                return self.extremes(w)[1] / c
            case "qtlu" | "qtld":
                share = 0.8 if operator == "qtlu" else 0.2
                return _aligned(np.quantile(_windows(c, w), share, axis=-1), w, self.rows) / c
            case "rank":
                view = _windows(c, w)
                below = (view <= view[..., -1:]).mean(axis=-1)
                return _aligned(below, w, self.rows)
            case "rsv":
                high, low = self.extremes(w)
                return (c - low) / (high - low + _EPS)
            case "imax":
                return self.bars_since(w)[0] / w
            case "imin":
                return self.bars_since(w)[1] / w
            case "imxd":
                since_high, since_low = self.bars_since(w)
                return (since_low - since_high) / w
            case "corr":
                mean_r, mean_m = self.mean("r", w), self.mean("m", w)
                cov = self.mean("rm", w) - mean_r * mean_m
                var_r = self.mean("rr", w) - mean_r**2
                var_m = self.mean("mm", w) - mean_m**2
                varies = (var_r > _EPS) & (var_m > _EPS)
                corr = np.where(varies, cov / np.sqrt(np.where(varies, var_r * var_m, 1.0)), 0.0)
                return np.where(np.isnan(cov), np.nan, corr)
            case "cntp":
                return self.mean("up", w)
            case "cntn":
                return self.mean("down", w)
            case "cntd":
                return self.mean("up", w) - self.mean("down", w)
            case "sump" | "sumn" | "sumd":
                gain, move = self.mean("gain", w), self.mean("move", w)
                loss = move - gain
                part = {"sump": gain, "sumn": loss, "sumd": gain - loss}[operator]
                return part / (move + _EPS)
        raise ConfigError(f"unknown operator {operator!r}; operators are {', '.join(OPERATORS)}")


def normalise_by_date(values: np.ndarray) -> np.ndarray:
    """Each feature as a z-score across the stocks of each date, clipped at +-3; 0 where a
    date's stocks all have the same value. `values` is dates x features x stocks (stocks
    last, so each date's cross-section is contiguous); a feature missing for any stock on a
    date is missing for all of them that date (warm-up rows, which are dropped)."""
    mean = values.mean(axis=2, keepdims=True)
    std = values.std(axis=2, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (values - mean) / np.where(std > _EPS, std, np.inf)
    return np.clip(z, -Z_CLIP, Z_CLIP, out=z)


def panel_features(close: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """`names` for every stock and date of `close` (dates x stocks), normalised across stocks
    per date: a dates x stocks x features array, NaN during each window's warm-up."""
    panel = _Panel(np.asarray(close, dtype=float))
    dates, stocks = panel.close.shape
    raw = np.empty((dates, len(names), stocks))
    with np.errstate(divide="ignore", invalid="ignore"):
        for k, name in enumerate(names):
            operator, window = name.rsplit("_", 1)
            raw[:, k, :] = panel.feature(operator, int(window))
    raw[~np.isfinite(raw)] = np.nan
    return normalise_by_date(raw).transpose(0, 2, 1)
