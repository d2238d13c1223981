"""`MLEngine`: the seed's dict API (`train_model`, `execute_command` with `train_model`,
`fetch_data`, `evaluate`), a thin layer over the typed `ResearchService`.

Results are the service's typed results as dicts, plus the seed's key names (`test_accuracy`
is the selection accuracy). Expected failures come back as `status: "error"` dicts that name
the valid choices; nothing is half-written to the ledger or the model folder.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import date
from typing import Any

import pandas as pd
from pydantic import ValidationError

from mltrainer.engine.data.base import BarSet
from mltrainer.engine.errors import ConfigError, MLTrainerError, validation_message
from mltrainer.engine.models import MODELS
from mltrainer.engine.results import ModelInfo
from mltrainer.engine.service import ResearchService, bars_from_frame
from mltrainer.engine.settings import Settings
from mltrainer.engine.trial import ErrorResult, TrialConfig, TrialResult

__all__ = ["MLEngine", "bars_from_frame", "error_result", "normalise_config", "seed_result"]

ACTIONS = ("train_model", "fetch_data", "evaluate")


def describe_validation_error(error: ValidationError) -> str:
    return validation_message(error)


def error_result(error: Exception, kind: str = "training_failed") -> dict[str, Any]:
    return ErrorResult.of(error, kind).model_dump()


def seed_result(result: TrialResult) -> dict[str, Any]:
    """A typed result as the seed's dict: JSON-ready, with `test_accuracy` beside the
    selection accuracy it names."""
    dumped = result.model_dump(mode="json")
    dumped["test_accuracy"] = result.selection_accuracy
    return dumped


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


class MLEngine:
    """The seed's engine: trains, scores, saves and records trials. Safe to share between
    threads; `trained_models` keeps this process's fitted pipelines by model id."""

    def __init__(self, settings: Settings | None = None, *, session: str | None = None) -> None:
        self.service = ResearchService(settings, session=session)
        self.settings = self.service.settings
        self.session = session
        self.compliance = self.service.compliance
        self.ledger = self.service.ledger
        self.trained_models: dict[str, Any] = {}
        self._lock = threading.Lock()

    # -- the seed's API -------------------------------------------------------------------
    def train_model(
        self, config: Mapping[str, Any] | TrialConfig, data: pd.DataFrame | BarSet | None = None
    ) -> dict[str, Any]:
        try:
            trained = self.service.train(normalise_config(config), data=data)
        except (MLTrainerError, ValidationError) as error:
            return error_result(error)
        if trained.pipeline is not None:
            with self._lock:
                self.trained_models[trained.result.model_id] = trained.pipeline
        return seed_result(trained.result)

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

    def fetch_data(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Bars (or a macro series with `kind="series"`) summarised: provenance, range, last."""
        try:
            fetched = self.service.fetch(
                str(params.get("symbol", "")),
                source=str(params.get("source", "auto")),
                kind=str(params.get("kind", "bars")),
                start=_date(params.get("start")),
                end=_date(params.get("end")),
            )
        except (MLTrainerError, ValidationError) as error:
            return error_result(error, kind="fetch_failed")
        return fetched.model_dump(mode="json")

    def evaluate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Re-score a recorded trial from its stored selection predictions, e.g. at other costs."""
        key = params.get("model_id") or params.get("trial")
        if key is None:
            return error_result(
                ConfigError("evaluate needs 'model_id' or 'trial'"), "evaluate_failed"
            )
        raw_cost = params.get("cost_bps")
        try:
            cost = None if raw_cost is None else float(raw_cost)
        except (TypeError, ValueError):
            return error_result(
                ConfigError(f"cost_bps must be a number from 0 to 100, got {raw_cost!r}"),
                "evaluate_failed",
            )
        try:
            return self.service.evaluate(key, cost_bps=cost).model_dump(mode="json")
        except MLTrainerError as error:
            return error_result(error, "evaluate_failed")

    def finalize(
        self, trial: int | None = None, data: pd.DataFrame | BarSet | None = None
    ) -> dict[str, Any]:
        """Score one trial (default: this session's best) on its dataset's locked holdout."""
        try:
            return self.service.finalize(trial, data=data).model_dump(mode="json")
        except MLTrainerError as error:
            return error_result(error, "finalize_failed")

    @staticmethod
    def available_models() -> list[dict[str, Any]]:
        return [ModelInfo.of(spec).model_dump() for spec in MODELS.values()]


def _date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as error:
        raise ConfigError(f"dates must be YYYY-MM-DD, got {value!r}") from error
