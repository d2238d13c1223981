"""The bridge's vocabulary: the word tables in `prompts/vocabulary.yaml` joined with the engine's
registries (models, features, trial settings and their bounds), built once per process.

Names of what exists come from the registries; the YAML holds only spellings, and what to say
about things that are recognised but not available.
"""

from __future__ import annotations

import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any

import annotated_types
import yaml

from mltrainer.engine.data.catalog import bar_source_names
from mltrainer.engine.feature_names import ALL_FEATURES, LAG_FEATURES
from mltrainer.engine.models import MODELS, PARAM_ALIASES, known_model_names, resolve_model
from mltrainer.engine.targets import get_target
from mltrainer.engine.targets.registry import DEFAULT_TARGET, target_names
from mltrainer.engine.trial import TrialConfig
from mltrainer.prompts import load_text

_SEPARATORS = re.compile(r"[\s_\-()]+")
_SQUASH = re.compile(r"[\s_\-]+")
# Trial settings that are numbers a reply may give in words.
TRIAL_SETTINGS = (
    "train_ratio",
    "lookback",
    "horizon",
    "folds",
    "embargo",
    "cost_bps",
    "seed",
    "days",
)


def phrase_key(text: str) -> str:
    """A phrase as the tables key it: lower case, separators and brackets as single spaces."""
    return _SEPARATORS.sub(" ", text.lower()).strip()


def squash(text: str) -> str:
    """A name without separators, so "RandomForest", "random-forest" and "random forest" meet."""
    return _SQUASH.sub("", text.lower())


# A horizon phrase in front of "return": "next week's", "tomorrow's", "5-day", "weekly", ...
# Its groups say how many bars (`period`, or `count` of `unit`).
AHEAD = (
    r"(?:(?:the\s+)?next\s+(?P<period>day|bar|session|week|month|quarter)'?s?|tomorrow'?s|"
    r"(?P<count>\d{1,2})[\s-]*(?P<unit>days?|bars?|sessions?|weeks?|months?)(?:[\s-]+ahead)?|"
    r"daily|weekly|monthly|forward|future|excess|subsequent)"
)


@dataclass(frozen=True)
class Unsupported:
    """A setting trials do not have, how it is written, and why it is not available."""

    name: str
    pattern: re.Pattern[str]
    reason: str


@dataclass(frozen=True)
class Bounds:
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Vocabulary:
    not_tickers: frozenset[str]
    cue_words: frozenset[str]
    fred_series: frozenset[str]
    macro_names: Mapping[str, str]
    index_names: Mapping[str, str]
    sources: Mapping[str, str | None]
    trial_sources: tuple[str, ...]
    models: Mapping[str, str]
    model_phrases: tuple[str, ...]
    model_names: tuple[str, ...]
    unavailable_models: Mapping[str, str]
    features: Mapping[str, tuple[str, ...]]
    feature_names: tuple[str, ...]
    unavailable_features: tuple[str, ...]
    unsupported: tuple[Unsupported, ...]
    numbers: Mapping[str, int]
    number_scales: Mapping[str, int]
    bars_per: Mapping[str, int]
    key_aliases: Mapping[str, str]
    param_kinds: Mapping[str, type]
    param_choices: Mapping[str, tuple[str, ...]]
    continue_phrases: tuple[str, ...]
    reset_phrases: tuple[str, ...]
    target_phrases: Mapping[str, re.Pattern[str]]

    def models_for(self, target: str | None) -> tuple[str, ...]:
        """The models a target can train: classifiers for 0/1 targets (direction), regressors
        for the rest; every model for a target that is not registered."""
        if target is None or target not in target_names():
            target = DEFAULT_TARGET
        kind = get_target(target).estimator_type
        return tuple(name for name in self.model_names if kind in MODELS[name].kinds)

    def model_named(self, name: str) -> str | None:
        """Canonical model for a registry name or alias; None for anything else."""
        return self.models.get(squash(name))

    def unavailable_model(self, name: str) -> str | None:
        """Why a recognised model is not available, or None when it is not one of those."""
        return self.unavailable_models.get(phrase_key(name))

    def feature_named(self, phrase: str) -> tuple[str, ...] | None:
        return self.features.get(phrase_key(phrase))

    def is_share(self, name: str) -> bool:
        """A setting that is a share of one (train_ratio, dropout, subsample): 80% means 0.8."""
        bounds = setting_bounds(name)
        return bounds is not None and bounds.high is not None and bounds.high <= 1.0


def _items(block: str | None, separator: str | None = None) -> list[str]:
    if not block:
        return []
    parts = block.split(separator) if separator else block.split()
    return [part.strip() for part in parts if part.strip()]


