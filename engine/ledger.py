"""The trial ledger: every successful trial with its config, data fingerprint, metrics,
timings, seed and code version, in SQLite (WAL) so several processes can record at once.

Test-period predictions are stored too, so a trial can be re-evaluated (other costs) and
trials compared on the same days without retraining.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from mltrainer.engine.store import connected, ensure_schema, transaction
from mltrainer.engine.trial import TrialResult

_SCHEMA = """
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
    test_accuracy REAL NOT NULL,
    best_baseline REAL NOT NULL,
    p_value REAL NOT NULL,
    sharpe REAL NOT NULL,
    buy_hold_sharpe REAL NOT NULL,
    config TEXT NOT NULL,
    result TEXT NOT NULL,
    predictions TEXT NOT NULL,
    session TEXT
);
CREATE INDEX IF NOT EXISTS trials_model_id ON trials (model_id);
CREATE INDEX IF NOT EXISTS trials_symbol ON trials (symbol);
"""


class TrialPredictions(BaseModel):
    """The test period as the model saw it: enough to recompute every test metric."""

    dates: list[str]
    y_true: list[int]
    y_pred: list[int]
    proba_up: list[float] | None
    next_return: list[float]


class LedgerRow(BaseModel):
    trial: int
    model_id: str
    created_at: str
    symbol: str
    model: str
    source: str
    synthetic: bool
    test_accuracy: float
    best_baseline: float
    p_value: float
    sharpe: float
    buy_hold_sharpe: float
    session: str | None


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


class Ledger:
    """Opens a connection per operation, so one Ledger is safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        ensure_schema(self.path, _SCHEMA)

    def record(
        self, result: TrialResult, predictions: TrialPredictions, *, session: str | None = None
    ) -> int:
        """Insert one trial in a single transaction; returns its trial number."""
        row = (
            result.model_id,
            datetime.now(UTC).isoformat(timespec="seconds"),
            result.symbol,
            result.model,
            result.provenance.source,
            int(result.synthetic),
            result.provenance.content_hash,
            result.seed,
            result.code_version,
            result.test_accuracy,
            result.baselines.best_accuracy,
            result.baselines.p_value,
            result.backtest.long_flat.sharpe,
            result.backtest.buy_and_hold.sharpe,
            result.config.model_dump_json(),
            result.model_dump_json(),
            predictions.model_dump_json(),
            session,
        )
        with connected(self.path) as connection, transaction(connection):
            cursor = connection.execute(
                "INSERT INTO trials (model_id, created_at, symbol, model, source, synthetic, "
                "data_fingerprint, seed, code_version, test_accuracy, best_baseline, p_value, "
                "sharpe, buy_hold_sharpe, config, result, predictions, session) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            trial = cursor.lastrowid
        assert trial is not None
        return trial

    def rows(
        self, *, limit: int = 50, symbol: str | None = None, session: str | None = None
    ) -> list[LedgerRow]:
        where, args = _where(symbol, session)
        query = (
            "SELECT trial, model_id, created_at, symbol, model, source, synthetic, test_accuracy, "
            f"best_baseline, p_value, sharpe, buy_hold_sharpe, session FROM trials {where} "
            "ORDER BY trial DESC LIMIT ?"
        )
        with connected(self.path) as connection:
            return [LedgerRow(**dict(r)) for r in connection.execute(query, (*args, limit))]

    def _find(self, key: str | int) -> Any:
        with connected(self.path) as connection:
            if isinstance(key, int) or (str(key).isascii() and str(key).isdigit()):
                if not 0 < int(key) < 2**63:  # SQLite's integer range: no such trial
                    return None
                return connection.execute(
                    "SELECT * FROM trials WHERE trial = ?", (int(key),)
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
        return result

    def predictions(self, key: str | int) -> TrialPredictions | None:
        row = self._find(key)
        return None if row is None else TrialPredictions.model_validate_json(row["predictions"])

    def count(self, *, symbol: str | None = None, session: str | None = None) -> int:
        where, args = _where(symbol, session)
        with connected(self.path) as connection:
            return int(
                connection.execute(f"SELECT COUNT(*) FROM trials {where}", args).fetchone()[0]
            )
