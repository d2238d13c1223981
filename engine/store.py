"""The one SQLite database under the data home: connections in WAL mode, safe across processes."""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
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
