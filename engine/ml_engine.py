"""`MLEngine`: the seed's engine API over the real pipeline: `train_model`, `execute_command`
(`train_model`, `fetch_data`, `evaluate`), with every successful trial saved and recorded.

Expected failures (bad config, unknown symbol, compliance) come back as `status: "error"`
results that name the valid choices; nothing is half-written to the ledger or the model folder.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from mltrainer.engine.compliance import ComplianceEngine
from mltrainer.engine.data.base import BarSet, SeriesSet, make_provenance
from mltrainer.engine.data.registry import resolve_bars, resolve_series
from mltrainer.engine.errors import ConfigError, DataSourceError, MLTrainerError
from mltrainer.engine.ledger import Ledger
from mltrainer.engine.metrics import backtest, classification_metrics
from mltrainer.engine.models import MODELS
from mltrainer.engine.persistence import save_model
from mltrainer.engine.runner import run_trial
from mltrainer.engine.settings import Settings, load_settings
from mltrainer.engine.trial import ErrorResult, TrialConfig

ACTIONS = ("train_model", "fetch_data", "evaluate")


def describe_validation_error(error: ValidationError) -> str:
    """One line per problem: where, what is wrong, what was given."""
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "config"
        given = f" (got {item['input']!r})" if "input" in item and item["type"] != "missing" else ""
        parts.append(f"{where}: {item['msg']}{given}")
    return "; ".join(parts)


def error_result(error: Exception, kind: str = "training_failed") -> dict[str, Any]:
    message = describe_validation_error(error) if isinstance(error, ValidationError) else str(error)
    return ErrorResult(type=kind, error=message, error_type=type(error).__name__).model_dump()


def normalise_config(raw: Mapping[str, Any] | TrialConfig) -> TrialConfig:
    """Accept the seed's shape too: `id`, nested `parameters`, `data_source`.

    Keys that are trial settings go to the top level; every other key is a model parameter and
    is checked against that model's bounds later.
    """
    if isinstance(raw, TrialConfig):
        return raw
    data = {k: v for k, v in raw.items() if v is not None and k != "id"}
    if "data_source" in data:
        data.setdefault("source", data.pop("data_source"))
    params = dict(data.pop("params", None) or {})
    nested = dict(data.pop("parameters", None) or {})
    for key in list(data):
        if key not in TrialConfig.model_fields:
            nested[key] = data.pop(key)
    for key, value in nested.items():
        if key in TrialConfig.model_fields:
            data.setdefault(key, value)
        else:
            params[key] = value
    data["params"] = params
    return TrialConfig.model_validate(data)


def bars_from_frame(frame: pd.DataFrame, symbol: str) -> BarSet:
    """Bars a caller passed in: an OHLCV frame, or a feature frame from `DataFetcher`."""
    if isinstance(frame.attrs.get("bars"), BarSet):
        bars: BarSet = frame.attrs["bars"]
        return bars
    columns = {c.lower(): c for c in frame.columns}
    needed = ("open", "high", "low", "close", "volume")
    if any(c not in columns for c in needed):
        raise ConfigError(
            f"data must be daily bars with columns {list(needed)}; got {list(frame.columns)}"
        )
    bars_frame = frame[[columns[c] for c in needed]].set_axis(list(needed), axis=1).astype(float)
    bars_frame.index = pd.DatetimeIndex(bars_frame.index).as_unit("ns").rename("date")
    return BarSet(
        bars_frame,
        make_provenance(
            bars_frame,
            source="caller",
            kind="real",
            symbol=symbol,
            note="frame passed by the caller",
        ),
    )


class MLEngine:
    """Trains, scores, saves and records trials. Safe to share between threads."""

    def __init__(self, settings: Settings | None = None, *, session: str | None = None) -> None:
        self.settings = settings or load_settings()
        self.settings.ensure_home()
        self.session = session
        self.compliance = ComplianceEngine(self.settings)
        self.ledger = Ledger(self.settings.db_path)
        self.trained_models: dict[str, Any] = {}
        self._lock = threading.Lock()

    # -- the seed's API -------------------------------------------------------------------
    def train_model(
        self, config: Mapping[str, Any] | TrialConfig, data: pd.DataFrame | BarSet | None = None
    ) -> dict[str, Any]:
        try:
            trial = normalise_config(config)
            return self._train(trial, data)
        except (MLTrainerError, ValidationError) as error:
            return error_result(error)

    def execute_command(self, command: Mapping[str, Any]) -> dict[str, Any]:
        action = command.get("action")
        params = command.get("params") or {}
        if not isinstance(params, Mapping):
            return error_result(
                ConfigError(f"params must be an object of settings, got {type(params).__name__}"),
                kind="invalid_command",
            )
        match action:
            case "train_model":
                return self.train_model(params)
            case "fetch_data":
                return self.fetch_data(params)
            case "evaluate":
                return self.evaluate(params)
            case _:
                return error_result(
                    ConfigError(f"unknown action {action!r}; actions are {', '.join(ACTIONS)}"),
                    kind="unknown_action",
                )

    # -- actions --------------------------------------------------------------------------
    def fetch_data(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Bars (or a macro series with `kind="series"`) summarised: provenance, range, last."""
        try:
            symbol = str(params.get("symbol", "")).upper()
            start, end = _date(params.get("start")), _date(params.get("end"))
            if params.get("kind") == "series":
                series = resolve_series(symbol, self.settings, start=start, end=end)
                if series.frame.empty:
                    raise DataSourceError(f"{symbol} has no observations between {start} and {end}")
                return {
                    "status": "success",
                    "type": "series",
                    "provenance": series.provenance.model_dump(mode="json"),
                    "point_in_time": series.point_in_time,
                    "last_value": float(series.frame["value"].iloc[-1]),
                }
            bars = resolve_bars(
                symbol, str(params.get("source", "auto")), self.settings, start=start, end=end
            )
            close = bars.frame["close"]
            return {
                "status": "success",
                "type": "bars",
                "data_label": "SYNTHETIC DATA"
                if bars.provenance.kind == "synthetic"
                else "REAL DATA",
                "provenance": bars.provenance.model_dump(mode="json"),
                "last_close": float(close.iloc[-1]),
                "total_return": float(close.iloc[-1] / close.iloc[0] - 1.0),
            }
        except (MLTrainerError, ValidationError) as error:
            return error_result(error, kind="fetch_failed")

    def evaluate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Re-score a recorded trial from its stored test predictions, e.g. at other costs."""
        key = params.get("model_id") or params.get("trial")
        if key is None:
            return error_result(
                ConfigError("evaluate needs 'model_id' or 'trial'"), "evaluate_failed"
            )
        stored = self.ledger.result(key)
        predictions = self.ledger.predictions(key)
        if stored is None or predictions is None:
            return error_result(
                ConfigError(f"no recorded trial '{key}'; list them with `mltrainer trials list`"),
                "evaluate_failed",
            )
        raw_cost = params.get("cost_bps", stored["config"]["cost_bps"])
        try:
            cost = float(raw_cost)
        except (TypeError, ValueError):
            cost = float("nan")
        if not 0.0 <= cost <= 100.0:
            return error_result(
                ConfigError(f"cost_bps must be a number from 0 to 100, got {raw_cost!r}"),
                "evaluate_failed",
            )
        y_true = np.asarray(predictions.y_true)
        y_pred = np.asarray(predictions.y_pred)
        proba = None if predictions.proba_up is None else np.asarray(predictions.proba_up)
        return {
            "status": "success",
            "type": "evaluation",
            "trial": stored["trial"],
            "model_id": stored["model_id"],
            "model": stored["model"],
            "symbol": stored["symbol"],
            "synthetic": stored["synthetic"],
            "data_label": stored["data_label"],
            "test_period": stored["test_period"],
            "test": classification_metrics(y_true, y_pred, proba).model_dump(),
            "baselines": stored["baselines"],
            "backtest": backtest(
                y_pred, np.asarray(predictions.next_return), cost_bps=cost
            ).model_dump(),
        }

    # -- internals ------------------------------------------------------------------------
    def _train(self, trial: TrialConfig, data: pd.DataFrame | BarSet | None) -> dict[str, Any]:
        self.compliance.check_trial(trial)
        notes: list[str] = []
        if trial.model.strip().lower() in ("xgboost", "xgb"):
            notes.append("'xgboost' is not installed; trained gradient_boosting (same family)")
        tick = time.perf_counter()
        if data is None:
            bars = resolve_bars(
                trial.symbol, trial.source, self.settings, start=trial.start, end=trial.end
            )
        elif isinstance(data, BarSet):
            bars = data
        else:
            bars = bars_from_frame(data, trial.symbol)
        if bars.provenance.kind == "synthetic":
            self.compliance.require_synthetic_allowed(explicit=trial.source == "synthetic")
            if trial.source != "synthetic":
                notes.append(
                    f"SYNTHETIC DATA: {trial.symbol} is not in the offline sample data and no "
                    "live data key is set, so a seeded random walk was used"
                )
        macro: dict[str, SeriesSet] = {
            series_id: resolve_series(series_id, self.settings, start=None, end=trial.end)
            for series_id in trial.macro
        }
        data_seconds = time.perf_counter() - tick
        outcome = run_trial(trial, bars, macro, data_seconds=data_seconds, notes=notes)
        # Every try counts: the best of many looks better than it is, so the verdict is read
        # against a p-value adjusted for the tries in this session (or on this symbol).
        earlier = (
            self.ledger.count(session=self.session)
            if self.session
            else self.ledger.count(symbol=trial.symbol)
        )
        tries = earlier + 1
        result = outcome.result.model_copy(
            update={
                "tries": tries,
                "p_value_adjusted": min(1.0, outcome.result.baselines.p_value * tries),
            }
        )
        path: Path | None = None
        if trial.save_model:
            path = save_model(outcome.pipeline, self.settings.models_dir, result.model_id)
            result = result.model_copy(update={"model_path": str(path)})
        try:
            number = self.ledger.record(result, outcome.predictions, session=self.session)
        except BaseException:
            if path is not None:
                shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
            raise
        with self._lock:
            self.trained_models[result.model_id] = outcome.pipeline
        dumped = result.model_dump(mode="json")
        dumped["trial"] = number
        return dumped

    @staticmethod
    def available_models() -> list[dict[str, Any]]:
        return [
            {
                "name": spec.name,
                "family": spec.family,
                "description": spec.description,
                "aliases": list(spec.aliases),
                "params": {
                    name: {
                        "default": bound.default,
                        "low": bound.low,
                        "high": bound.high,
                        "choices": list(bound.choices) or None,
                    }
                    for name, bound in spec.params.items()
                },
                "needs": "torch (pip install 'mltrainer[deep]')" if spec.needs_torch else None,
            }
            for spec in MODELS.values()
        ]


def _date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as error:
        raise ConfigError(f"dates must be YYYY-MM-DD, got {value!r}") from error
