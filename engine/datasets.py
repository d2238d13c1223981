"""Which locked dataset a set of bars is: decided by their content, not their name.

Bars whose daily returns match a dataset already in the ledger (on the days before its holdout,
or on the holdout's days) are that dataset, whatever symbol or source they come under: they get
its holdout boundary, and their trials and looks count on it. Bars that match nothing are a new
dataset under their name; bars that reuse a name whose stored bars they contradict are another
dataset, under that name with `#2`, `#3`, ... A name of a registered source (`sample:SPX`)
also holds a dataset whose stored bars do not overlap the new ones (another range of the same
symbol); a caller's or a file's name is only a label and holds nothing by itself.

Runs inside one ledger transaction (`Ledger.writing()`), so processes binding the same new
bars at once agree. `bind` takes any content: a panel of a universe binds the same way, with
`Fingerprint.of(closes)` of its symbols in a fixed order and its own holdout proposal.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mltrainer.engine.fingerprint import MIN_SHARED_RETURNS, Agreement, Fingerprint
from mltrainer.engine.ledger import DatasetRow

# SQLite's limit on bound parameters is 32766 on current builds and 999 on old ones.
_CHUNK = 900


@dataclass(frozen=True)
class Binding:
    """The dataset bars belong to, and why, when that is not their own name's."""

    dataset: DatasetRow
    note: str | None


def bind(
    connection: sqlite3.Connection,
    content: Fingerprint,
    name_key: str,
    *,
    trust_name: bool,
    propose: Callable[[str], DatasetRow],
) -> Binding:
    """The dataset `content` belongs to; a new one (its holdout from `propose(key)`) when it
    matches none. The content is remembered for the dataset it was bound to, so the same bars
    are found at once next time, under any name."""
    stored = _Stored(connection)
    matches = stored.matching(content, stored.indexed(content.month_keys()))
    if not matches:
        matches = stored.matching(content, stored.overlapping(content))
    if matches:
        # The name's own dataset (or one it forked) if it is among them; else the best match,
        # the older lock among equals (the name that was there first keeps the data).
        named = [key for key in matches if _named(key, name_key)]
        key = min(named or matches, key=lambda k: matches[k][0])
        agreement = matches[key][1]
        note = None
        if not _named(key, name_key):
            row = stored.row(key)
            note = (
                f"these bars match the locked dataset {key} ({agreement.agreeing} of "
                f"{agreement.shared} daily returns agree within 0.1%), so they are that "
                f"dataset under another name: its holdout from {row.holdout_start}, its tries "
                "and its looks apply"
            )
        return Binding(stored.remember(key, content), note)
    if stored.row_or_none(name_key) is not None:
        own = stored.content(name_key)
        agreement = Agreement(0, 0) if own is None else own.agreement(content)
        # A registered source's symbol holds its dataset over days too few to contradict it.
        if own is None or (trust_name and agreement.shared < MIN_SHARED_RETURNS):
            return Binding(stored.remember(name_key, content), None)
        key = stored.free_key(name_key)
        note = (
            f"these bars differ from the bars locked as {name_key} (only {agreement.agreeing} "
            f"of {agreement.shared} shared daily returns agree within 0.1%), so they are "
            f"another dataset, {key}, with a holdout of its own"
        )
    else:
        key, note = name_key, None
    stored.insert(propose(key))
    return Binding(stored.remember(key, content), note)


def _named(key: str, name_key: str) -> bool:
    """`key` is the dataset stored under `name_key`, or one of its forks (`name_key#2`)."""
    return key == name_key or key.startswith(f"{name_key}#")


def segments_agreement(row: DatasetRow, stored: Fingerprint, content: Fingerprint) -> Agreement:
    """The better of the agreements before the holdout and on it: bars revised or edited in
    one segment are still the same dataset when the other matches."""
    before = stored.agreement(content, until=row.holdout_start - timedelta(days=1))
    on = stored.agreement(content, since=row.holdout_start)
    candidates = [a for a in (before, on) if a.same_data]
    if not candidates:
        return before if before.shared >= on.shared else on
    return max(candidates, key=lambda a: a.agreeing)


