"""The ledger: every trial with its config, data fingerprint, metrics, timings, seed and code
version; every dataset's locked holdout and the content of its bars (which `engine/datasets.py`
matches new bars against); every look at a holdout. SQLite (WAL), so several processes can
record at once.

Selection-segment predictions and daily strategy returns are stored too, so a trial can be
re-evaluated (other costs), trials compared on the same days, and the probability of backtest
overfitting computed, all without retraining. A trial carries the session and tool call that
made it, so a resumed session adopts a trial its killed run already recorded instead of
training it twice.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from mltrainer.engine.errors import HoldoutAlreadyScored
from mltrainer.engine.store import connected, copy_rows, ensure_schema, transaction
from mltrainer.engine.targets.registry import DEFAULT_TARGET
from mltrainer.engine.trial import TrialResult

_TABLES = """
CREATE TABLE IF NOT EXISTS trials (
    trial INTEGER PRIMARY KEY AUTOINCREMENT,
    model_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    symbol TEXT NOT NULL,
    model TEXT NOT NULL,
    source TEXT NOT NULL,
    synthetic INTEGER NOT NULL,
    data_fingerprint TEXT NOT NULL,
    seed INTEGER NOT NULL,
    code_version TEXT NOT NULL,
    selection_accuracy REAL NOT NULL,
    best_baseline REAL NOT NULL,
    p_value REAL NOT NULL,
    sharpe REAL NOT NULL,
    buy_hold_sharpe REAL NOT NULL,
    config TEXT NOT NULL,
    result TEXT NOT NULL,
    predictions TEXT NOT NULL,
    session TEXT,
    call_id TEXT,
    dataset TEXT,
    window_start TEXT,
    window_end TEXT,
    model_path TEXT,
    model_sha256 TEXT,
    active_sharpe REAL,
    return_t REAL,
    return_p_value REAL
);
CREATE TABLE IF NOT EXISTS datasets (
    dataset TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    symbol TEXT NOT NULL,
    kind TEXT NOT NULL,
    holdout_start TEXT NOT NULL,
    holdout_end TEXT NOT NULL,
    holdout_rows INTEGER NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dataset_content (
    dataset TEXT PRIMARY KEY,
    first_day TEXT NOT NULL,
    last_day TEXT NOT NULL,
    content BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS dataset_months (
    month_key TEXT NOT NULL,
    dataset TEXT NOT NULL,
    PRIMARY KEY (month_key, dataset)
);
CREATE TABLE IF NOT EXISTS holdout_looks (
    look INTEGER PRIMARY KEY AUTOINCREMENT,
    dataset TEXT NOT NULL,
    trial INTEGER NOT NULL,
    session TEXT,
    call_id TEXT,
    created_at TEXT NOT NULL,
    result TEXT NOT NULL
);
"""
_INDEXES = """
CREATE INDEX IF NOT EXISTS trials_model_id ON trials (model_id);
CREATE INDEX IF NOT EXISTS trials_symbol ON trials (symbol);
CREATE INDEX IF NOT EXISTS trials_dataset ON trials (dataset, window_start, window_end);
CREATE UNIQUE INDEX IF NOT EXISTS trials_call ON trials (session, call_id)
    WHERE session IS NOT NULL AND call_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS looks_dataset ON holdout_looks (dataset);
CREATE INDEX IF NOT EXISTS looks_session ON holdout_looks (session);
CREATE INDEX IF NOT EXISTS content_days ON dataset_content (first_day, last_day);
CREATE UNIQUE INDEX IF NOT EXISTS looks_call ON holdout_looks (session, call_id)
    WHERE session IS NOT NULL AND call_id IS NOT NULL;
"""
_ADDED_COLUMNS = (
    "call_id",
    "dataset",
    "window_start",
    "window_end",
    "model_path",
    "model_sha256",
    "active_sharpe",
    "return_t",
    "return_p_value",
)

_REAL_COLUMNS = frozenset({"return_t", "return_p_value"})


def _migrate(connection: sqlite3.Connection) -> None:
    """Ledgers written before the selection/holdout split: rename the accuracy column, add the
    new ones, and count their trials as tries on their dataset (they have no window)."""
    columns = {row[1] for row in connection.execute("PRAGMA table_info(trials)")}
    if "test_accuracy" in columns:
        connection.execute("ALTER TABLE trials RENAME COLUMN test_accuracy TO selection_accuracy")
    for column in _ADDED_COLUMNS:
        if column not in columns:
            kind = "REAL" if column in _REAL_COLUMNS else "TEXT"
            connection.execute(f"ALTER TABLE trials ADD COLUMN {column} {kind}")
    connection.execute(
        "UPDATE trials SET dataset = source || ':' || symbol || ':bars' WHERE dataset IS NULL"
    )


def _absent(value: Any) -> bool:
    return value is None


class TrialPredictions(BaseModel):
    """The selection segment as the model saw it: enough to recompute every selection metric.

    One row per scored day, or for a cross-sectional target one per stock and date (`symbols`
    then names each row's stock, and the strategies' returns are one per date). Labels and
    forecasts are 0/1 calls for a classifier, numbers for a regression.
    """

    dates: list[str]
    y_true: list[int] | list[float]
    y_pred: list[int] | list[float]
    proba_up: list[float] | None
    next_return: list[float]
    strategy_return: list[float] | None = None
    buy_hold_return: list[float] | None = None
    symbols: list[str] | None = Field(default=None, exclude_if=_absent)
    fit_mean: float | None = Field(
        default=None,
        exclude_if=_absent,
        description="the mean label over the rows the model was fitted on: return's "
        "historical-mean forecast",
    )
    horizon: int | None = Field(
        default=None,
        exclude_if=_absent,
        description="bars each label looks ahead, so tests count non-overlapping ones",
    )

    def traded_dates(self) -> list[str]:
        """The dates the strategies' returns are for: every row's, or each date once when
        rows are stocks on dates."""
        return self.dates if self.symbols is None else list(dict.fromkeys(self.dates))

    def active_return(self) -> list[float] | None:
        """Long/flat's daily return over buy-and-hold's on the same days, after costs."""
        if self.strategy_return is None or self.buy_hold_return is None:
            return None
        return [s - b for s, b in zip(self.strategy_return, self.buy_hold_return, strict=True)]

    def every(self, step: int) -> TrialPredictions:
        """Every `step`-th recorded day, starting with the first: the days whose `step`-bar
        labels do not overlap."""
        if step <= 1:
            return self
        if self.symbols is None:
            picked = {name: v[::step] if isinstance(v, list) else v for name, v in self}
            return TrialPredictions.model_validate(picked)
        # Rows are stocks on dates: keep every row of every `step`-th date; the strategies'
        # returns are one per date.
        dates = self.traded_dates()
        kept = set(dates[::step])
        rows = [i for i, day in enumerate(self.dates) if day in kept]
        per_date = [i for i, day in enumerate(dates) if day in kept]

        def pick(value: Any) -> Any:
            if not isinstance(value, list):
                return value
            return [value[i] for i in (rows if len(value) == len(self.dates) else per_date)]

        return TrialPredictions.model_validate({name: pick(value) for name, value in self})


class LedgerRow(BaseModel):
    trial: int
    model_id: str
    created_at: str
    symbol: str
    model: str
    source: str
    synthetic: bool
    selection_accuracy: float
    best_baseline: float
    p_value: float
    sharpe: float
    buy_hold_sharpe: float
    session: str | None
    dataset: str | None = None
    return_baseline: str | None = Field(default=None, description="the best baseline strategy")
    excess_sharpe: float | None = None
    return_t: float | None = None
    return_p_value: float | None = None


class DatasetRow(BaseModel):
    """A dataset's locked holdout: every bar on or after `holdout_start`."""

    dataset: str
    source: str
    symbol: str
    kind: str
    holdout_start: date
    holdout_end: date
    holdout_rows: int
    created_at: str


class TryRow(BaseModel):
    """One try on a dataset, as the selection statistics need it."""

    trial: int
    model_id: str = Field(description="a hash of its configuration and data")
    target: str = Field(description="the research target it predicted")
    horizon: int = Field(default=1, description="bars ahead it predicted")
    p_value: float
    return_t: float | None = Field(
        default=None, description="the return test's t (None: recorded before there was one)"
    )
    return_p_value: float | None = None
    sharpe: float
    active_sharpe: float | None
    window_start: str | None
    window_end: str | None
    session: str | None


class Look(BaseModel):
    look: int = Field(description="the ledger's row id, across every dataset")
    number: int = Field(description="its place among the looks at its dataset's holdout (1: first)")
    dataset: str
    trial: int
    session: str | None
    call_id: str | None
    created_at: str
    result: dict[str, Any]


# Every look with its place among the looks at its dataset's holdout.
_NUMBERED_LOOKS = (
    "SELECT *, ROW_NUMBER() OVER (PARTITION BY dataset ORDER BY look) AS number FROM holdout_looks"
)


def _where(symbol: str | None, session: str | None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    if symbol:
        clauses.append("symbol = ?")
        args.append(symbol.upper())
    if session:
        clauses.append("session = ?")
        args.append(session)
    return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), args


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# SQLite integers are 64-bit; a larger id can only be a typo, and must not raise OverflowError.
_MAX_ID = 2**63 - 1


class Ledger:
    """Opens a connection per operation, so one Ledger is safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        ensure_schema(self.path, _TABLES, _migrate, _INDEXES)

    def adopt_history(
        self,
        reader: sqlite3.Connection,
        *,
        datasets: Collection[str],
        before: str,
        session: str | None,
    ) -> None:
        """Copy from another ledger (`reader`, a connection to it) every dataset's locked
        holdout and the content it is recognised by, and the tries and looks on `datasets`
        that other sessions than `session` recorded before `before` (an ISO time), keeping
        their numbers: this ledger is then the other as a session found those datasets when
        it began."""
        keys = sorted(datasets)
        marks = ", ".join("?" * len(keys))
        earlier = f"WHERE dataset IN ({marks}) AND created_at < ? AND session IS NOT ?"
        with connected(self.path) as writer, transaction(writer):
            for table in ("datasets", "dataset_content", "dataset_months"):
                copy_rows(reader, writer, table)
            if keys:
                copy_rows(reader, writer, "trials", earlier, [*keys, before, session])
                copy_rows(reader, writer, "holdout_looks", earlier, [*keys, before, session])

    # -- trials ---------------------------------------------------------------------------
    def record(
        self,
        result: TrialResult,
        predictions: TrialPredictions,
        *,
        session: str | None = None,
        call_id: str | None = None,
    ) -> int:
        """Insert one trial in a single transaction; returns its trial number.

        A (session, call_id) pair is recorded once: a second insert of the same tool call
        returns the trial already there.
        """
        used = result.dataset.used
        row = (
            result.model_id,
            _now(),
            result.symbol,
            result.model,
            result.provenance.source,
            int(result.synthetic),
            result.dataset.used_hash,
            result.seed,
            result.code_version,
            result.selection_accuracy,
            result.baselines.best_score,
            result.baselines.p_value,
            result.backtest.long_flat.sharpe,
            result.backtest.buy_and_hold.sharpe,
            result.config.model_dump_json(),
            result.model_dump_json(),
            predictions.model_dump_json(),
            session,
            call_id,
            result.dataset.key,
            used.start.isoformat(),
            used.end.isoformat(),
            result.model_path,
            result.model_sha256,
            result.backtest.active_sharpe,
            None if result.return_test is None else result.return_test.t_stat,
            None if result.return_test is None else result.return_test.p_value,
        )
        with connected(self.path) as connection, transaction(connection):
            if session is not None and call_id is not None:
                existing = connection.execute(
                    "SELECT trial FROM trials WHERE session = ? AND call_id = ?",
                    (session, call_id),
                ).fetchone()
                if existing is not None:
                    return int(existing[0])
            cursor = connection.execute(
                "INSERT INTO trials (model_id, created_at, symbol, model, source, synthetic, "
                "data_fingerprint, seed, code_version, selection_accuracy, best_baseline, "
                "p_value, sharpe, buy_hold_sharpe, config, result, predictions, session, "
                "call_id, dataset, window_start, window_end, model_path, model_sha256, "
                "active_sharpe, return_t, return_p_value) "
                f"VALUES ({', '.join('?' * len(row))})",
                row,
            )
            trial = cursor.lastrowid
        assert trial is not None
        return trial

    def trial_for_call(self, session: str, call_id: str) -> int | None:
        """The trial a tool call of a session already recorded (a resumed session adopts it)."""
        with connected(self.path) as connection:
            row = connection.execute(
                "SELECT trial FROM trials WHERE session = ? AND call_id = ?", (session, call_id)
            ).fetchone()
        return None if row is None else int(row[0])

    def model_paths(self) -> set[str]:
        with connected(self.path) as connection:
            return {
                str(r[0])
                for r in connection.execute(
                    "SELECT model_path FROM trials WHERE model_path IS NOT NULL"
                )
            }

    def rows(
        self, *, limit: int | None = 50, symbol: str | None = None, session: str | None = None
    ) -> list[LedgerRow]:
        """Newest first; `limit=None` returns every matching row."""
        where, args = _where(symbol, session)
        query = (
            "SELECT trial, model_id, created_at, symbol, model, source, synthetic, "
            "selection_accuracy, best_baseline, p_value, sharpe, buy_hold_sharpe, session, "
            "dataset, return_t, return_p_value, "
            "json_extract(result, '$.return_test.baseline') AS return_baseline, "
            "json_extract(result, '$.return_test.excess_sharpe') AS excess_sharpe "
            f"FROM trials {where} ORDER BY trial DESC"
        )
        if limit is not None:
            query += " LIMIT ?"
            args.append(limit)
        with connected(self.path) as connection:
            return [LedgerRow(**dict(r)) for r in connection.execute(query, args)]

    def _find(self, key: str | int) -> Any:
        with connected(self.path) as connection:
            if isinstance(key, int) or (str(key).isascii() and str(key).isdigit()):
                number = int(key)
                if not 0 < number <= _MAX_ID:
                    return None
                return connection.execute(
                    "SELECT * FROM trials WHERE trial = ?", (number,)
                ).fetchone()
            return connection.execute(
                "SELECT * FROM trials WHERE model_id = ? ORDER BY trial DESC LIMIT 1", (key,)
            ).fetchone()

    def result(self, key: str | int) -> dict[str, Any] | None:
        """A trial's full result by trial number or model id (latest run of that model id)."""
        row = self._find(key)
        if row is None:
            return None
        result: dict[str, Any] = json.loads(row["result"])
        result["trial"] = row["trial"]
        result["session"] = row["session"]
        return result

    def predictions(self, key: str | int) -> TrialPredictions | None:
        row = self._find(key)
        return None if row is None else TrialPredictions.model_validate_json(row["predictions"])

    def symbols(self) -> set[str]:
        """Every symbol a trial was recorded on."""
        with connected(self.path) as connection:
            return {str(r[0]) for r in connection.execute("SELECT DISTINCT symbol FROM trials")}

    def count(self, *, symbol: str | None = None, session: str | None = None) -> int:
        where, args = _where(symbol, session)
        with connected(self.path) as connection:
            return int(
                connection.execute(f"SELECT COUNT(*) FROM trials {where}", args).fetchone()[0]
            )

    def tries(self, dataset: str) -> list[TryRow]:
        """Every trial ever recorded on a dataset, oldest first, from any session or window."""
        with connected(self.path) as connection:
            return [
                TryRow(**dict(r))
                for r in connection.execute(
                    "SELECT trial, model_id, p_value, sharpe, active_sharpe, window_start, "
                    "window_end, session, return_t, return_p_value, "
                    "COALESCE(json_extract(config, '$.target'), ?) AS target, "
                    "COALESCE(json_extract(config, '$.horizon'), 1) AS horizon "
                    "FROM trials WHERE dataset = ? ORDER BY trial",
                    (DEFAULT_TARGET, dataset),
                )
            ]

    # -- datasets and holdout looks -------------------------------------------------------
    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, for work that must read and write as one step (binding
        bars to a dataset: `engine/datasets.py`)."""
        with connected(self.path) as connection, transaction(connection):
            yield connection

    def dataset(self, key: str) -> DatasetRow | None:
        with connected(self.path) as connection:
            row = connection.execute("SELECT * FROM datasets WHERE dataset = ?", (key,)).fetchone()
        return None if row is None else DatasetRow(**dict(row))

    def look_count(self, key: str) -> int:
        """How often a dataset's holdout was scored, all sessions."""
        with connected(self.path) as connection:
            return int(
                connection.execute(
                    "SELECT COUNT(*) FROM holdout_looks WHERE dataset = ?", (key,)
                ).fetchone()[0]
            )

    def record_look(
        self,
        dataset: str,
        trial: int,
        result: dict[str, Any],
        *,
        session: str | None,
        call_id: str | None,
        again: bool,
        finish: Callable[[Look, list[Look]], dict[str, Any]],
    ) -> Look:
        """Count one look at a dataset's holdout, in one transaction with the check that
        allows it: without `again`, a holdout another call already scored raises
        `HoldoutAlreadyScored` and nothing is written. `finish(look, family)` gives the result
        to store once it is known which look this is and which looks it is adjusted with
        (`family_of`). The same tool call of a session is counted once: its stored look."""
        with connected(self.path) as connection, transaction(connection):
            if session is not None and call_id is not None:
                done = connection.execute(
                    f"SELECT * FROM ({_NUMBERED_LOOKS}) WHERE session = ? AND call_id = ?",
                    (session, call_id),
                ).fetchone()
                if done is not None:
                    return _look(done)
            first = connection.execute(
                f"SELECT * FROM ({_NUMBERED_LOOKS}) WHERE dataset = ? ORDER BY look LIMIT 1",
                (dataset,),
            ).fetchone()
            if first is not None and not again:
                raise already_scored(_look(first))
            cursor = connection.execute(
                "INSERT INTO holdout_looks (dataset, trial, session, call_id, created_at, result) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (dataset, trial, session, call_id, _now(), json.dumps(result, default=str)),
            )
            inserted = _look(
                connection.execute(
                    f"SELECT * FROM ({_NUMBERED_LOOKS}) WHERE look = ?", (cursor.lastrowid,)
                ).fetchone()
            )
            stored = finish(inserted, _family(connection, inserted))
            connection.execute(
                "UPDATE holdout_looks SET result = ? WHERE look = ?",
                (json.dumps(stored, default=str), inserted.look),
            )
        return inserted.model_copy(update={"result": stored})

    def family_of(self, look: Look) -> list[Look]:
        """The looks a look's holdout p-values are adjusted over, oldest first: every look at
        its holdout (any session) and every look its session made (at any holdout)."""
        with connected(self.path) as connection:
            return _family(connection, look)

    def looks(self, dataset: str | None = None, *, session: str | None = None) -> list[Look]:
        """Looks at a dataset's holdout, or a session's, or all; oldest first."""
        clauses, args = [], []
        if dataset is not None:
            clauses.append("dataset = ?")
            args.append(dataset)
        if session is not None:
            clauses.append("session = ?")
            args.append(session)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with connected(self.path) as connection:
            rows = connection.execute(
                f"SELECT * FROM ({_NUMBERED_LOOKS}) {where} ORDER BY look", args
            ).fetchall()
        return [_look(r) for r in rows]

    def look_for_call(self, session: str, call_id: str) -> Look | None:
        with connected(self.path) as connection:
            row = connection.execute(
                f"SELECT * FROM ({_NUMBERED_LOOKS}) WHERE session = ? AND call_id = ?",
                (session, call_id),
            ).fetchone()
        return None if row is None else _look(row)


def already_scored(first: Look) -> HoldoutAlreadyScored:
    """The refusal of a look at a holdout that `first` scored."""
    return HoldoutAlreadyScored(
        dataset=first.dataset, trial=first.trial, session=first.session, when=first.created_at
    )


def _look(row: sqlite3.Row) -> Look:
    return Look(**{**dict(row), "result": json.loads(row["result"])})


def _family(connection: sqlite3.Connection, look: Look) -> list[Look]:
    rows = connection.execute(
        f"SELECT * FROM ({_NUMBERED_LOOKS}) "
        "WHERE dataset = ? OR (session IS NOT NULL AND session = ?) "
        "ORDER BY look",
        (look.dataset, look.session),
    ).fetchall()
    return [_look(r) for r in rows]
