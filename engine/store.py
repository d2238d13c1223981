"""The one SQLite database under the data home: connections in WAL mode, safe across processes."""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path

from mltrainer.engine.errors import DataHomeError
from mltrainer.engine.settings import data_home_error


def connect(path: Path) -> sqlite3.Connection:
    """Open the database with WAL and a busy timeout so several processes can write in turn."""
    connection: sqlite3.Connection | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=30.0, isolation_level=None)
        connection.execute("PRAGMA busy_timeout=30000")
        _use_wal(connection)
    except OSError as error:
        raise data_home_error(path, error) from error
    except sqlite3.DatabaseError as error:
        if connection is not None:
            connection.close()
        if "locked" in str(error):
            raise
        raise DataHomeError(
            f"cannot open the database {path}: {error}; it must be an SQLite file mltrainer "
            "wrote, in a folder you can write to (set MLTRAINER_HOME to move the data home)"
        ) from error
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.row_factory = sqlite3.Row
    return connection


def _use_wal(connection: sqlite3.Connection, attempts: int = 100) -> None:
    """Switch a new database to WAL. The switch needs the database to itself for a moment and
    SQLite reports "locked" at once instead of calling the busy handler, so processes that
    open a new database together retry briefly. WAL is stored in the file: later opens skip it.
    """
    for attempt in range(attempts):
        try:
            if connection.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
                return
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == attempts - 1:
                raise
            time.sleep(0.01 + random.random() * 0.04)


@contextmanager
def connected(path: Path) -> Iterator[sqlite3.Connection]:
    """One connection per operation: objects holding a path, not a connection, are safe to share
    between threads."""
    with closing(connect(path)) as opened:
        yield opened


@contextmanager
def read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection that cannot write to the database at `path` (SQLite's `mode=ro`): for
    copying out of a data home that must stay exactly as it is."""
    try:
        opened = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0)
    except sqlite3.OperationalError as error:
        raise DataHomeError(f"cannot read the database {path}: {error}") from error
    opened.row_factory = sqlite3.Row
    with closing(opened):
        yield opened


def copy_rows(
    reader: sqlite3.Connection,
    writer: sqlite3.Connection,
    table: str,
    where: str = "",
    args: Sequence[object] = (),
) -> int:
    """Insert the rows of `table` that `reader` holds (those matching `where`) into the same
    table through `writer`, column by column where both have the column; returns how many.
    A table `reader` does not have yet copies nothing."""
    if not reader.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone():
        return 0
    theirs = [row[1] for row in reader.execute(f"PRAGMA table_info({table})")]
    ours = {row[1] for row in writer.execute(f"PRAGMA table_info({table})")}
    columns = ", ".join(c for c in theirs if c in ours)
    rows = reader.execute(f"SELECT {columns} FROM {table} {where}", tuple(args)).fetchall()
    marks = ", ".join("?" * len(columns.split(", ")))
    writer.executemany(f"INSERT OR IGNORE INTO {table} ({columns}) VALUES ({marks})", rows)
    return len(rows)


_schemas_applied: set[tuple[Path, str]] = set()
_schemas_lock = threading.Lock()


def ensure_schema(
    path: Path,
    schema: str,
    migrate: Callable[[sqlite3.Connection], None] | None = None,
    indexes: str = "",
) -> None:
    """Create tables once per process and database: sources are built per request, and the
    CREATE script would otherwise run (and take a write lock) on every one.

    `migrate` brings tables an older version created up to date (inside one write
    transaction, so processes starting together migrate once); `indexes` runs after it,
    since an index may name a column the migration adds.
    """
    key = (path.resolve(), schema)
    with _schemas_lock:
        if key in _schemas_applied and path.exists():
            return
        with connected(path) as opened:
            opened.executescript(schema)
            if migrate is not None:
                with transaction(opened):
                    migrate(opened)
            if indexes:
                opened.executescript(indexes)
        _schemas_applied.add(key)


@contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back whole on any error: nothing is half-written."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