def setting_bounds(name: str, model: str | None = None) -> Bounds | None:
    """Inclusive bounds of a trial setting, or of a model's hyper-parameter (the registry's)."""
    field = TrialConfig.model_fields.get(name)
    if field is not None:
        low = high = None
        for item in field.metadata:
            if isinstance(item, annotated_types.Ge):
                low = float(typing.cast(Any, item.ge))
            elif isinstance(item, annotated_types.Le):
                high = float(typing.cast(Any, item.le))
        return Bounds(low, high) if low is not None or high is not None else None
    specs = [resolve_model(model)] if model else list(MODELS.values())
    for spec in specs:
        bound = spec.params.get(name)
        if bound is not None and not bound.choices:
            return Bounds(bound.low, bound.high)
    return None


def _model_tables(unavailable: Mapping[str, str]) -> tuple[dict[str, str], tuple[str, ...]]:
    blocked = {squash(name) for name in unavailable}
    models: dict[str, str] = {}
    phrases = []
    for phrase in known_model_names():
        key = squash(phrase)
        if key in blocked:
            continue
        models[key] = resolve_model(phrase).name
        phrases.append(phrase)
    return models, tuple(sorted(phrases, key=len, reverse=True))


def _feature_table(raw: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    table: dict[str, tuple[str, ...]] = {phrase_key(name): (name,) for name in ALL_FEATURES}
    for phrase, target in raw.items():
        names = target if isinstance(target, list) else [target]
        expanded: list[str] = []
        for name in names:
            expanded.extend(LAG_FEATURES if name == "ret_lags" else [name])
        unknown = [name for name in expanded if name not in ALL_FEATURES]
        if unknown:
            raise ValueError(f"vocabulary.yaml: {phrase!r} names unknown features {unknown}")
        table[phrase_key(str(phrase))] = tuple(expanded)
    return table


def _parameter_tables() -> tuple[dict[str, type], dict[str, tuple[str, ...]]]:
    kinds: dict[str, type] = {
        "train_ratio": float,
        "cost_bps": float,
        **{name: int for name in TRIAL_SETTINGS if name not in ("train_ratio", "cost_bps")},
    }
    choices: dict[str, tuple[str, ...]] = {}
    for spec in MODELS.values():
        for name, bound in spec.params.items():
            kinds.setdefault(name, bound.kind)
            if bound.choices:
                choices[name] = tuple(str(choice) for choice in bound.choices)
    return kinds, choices


@cache
def vocabulary() -> Vocabulary:
    """The vocabulary, read and checked against the registries once."""
    data = yaml.safe_load(load_text("vocabulary.yaml"))
    unavailable = {phrase_key(k): str(v) for k, v in data["unavailable_models"].items()}
    models, model_phrases = _model_tables(unavailable)
    kinds, choices = _parameter_tables()
    unsupported = tuple(
        Unsupported(name, re.compile(r"\b(?:" + spec["pattern"] + r")", re.I), spec["reason"])
        for name, spec in data["unsupported"].items()
    )
    return Vocabulary(
        not_tickers=frozenset(_items(data["not_tickers"])),
        cue_words=frozenset(_items(data["cue_words"])),
        fred_series=frozenset(_items(data["fred_series"])),
        macro_names=MappingProxyType({phrase_key(k): v for k, v in data["macro_names"].items()}),
        index_names=MappingProxyType({k.lower(): v for k, v in data["index_names"].items()}),
        sources=MappingProxyType({phrase_key(k): v for k, v in data["sources"].items()}),
        trial_sources=bar_source_names(),
        models=MappingProxyType(models),
        model_phrases=model_phrases,
        model_names=tuple(MODELS),
        unavailable_models=MappingProxyType(unavailable),
        features=MappingProxyType(_feature_table(data["features"])),
        feature_names=ALL_FEATURES,
        unavailable_features=tuple(
            phrase_key(f) for f in _items(data["unavailable_features"], ";")
        ),
        unsupported=unsupported,
        numbers=MappingProxyType(dict(data["numbers"])),
        number_scales=MappingProxyType(dict(data["number_scales"])),
        bars_per=MappingProxyType(dict(data["bars_per"])),
        key_aliases=MappingProxyType({**PARAM_ALIASES, **data["key_aliases"]}),
        param_kinds=MappingProxyType(kinds),
        param_choices=MappingProxyType(choices),
        continue_phrases=tuple(_items(data["continue_phrases"], ";")),
        reset_phrases=tuple(_items(data["reset_phrases"], ";")),
        target_phrases=MappingProxyType(_target_phrases(data["target_phrases"])),
    )


def _target_phrases(raw: Mapping[str, str]) -> dict[str, re.Pattern[str]]:
    """Each target's phrase, compiled with its horizon placeholder; only registered targets
    (a phrase for a target that is not registered would ask for something that cannot run)."""
    unknown = [name for name in raw if name not in target_names()]
    if unknown:
        raise ValueError(f"vocabulary.yaml names targets that are not registered: {unknown}")
    # Named groups may appear once in a pattern; the horizon is read apart, with `AHEAD`.
    ahead = re.sub(r"\(\?P<\w+>", "(?:", AHEAD)
    return {name: re.compile(p.replace("{ahead}", ahead), re.I) for name, p in raw.items()}