class _Stored:
    """The ledger's datasets and their contents, read once per binding."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self._contents: dict[str, Fingerprint | None] = {}

    def row_or_none(self, key: str) -> DatasetRow | None:
        found = self.connection.execute(
            "SELECT * FROM datasets WHERE dataset = ?", (key,)
        ).fetchone()
        return None if found is None else DatasetRow(**dict(found))

    def row(self, key: str) -> DatasetRow:
        row = self.row_or_none(key)
        assert row is not None, key
        return row

    def content(self, key: str) -> Fingerprint | None:
        if key not in self._contents:
            found = self.connection.execute(
                "SELECT content FROM dataset_content WHERE dataset = ?", (key,)
            ).fetchone()
            self._contents[key] = None if found is None else Fingerprint.from_bytes(found[0])
        return self._contents[key]

    def indexed(self, month_keys: list[str]) -> list[str]:
        """Datasets that share a month of returns with the content: the fast path."""
        found: set[str] = set()
        for start in range(0, len(month_keys), _CHUNK):
            chunk = month_keys[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            found.update(
                r[0]
                for r in self.connection.execute(
                    f"SELECT DISTINCT dataset FROM dataset_months WHERE month_key IN ({marks})",
                    chunk,
                )
            )
        return sorted(found)

    def overlapping(self, content: Fingerprint) -> list[str]:
        """Every dataset whose stored dates overlap the content's: bars that are the same data
        with every month a little different (rounded, adjusted) are found here."""
        if content.first_day is None or content.last_day is None:
            return []
        return [
            r[0]
            for r in self.connection.execute(
                "SELECT dataset FROM dataset_content WHERE first_day <= ? AND last_day >= ? "
                "ORDER BY dataset",
                (content.last_day.isoformat(), content.first_day.isoformat()),
            )
        ]

    def matching(
        self, content: Fingerprint, keys: list[str]
    ) -> dict[str, tuple[tuple[int, str], Agreement]]:
        """The candidates the content is the same data as, each with its rank (lower first:
        more agreeing days, then the older lock) and its agreement."""
        matches = {}
        for key in keys:
            stored = self.content(key)
            row = self.row_or_none(key)
            if stored is None or row is None:
                continue
            agreement = segments_agreement(row, stored, content)
            if agreement.same_data:
                matches[key] = ((-agreement.agreeing, row.created_at), agreement)
        return matches

    def free_key(self, name_key: str) -> str:
        number = 2
        while self.row_or_none(f"{name_key}#{number}") is not None:
            number += 1
        return f"{name_key}#{number}"

    def insert(self, row: DatasetRow) -> None:
        self.connection.execute(
            "INSERT INTO datasets (dataset, source, symbol, kind, holdout_start, holdout_end, "
            "holdout_rows, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row.dataset,
                row.source,
                row.symbol,
                row.kind,
                row.holdout_start.isoformat(),
                row.holdout_end.isoformat(),
                row.holdout_rows,
                datetime.now(UTC).isoformat(timespec="seconds"),
            ),
        )

    def remember(self, key: str, content: Fingerprint) -> DatasetRow:
        """Store the content for `key` (or add the days it did not have yet) and index its
        months, so the same bars are found by their keys next time."""
        stored = self.content(key)
        merged = content if stored is None else stored.merged(content)
        if merged is not stored and merged.first_day is not None and merged.last_day is not None:
            self.connection.execute(
                "INSERT OR REPLACE INTO dataset_content (dataset, first_day, last_day, content) "
                "VALUES (?, ?, ?, ?)",
                (key, merged.first_day.isoformat(), merged.last_day.isoformat(), merged.to_bytes()),
            )
            self._contents[key] = merged
        self.connection.executemany(
            "INSERT OR IGNORE INTO dataset_months (month_key, dataset) VALUES (?, ?)",
            [(month, key) for month in content.month_keys()],
        )
        return self.row(key)
