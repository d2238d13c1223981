"""A dataset's content over its dates, independent of its name, its source and its scale: the
log closes per trading day (one column per series, so a panel of a universe is one content).

Two contents are the same data when their daily log returns agree on the days both have: a
price scaled by any factor, rounded to cents, started on another day, or served under another
symbol has the same returns. `month_keys` index the content so the ledger finds a candidate
without reading every stored content; `agreement` is the test that decides.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

# Two daily log returns agree when they differ by at most 0.1% (10 bp): rounding a price of $5
# or more to cents moves a return by less, while two different series rarely stay that close
# (S&P 500 and NASDAQ Composite, 1999-2018: 20% of days; see docs/methodology.md).
RETURN_TOLERANCE = 1e-3
# The share of shared days that must agree, and how many shared returns a verdict needs.
AGREEING_SHARE = 0.95
MIN_SHARED_RETURNS = 20
# A return smaller than this in both series (a price that did not move) says nothing about
# which series it is, so it is left out of the count.
FLAT = 1e-9
# Month keys round returns to this many decimals, so a price scaled by any factor (which moves
# a log return by a few units of the 16th decimal) keeps its keys.
_KEY_DECIMALS = 8
_EPOCH = np.datetime64("1970-01-01", "D")


@dataclass(frozen=True)
class Agreement:
    """How two contents compare on the days both have."""

    shared: int
    agreeing: int

    @property
    def share(self) -> float:
        return self.agreeing / self.shared if self.shared else 0.0

    @property
    def same_data(self) -> bool:
        return self.shared >= MIN_SHARED_RETURNS and self.share >= AGREEING_SHARE


@dataclass(frozen=True)
class Fingerprint:
    """`days`: trading days as days since 1970-01-01, ascending; `log_closes`: one row per day,
    one column per series (in the caller's fixed order, e.g. sorted symbols for a panel)."""

    days: np.ndarray
    log_closes: np.ndarray

    @classmethod
    def of(cls, closes: pd.Series | pd.DataFrame) -> Fingerprint:
        """The content of daily closes indexed by date. Days where a close is missing or not
        positive are left out (a log needs a positive price)."""
        frame = closes.to_frame() if isinstance(closes, pd.Series) else closes
        values = frame.to_numpy(dtype=float)
        valid = np.all(np.isfinite(values) & (values > 0), axis=1)
        index = pd.DatetimeIndex(frame.index)[valid]
        days = (index.to_numpy().astype("datetime64[D]") - _EPOCH).astype(np.int64)
        return cls(days, np.log(values[valid]))

    @property
    def series(self) -> int:
        return int(self.log_closes.shape[1])

    @property
    def first_day(self) -> date | None:
        return _date(self.days[0]) if len(self.days) else None

    @property
    def last_day(self) -> date | None:
        return _date(self.days[-1]) if len(self.days) else None

    def month_keys(self) -> list[str]:
        """One key per calendar month: a hash of its trading days and their log returns (the
        first day of the content has none, so its month's key is not one a later start shares)."""
        if len(self.days) < 2:
            return []
        returns = np.round(np.diff(self.log_closes, axis=0), _KEY_DECIMALS) + 0.0
        days = self.days[1:]
        months = (days.astype("datetime64[D]").astype("datetime64[M]")).astype(np.int64)
        keys = []
        for month in np.unique(months):
            rows = months == month
            digest = hashlib.sha256(days[rows].tobytes())
            digest.update(returns[rows].tobytes())
            digest.update(str(self.series).encode())
            keys.append(digest.hexdigest()[:24])
        return keys

    def agreement(
        self, other: Fingerprint, *, since: date | None = None, until: date | None = None
    ) -> Agreement:
        """Daily log returns on the days both contents have (between `since` and `until`,
        inclusive, when given), computed from one shared day to the next, so a day one of them
        lacks does not misalign the rest."""
        if self.series != other.series:
            return Agreement(0, 0)
        shared, mine, theirs = np.intersect1d(self.days, other.days, return_indices=True)
        if len(shared) < 2:
            return Agreement(0, 0)
        a = np.diff(self.log_closes[mine], axis=0)
        b = np.diff(other.log_closes[theirs], axis=0)
        ends = shared[1:]
        keep = np.ones(len(ends), dtype=bool)
        if since is not None:
            keep &= ends >= _day(since)
        if until is not None:
            keep &= ends <= _day(until)
        a, b = a[keep], b[keep]
        informative = (np.abs(a) > FLAT) | (np.abs(b) > FLAT)
        agreeing = (np.abs(a - b) <= RETURN_TOLERANCE) & informative
        return Agreement(int(informative.sum()), int(agreeing.sum()))

    def merged(self, other: Fingerprint) -> Fingerprint:
        """This content with the days only `other` has added (a longer history of the same
        data), `other`'s log closes shifted to this content's level on their first shared day,
        so returns across the seam are the data's own. Without a shared day it is unchanged."""
        new = ~np.isin(other.days, self.days)
        if not new.any() or self.series != other.series:
            return self
        shared, mine, theirs = np.intersect1d(self.days, other.days, return_indices=True)
        if len(shared) == 0:
            return self
        shift = self.log_closes[mine[0]] - other.log_closes[theirs[0]]
        days = np.concatenate([self.days, other.days[new]])
        closes = np.concatenate([self.log_closes, other.log_closes[new] + shift])
        order = np.argsort(days, kind="stable")
        return Fingerprint(days[order], closes[order])

    def to_bytes(self) -> bytes:
        header = np.array([len(self.days), self.series], dtype=np.int64)
        return (
            header.tobytes()
            + self.days.astype(np.int64).tobytes()
            + (self.log_closes.astype(np.float64).tobytes())
        )

    @classmethod
    def from_bytes(cls, blob: bytes) -> Fingerprint:
        rows, series = (int(v) for v in np.frombuffer(blob[:16], dtype=np.int64))
        days = np.frombuffer(blob[16 : 16 + 8 * rows], dtype=np.int64)
        closes = np.frombuffer(blob[16 + 8 * rows :], dtype=np.float64).reshape(rows, series)
        return cls(days, closes)


def _date(day: np.integer) -> date:
    value: date = (_EPOCH + np.timedelta64(int(day), "D")).astype(object)
    return value


def _day(value: date) -> int:
    return int((np.datetime64(value, "D") - _EPOCH).astype(np.int64))
