"""The seed's API in one place, for code written against the build plan: `MLAgentBridge` with
its dict methods, `MLEngine` (`train_model`, `execute_command`, `fetch_data`, `evaluate`,
`finalize`), `DataFetcher`, `MLTrainer` (the Phase 5 system) and `get_compliance_gateway`. Each
is a thin layer over the typed parts: the bridge, the instruction reading `mltrainer train`
shares, and `ResearchService`.

Results are the service's typed results as dicts, plus the seed's key names (`test_accuracy`
is the selection accuracy). Expected failures come back as `status: "error"` dicts that name
the valid choices; nothing is half-written to the ledger or the model folder.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any

import pandas as pd
from pydantic import ValidationError

from mltrainer.agent import bridge, metrics
from mltrainer.agent.bridge.instruction import instruction_outcome, read_instruction
from mltrainer.agent.bridge.reply import ParsedReply
from mltrainer.engine.compliance import ComplianceEngine
from mltrainer.engine.data.base import BarSet
from mltrainer.engine.data.registry import resolve_bars
from mltrainer.engine.design import labelled_frame
from mltrainer.engine.errors import ConfigError, MLTrainerError
from mltrainer.engine.features import WARMUP_BARS
from mltrainer.engine.models import MODELS
from mltrainer.engine.results import ModelInfo
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import Settings, load_settings
from mltrainer.engine.trial import ErrorResult, TrialConfig, TrialResult
from mltrainer.tools.feedback import format_feedback

__all__ = ["DataFetcher", "MLAgentBridge", "MLEngine", "MLTrainer", "get_compliance_gateway"]

_gateway: ComplianceEngine | None = None
_gateway_lock = threading.Lock()


def get_compliance_gateway() -> ComplianceEngine:
    """The process-wide gate (the seed's singleton): the same instance on every call."""
    global _gateway
    with _gateway_lock:
        if _gateway is None:
            _gateway = ComplianceEngine()
        return _gateway


class MLAgentBridge(bridge.Bridge):
    """The seed's bridge: the typed bridge with its dict methods. `parse_mltrainer_response`
    says what one text asks for, alone; `create_trial_config` fills in the rest from the last
    trial this bridge produced (or saw run)."""

    def parse_mltrainer_response(self, text: str) -> dict[str, Any]:
        """Everything the text asks for, under `extracted_params`; nothing found is None/empty."""
        reply = self.read(text)
        return {
            "extracted_params": reply.to_dict(),
            "data_source": reply.source,
            "original_text": reply.text,
            "has_instruction": bool(
                reply.action or reply.continues or reply.changes_anything() or reply.not_done
            ),
        }

    def resolve(
        self,
        reply: Mapping[str, Any] | ParsedReply,
        defaults: Mapping[str, Any] | None = None,
    ) -> bridge.Resolution:
        """As the typed bridge's, and for a `parse_mltrainer_response` dict too."""
        return super().resolve(
            reply if isinstance(reply, ParsedReply) else _reply_of(reply), defaults
        )

    def create_trial_config(self, parsed: Mapping[str, Any]) -> dict[str, Any] | None:
        """Keyword arguments for `TrialConfig` plus an `id`, or None when the reply asks for
        nothing runnable: no symbol here or before, or something that cannot be done
        (`resolve(...).not_done` says what)."""
        config = self.resolve(parsed).config if isinstance(parsed, Mapping) else None
        if config is None:
            return None
        return {
            "id": f"trial_{uuid.uuid4().hex[:8]}",
            **config.model_dump(mode="json", exclude_unset=True),
        }

    def format_ml_feedback_as_question(self, result: Any) -> str:
        """A short, complete account of a result, ending in the question for the next turn."""
        return format_feedback(result)


def _reply_of(parsed: Mapping[str, Any]) -> ParsedReply:
    extracted = parsed.get("extracted_params", parsed)
    if not isinstance(extracted, Mapping):
        return ParsedReply()
    text = parsed.get("original_text")
    return ParsedReply.from_dict(extracted, text if isinstance(text, str) else "")


ACTIONS = ("train_model", "fetch_data", "evaluate")


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
        self,
        trial: int | None = None,
        data: pd.DataFrame | BarSet | None = None,
        *,
        again: bool = False,
    ) -> dict[str, Any]:
        """Score one trial (default: this session's best) on its dataset's locked holdout;
        a holdout already scored only with `again` (its p-values then adjusted over looks)."""
        try:
            return self.service.finalize(trial, data=data, again=again).model_dump(mode="json")
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


class DataFetcher:
    """The seed's data fetcher: a symbol's feature frame for the most recent `days` bars."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()

    def fetch_stock_data(
        self, symbol: str, days: int = 100, *, source: str = "auto"
    ) -> pd.DataFrame:
        """Features and the `direction` target's labels for the last `days` bars that have one.

        History before the window is used to warm up the rolling features, never back-filled.
        `attrs["provenance"]` says where the bars came from (and whether they are synthetic);
        `attrs["bars"]` keeps the bars so the engine can train on the same data.
        """
        if days < 1:
            raise ValueError(f"days must be at least 1, got {days}")
        bars = resolve_bars(symbol, source, self.settings)
        features, labels = labelled_frame(
            bars.frame.iloc[-(days + WARMUP_BARS + 1) :], TrialConfig(symbol=symbol), macro={}
        )
        frame = features.join(labels).iloc[-days:].copy()
        frame.attrs["provenance"] = bars.provenance.model_dump(mode="json")
        frame.attrs["bars"] = bars
        return frame


class MLTrainer:
    """The seed's Phase 5 system: one natural-language instruction in, one trained trial and a
    feedback question out. Safe to call from several threads at once; like a session, each
    instruction builds on the last one ("now switch to SVM")."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()
        self.bridge = MLAgentBridge()
        self.ml_engine = MLEngine(self.settings)
        self.compliance = ComplianceEngine(self.settings)

    def process_ai_instruction(
        self, instruction: str, *, defaults: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Parse, check, train, and phrase the result as the next question for the AI.

        `defaults` (trial settings) fill in what the instruction leaves out; an instruction
        that says otherwise is refused, naming both values.
        """
        read = read_instruction(self.bridge, self.compliance, instruction, defaults)
        if read.config is None:
            assert read.refusal is not None
            return instruction_outcome(read, read.refusal)
        result = self.ml_engine.train_model(read.config)
        if result["status"] == "success":
            metrics.record_trial(TrialResult.model_validate(result))
        return instruction_outcome(read, result)
