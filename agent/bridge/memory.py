"""The bridge's memory: the configuration of the last trial it produced or saw run, and how a
reply that builds on it ("retrain with 90%", "switch to SVM", "same on QQQ", "continue") becomes
a whole configuration. The reply's words override; every other field carries over.

A reply is checked before anything runs: a second symbol, a source, feature or model that does
not exist, a value out of range, a hyper-parameter the model lacks. Each becomes a `NotDone`
that quotes what was written and says what is allowed; then nothing runs and the memory stays.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from mltrainer.agent.bridge.reply import NotDone, ParsedReply
from mltrainer.agent.bridge.vocabulary import TRIAL_SETTINGS, setting_bounds, vocabulary
from mltrainer.engine.data.universes import universe_label, universe_names
from mltrainer.engine.errors import ConfigError
from mltrainer.engine.feature_names import DEFAULT_FEATURES
from mltrainer.engine.models import MODELS, resolve_model
from mltrainer.engine.targets.registry import DEFAULT_TARGET, cross_sectional, target_names
from mltrainer.engine.trial import TrialConfig

TRIAL_FIELDS = tuple(TrialConfig.model_fields)
DEFAULT_MODEL = str(TrialConfig.model_fields["model"].default)
_RUNS = ("train", "backtest", "evaluate", "fetch")


@dataclass(frozen=True)
class Resolution:
    """What a reply comes to: a whole configuration to run, or why there is none."""

    reply: ParsedReply
    config: TrialConfig | None = None
    read: tuple[str, ...] = ()  # fields the reply's words set
    carried: bool = False  # the rest came from the last trial
    dropped: tuple[str, ...] = ()  # hyper-parameters the new model does not have
    not_done: tuple[NotDone, ...] = ()
    missing: str | None = None  # an instruction that lacks something (e.g. a symbol)

    @property
    def asked(self) -> bool:
        """The reply asked for a trial (runnable or not)."""
        return self.config is not None or bool(self.not_done) or self.missing is not None


def trial_fields(config: Mapping[str, Any]) -> dict[str, Any]:
    """Only the keys that are `TrialConfig` fields, in JSON form (dates as ISO text)."""
    return {
        key: value.isoformat() if hasattr(value, "isoformat") else value
        for key, value in config.items()
        if key in TRIAL_FIELDS
    }


def _canonical_model(name: Any) -> str | None:
    return vocabulary().model_named(name) if isinstance(name, str) else None


def _shown(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _range_message(name: str, written: str, value: Any, model: str | None = None) -> NotDone:
    """Why a value is refused, quoting how it was written, with the allowed range."""
    words = vocabulary()
    bounds = setting_bounds(name, model)
    allowed = ""
    if bounds is not None:
        allowed = f"{_shown(bounds.low)} to {_shown(bounds.high)}"
        if words.is_share(name):
            allowed += " (a share: 0.8 or 80%)"
    if isinstance(value, bool) or not isinstance(value, int | float):
        why = f"{name} must be a number"
    elif words.param_kinds.get(name) is int and not float(value).is_integer():
        why = f"{name} must be a whole number"
    else:
        why = f"{name} {_shown(value)} is out of range"
    return NotDone(f"'{written}'", why, allowed)


class ConversationMemory:
    """Remembers one configuration per conversation; safe to share between threads.

    What carries over is what the configuration set: every setting of a trial that ran, the
    settings a reply (or a caller's defaults) gave for one that was only resolved."""

    def __init__(self) -> None:
        self._last: TrialConfig | None = None
        self._lock = threading.Lock()

    @property
    def last(self) -> TrialConfig | None:
        with self._lock:
            return self._last

    def remember(self, config: TrialConfig) -> None:
        """A trial that ran (or was tried): the base for the next reply, with every setting it
        ran with, defaults included, so a caller's defaults never replace them."""
        ran = TrialConfig.model_construct(set(TRIAL_FIELDS), **dict(config))
        with self._lock:
            self._last = ran

    def resolve(self, reply: ParsedReply, defaults: Mapping[str, Any] | None = None) -> Resolution:
        """The reply's configuration; remembered when it can run. `defaults` fill in what
        neither the reply nor the last trial says (the CLI's flags)."""
        with self._lock:
            last = None if reply.reset else self._last
            carried = last.model_dump(include=last.model_fields_set) if last else {}
            base = {**trial_fields(defaults or {}), **carried}
            resolution = _resolve(reply, base or None)
            if resolution.config is not None:
                self._last = resolution.config
            return resolution


def _resolve(reply: ParsedReply, last: Mapping[str, Any] | None) -> Resolution:
    """The whole configuration: the last trial's, with every field the reply sets replaced."""
    asked = reply.action in _RUNS or reply.continues or reply.changes_anything() or reply.not_done
    if not asked or reply.reported_only:
        return Resolution(reply)
    base = dict(last or {})
    config = dict(base)
    read: list[str] = []
    if reply.target:
        config["target"] = reply.target
        read.append("target")
    ranking = cross_sectional(str(config.get("target", DEFAULT_TARGET)))
    not_done = [
        *reply.not_done,
        *(_universe(reply, base, config, read) if ranking else _symbol(reply, config, read)),
        *_model(reply, base, config, read),
        *_source(reply, config, read),
    ]
    _window(reply, base, config, read)
    hyper = {k: v for k, v in reply.parameters.items() if k not in TRIAL_SETTINGS}
    for name in TRIAL_SETTINGS:
        if name in reply.parameters:
            config[name] = reply.parameters[name]
            read.append(name)
    old_model = _canonical_model(base.get("model")) or base.get("model")
    params, dropped = _carried_params(base.get("params"), old_model, config["model"])
    config["params"] = {**params, **hyper}
    if hyper:
        read.append("params")
        if not reply.unavailable_model:
            not_done.extend(_check_params(config["model"], hyper, reply.said))
    not_done.extend(_inputs(reply, base, config, read))
    # A ranking without a universe is reported as missing below, not as a validation error.
    trial, problems = (
        (None, []) if ranking and not config.get("universe") else _validate(config, reply.said)
    )
    not_done.extend(problems)
    if ranking:
        missing = (
            None
            if config.get("universe")
            else (
                f"target '{config['target']}' ranks a universe, and none was named: "
                f"{', '.join(universe_names())} or a list of symbols"
            )
        )
    else:
        missing = (
            None
            if config.get("symbol")
            else "no symbol was named, and no earlier trial to build on"
        )
    if trial is None or not_done or missing:
        return Resolution(reply, None, tuple(read), bool(base), dropped, tuple(not_done), missing)
    return Resolution(reply, trial, tuple(read), bool(base), dropped)


def _universe(
    reply: ParsedReply, base: Mapping[str, Any], config: dict[str, Any], read: list[str]
) -> list[NotDone]:
    """A ranking's universe: named or listed in the reply, or the last trial's. Its label is
    the symbol, so a symbol carried from a single-symbol trial goes."""
    if reply.universe:
        universe = reply.universe
        config["universe"] = list(universe) if isinstance(universe, tuple) else universe
        read.append("universe")
    elif reply.symbol and universe_label(base.get("universe") or "") != reply.symbol:
        return [
            NotDone(
                f"symbol {reply.symbol}",
                f"target '{config['target']}' ranks a universe of stocks, not one symbol",
                f"{', '.join(universe_names())}, a list of symbols to rank, or a target for one "
                f"symbol: {', '.join(t for t in target_names() if not cross_sectional(t))}",
            )
        ]
    config.pop("symbol", None)
    return []


def _symbol(reply: ParsedReply, config: dict[str, Any], read: list[str]) -> list[NotDone]:
    """One symbol per trial, and never one the reply ruled out."""
    problems = []
    universe = config.pop("universe", None)
    if universe is not None and config.get("symbol") == universe_label(universe):
        config.pop("symbol")  # a ranking's label, not a symbol to predict
    if reply.symbol:
        config["symbol"] = reply.symbol
        read.append("symbol")
    if reply.other_symbols:
        named = ", ".join([s for s in (reply.symbol,) if s] + list(reply.other_symbols))
        problems.append(
            NotDone(f"symbols {named}", "a trial runs on one symbol", "one symbol per reply")
        )
    symbol = config.get("symbol")
    if isinstance(symbol, str) and symbol.upper() in reply.excluded_symbols:
        problems.append(
            NotDone(f"symbol {symbol}", "you said not to use it, and named no other symbol")
        )
    return problems


def _model(
    reply: ParsedReply, base: Mapping[str, Any], config: dict[str, Any], read: list[str]
) -> list[NotDone]:
    """A registry model, named or carried over; a name that is none is refused, not replaced."""
    words = vocabulary()
    problems = []
    if reply.model:
        config["model"] = reply.model
        read.append("model")
    named = config.get("model", DEFAULT_MODEL)
    model = _canonical_model(named)
    if model is None:
        problems.append(
            NotDone(
                f"model '{named}'",
                words.unavailable_model(str(named)) or "not a model mltrainer has",
                ", ".join(words.models_for(config.get("target"))),
            )
        )
    config["model"] = model or DEFAULT_MODEL
    carried = "model" in base and "model" not in read and not reply.unavailable_model
    if carried and config["model"] in reply.excluded_models:
        problems.append(
            NotDone(f"model {config['model']}", "you said not to use it, and named no other")
        )
    return problems


def _source(reply: ParsedReply, config: dict[str, Any], read: list[str]) -> list[NotDone]:
    if not reply.source:
        return []
    sources = vocabulary().trial_sources
    if reply.source not in sources:
        return [
            NotDone(f"data source '{reply.source}'", "trials cannot use it", ", ".join(sources))
        ]
    config["source"] = reply.source
    read.append("source")
    return []


def _window(
    reply: ParsedReply, base: Mapping[str, Any], config: dict[str, Any], read: list[str]
) -> None:
    """Dates and "the last N days" are two ways to say which bars: a reply that gives one
    replaces the other from the last trial (and says so, as a field it set)."""
    for name, value in (("start", reply.start), ("end", reply.end)):
        if value is not None:
            config[name] = value.isoformat()
            read.append(name)
    if (reply.start or reply.end) and "days" not in reply.parameters and base.get("days"):
        config.pop("days")
        read.append("days")
    if "days" in reply.parameters and not (reply.start or reply.end):
        for name in ("start", "end"):
            if base.get(name):
                config.pop(name)
                read.append(name)


def _carried_params(
    raw: Any, old_model: str | None, model: str
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The last trial's hyper-parameters that still apply. On a switch of model, only values
    chosen on purpose (not the old model's defaults) move, and only if the new model has them
    and allows their value; the rest are named as dropped."""
    params = dict(raw) if isinstance(raw, Mapping) else {}
    if old_model is None or old_model == model or old_model not in MODELS:
        return params, ()
    old = MODELS[old_model].params
    new = MODELS[model].params if model in MODELS else {}
    kept: dict[str, Any] = {}
    dropped = []
    for name, value in params.items():
        if name in old and old[name].default == value:
            continue
        try:
            kept[name] = new[name].check(model, name, value)
        except (KeyError, ConfigError):
            dropped.append(f"{name}={_shown(value)}")
    return kept, tuple(dropped)


def _check_params(model: str, hyper: Mapping[str, Any], said: Mapping[str, str]) -> list[NotDone]:
    if model not in MODELS:
        return []
    spec = resolve_model(model)
    problems = []
    for name, value in hyper.items():
        written = said.get(name, f"{name} {value}")
        if name not in spec.params:
            problems.append(
                NotDone(
                    f"'{written}'",
                    f"{model} has no parameter {name}",
                    ", ".join(spec.params) or "none",
                )
            )
            continue
        try:
            spec.params[name].check(model, name, value)
        except ConfigError as error:
            if spec.params[name].choices:
                problems.append(NotDone(f"'{written}'", str(error)))
            else:
                problems.append(_range_message(name, written, value, model))
    return problems


def _inputs(
    reply: ParsedReply, base: Mapping[str, Any], config: dict[str, Any], read: list[str]
) -> list[NotDone]:
    """Features and macro series: set outright, or added to / removed from the last trial's."""
    problems = []
    words = vocabulary()
    if reply.features is not None or reply.features_added or reply.features_removed:
        current = base.get("features") or list(DEFAULT_FEATURES)
        features = list(reply.features) if reply.features is not None else list(current)
        features = [
            f for f in [*features, *reply.features_added] if f not in reply.features_removed
        ]
        features = list(dict.fromkeys(features))
        if not features:
            problems.append(
                NotDone("features", "that leaves no features", ", ".join(words.feature_names))
            )
        config["features"] = features
        read.append("features")
    if reply.macro is not None or reply.macro_added or reply.macro_removed:
        current_macro = list(base.get("macro") or [])
        macro = list(reply.macro) if reply.macro is not None else current_macro
        macro = [m for m in [*macro, *reply.macro_added] if m not in reply.macro_removed]
        config["macro"] = list(dict.fromkeys(macro))
        read.append("macro")
    return problems


def _validate(
    config: Mapping[str, Any], said: Mapping[str, str]
) -> tuple[TrialConfig | None, list[NotDone]]:
    """The configuration, checked by `TrialConfig` itself, or its problems phrased with what
    the reply wrote (a missing symbol is not one of them: it is reported as missing)."""
    try:
        trial = TrialConfig.model_validate({k: v for k, v in config.items() if k in TRIAL_FIELDS})
    except ValidationError as error:
        problems = []
        for item in error.errors():
            # Nothing named at all is reported as missing, not as a problem with a value.
            if item["type"] == "missing" or (item["loc"] == ("symbol",) and not item["input"]):
                continue
            name = str(item["loc"][0]) if item["loc"] else "config"
            value = item.get("input")
            written = said.get(name, f"{name} {value}")
            if setting_bounds(name) is not None:
                problems.append(_range_message(name, written, value))
            else:
                problems.append(NotDone(f"'{written}'", item["msg"]))
        return None, problems
    return trial, []
