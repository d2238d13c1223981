"""What one reply asked for, as read from its text alone: `ParsedReply` (frozen) and `NotDone`,
a request that was recognised but cannot be honoured. The conversation's memory fills in the rest
(`agent/conversation.py`); the seed's dict shape is `ParsedReply.to_dict()`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from types import MappingProxyType
from typing import Any, Literal

Action = Literal["train", "backtest", "evaluate", "compare", "finalize", "fetch", "finish"]
ACTIONS: tuple[str, ...] = (
    "train",
    "backtest",
    "evaluate",
    "compare",
    "finalize",
    "fetch",
    "finish",
)


@dataclass(frozen=True)
class NotDone:
    """Something the reply asked for that will not happen, why, and what is allowed instead."""

    what: str
    why: str
    allowed: str = ""

    def text(self) -> str:
        return f"{self.what}: {self.why}" + (f" (allowed: {self.allowed})" if self.allowed else "")


def _frozen(mapping: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class ParsedReply:
    """Every field a reply set, in the engine's names and units; None or empty when not said.

    `parameters` holds trial settings (train_ratio, lookback, ..., days) and model
    hyper-parameters; `said` keeps how each was written, so a refusal quotes the user's words.
    Features and macro series are set (`features`), added or removed relative to the last trial.
    `source` is the data source as named (canonical when it is one mltrainer has, e.g. "sample"
    for "offline"; as written otherwise, e.g. "yahoo"). `target` is a registered research
    target; `universe` the stocks a ranking orders: a universe's name, or the symbols listed.
    """

    text: str = ""
    symbol: str | None = None
    other_symbols: tuple[str, ...] = ()
    excluded_symbols: tuple[str, ...] = ()
    model: str | None = None
    unavailable_model: str | None = None  # a model asked for that mltrainer lacks, as written
    model_directed: bool = False
    excluded_models: tuple[str, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=_frozen)
    said: Mapping[str, str] = field(default_factory=_frozen)
    source: str | None = None
    start: date | None = None
    end: date | None = None
    features: tuple[str, ...] | None = None
    features_added: tuple[str, ...] = ()
    features_removed: tuple[str, ...] = ()
    macro: tuple[str, ...] | None = None
    macro_added: tuple[str, ...] = ()
    macro_removed: tuple[str, ...] = ()
    target: str | None = None
    universe: str | tuple[str, ...] | None = None
    action: str | None = None
    trials: tuple[int, ...] = ()  # trial numbers named ("finalize trial 3", "compare 2 and 5")
    rank_by: str | None = None  # "the best by Sharpe": what picks or ranks trials
    continues: bool = False
    reset: bool = False
    reported_only: bool = False  # names results ("the LSTM on SPX reached 51%") and asks nothing
    not_done: tuple[NotDone, ...] = ()

    def changes_anything(self) -> bool:
        """True when the reply sets some field of a trial (not only an action)."""
        return bool(
            self.symbol
            or self.model
            or self.target
            or self.universe
            or self.parameters
            or self.source
            or self.start
            or self.end
            or self.features is not None
            or self.features_added
            or self.features_removed
            or self.macro is not None
            or self.macro_added
            or self.macro_removed
        )

    def to_dict(self) -> dict[str, Any]:
        """The seed's `extracted_params` keys first, then the rest; JSON-ready."""
        features = [*(self.features or ()), *self.features_added]
        macro = [*(self.macro or ()), *self.macro_added]
        return {
            "symbol": self.symbol,
            "model": self.model,
            "parameters": dict(self.parameters),
            "data_source": self.source,
            "features": features,
            "macro": macro,
            "action": self.action,
            "trials": list(self.trials),
            "rank_by": self.rank_by,
            "target": self.target,
            "universe": list(self.universe) if isinstance(self.universe, tuple) else self.universe,
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "features_only": self.features is not None,
            "features_removed": list(self.features_removed),
            "macro_only": self.macro is not None,
            "macro_removed": list(self.macro_removed),
            "other_symbols": list(self.other_symbols),
            "excluded_symbols": list(self.excluded_symbols),
            "excluded_models": list(self.excluded_models),
            "unavailable_model": self.unavailable_model,
            "model_directed": self.model_directed,
            "said": dict(self.said),
            "continues": self.continues,
            "reset": self.reset,
            "reported_only": self.reported_only,
            "not_done": [
                {"what": n.what, "why": n.why, "allowed": n.allowed} for n in self.not_done
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], text: str = "") -> ParsedReply:
        """Back from `to_dict()` (or a hand-written subset of it); wrong types count as unsaid."""
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {"text": text}

        def strings(key: str) -> tuple[str, ...]:
            value = data.get(key)
            return tuple(str(v) for v in value) if isinstance(value, list | tuple) else ()

        for key in ("symbol", "model", "unavailable_model", "target"):
            if isinstance(data.get(key), str) and data[key]:
                values[key] = data[key]
        universe = data.get("universe")
        if isinstance(universe, str) and universe:
            values["universe"] = universe
        elif isinstance(universe, list | tuple) and universe:
            values["universe"] = tuple(str(s) for s in universe)
        source = data.get("data_source")
        if isinstance(source, str) and source:
            values["source"] = source
        for key in ("start", "end"):
            values[key] = _date(data.get(key))
        for key in ("parameters", "said"):
            if isinstance(data.get(key), Mapping):
                values[key] = _frozen({str(k): v for k, v in data[key].items()})
        if isinstance(data.get("action"), str) and data["action"] in ACTIONS:
            values["action"] = data["action"]
        if isinstance(data.get("trials"), list):
            values["trials"] = tuple(
                t for t in data["trials"] if isinstance(t, int) and not isinstance(t, bool)
            )
        if data.get("rank_by") in ("accuracy", "sharpe"):
            values["rank_by"] = data["rank_by"]
        if data.get("features_only"):
            values["features"] = strings("features")
        else:
            values["features_added"] = strings("features")
        if data.get("macro_only"):
            values["macro"] = strings("macro")
        else:
            values["macro_added"] = strings("macro")
        for key in (
            "features_removed",
            "macro_removed",
            "other_symbols",
            "excluded_symbols",
            "excluded_models",
        ):
            values[key] = strings(key)
        for key in ("model_directed", "continues", "reset", "reported_only"):
            values[key] = data.get(key) is True
        raw_not_done = data.get("not_done")
        if isinstance(raw_not_done, list):
            values["not_done"] = tuple(
                NotDone(str(n.get("what", "")), str(n.get("why", "")), str(n.get("allowed", "")))
                for n in raw_not_done
                if isinstance(n, Mapping)
            )
        return cls(**{k: v for k, v in values.items() if k in known})


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None
