"""The research targets by name. `register_target` adds one, the built-in `direction` included
(registered at the bottom of this module, as a plugin would); `get_target` returns the
implementation a trial's `target` names. Names and descriptions are light to read, so the trial
schema and `--help` list targets without loading numpy: an implementation may be registered as
where to import it from, and is imported when a trial first needs it.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mltrainer.engine.errors import ConfigError
from mltrainer.engine.targets.base import ResearchTarget

DEFAULT_TARGET = "direction"
_NAME = re.compile(r"[a-z][a-z0-9_]{1,31}")
_IMPORT_PATH = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")


@dataclass(frozen=True)
class RegisteredTarget:
    """`cross_sectional`: the target ranks the stocks of a universe on each date, so a trial
    gives `universe` instead of `symbol`."""

    name: str
    description: str
    implementation: ResearchTarget | str
    cross_sectional: bool = False


REGISTERED_TARGETS: dict[str, RegisteredTarget] = {}
# Loaded implementations, by the registration that named them, so a replaced registration is
# loaded afresh.
_LOADED: dict[RegisteredTarget, ResearchTarget] = {}
_lock = threading.Lock()


def register_target(
    name: str,
    implementation: ResearchTarget | str,
    *,
    description: str,
    cross_sectional: bool = False,
    replace: bool = False,
) -> None:
    """Make `implementation` the research target called `name`: `TrialConfig.target`, the
    `train_model` and `sweep` schemas and every trial reach it like the built-ins.

    `implementation` is a `ResearchTarget`, or where to import one from: `"package.module:Name"`
    naming a subclass (instantiated with no arguments) or an instance. `description` is the one
    line the tool schemas show the LLM: what is predicted. `cross_sectional` marks a target that
    ranks a universe of stocks on each date (trials give `universe`; features and labels are
    per stock and date). A name already registered is refused unless `replace` is set.
    """
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"target name {name!r} must be 2 to 32 lowercase letters, digits or '_', "
            "starting with a letter"
        )
    if isinstance(implementation, str):
        if not _IMPORT_PATH.fullmatch(implementation):
            raise ValueError(
                f"target {name!r}: {implementation!r} is not an import path; write "
                "'package.module:Name'"
            )
    elif not isinstance(implementation, ResearchTarget):
        raise TypeError(
            f"target {name!r} must be a ResearchTarget or an import path 'package.module:Name', "
            f"got {type(implementation).__name__}"
        )
    if not description.strip():
        raise ValueError(f"target {name!r} needs a description: say what it predicts")
    with _lock:
        if name in REGISTERED_TARGETS and not replace:
            raise ValueError(f"a target called {name!r} is already registered; pass replace=True")
        entry = RegisteredTarget(
            name, " ".join(description.split()), implementation, cross_sectional
        )
        REGISTERED_TARGETS[name] = entry


def target_names() -> tuple[str, ...]:
    """Every registered target, in the order registered (`direction` first)."""
    return tuple(REGISTERED_TARGETS)


def target_descriptions() -> dict[str, str]:
    """Each target's one-line description, by name."""
    return {name: entry.description for name, entry in REGISTERED_TARGETS.items()}


def cross_sectional(name: str) -> bool:
    """Whether the target called `name` ranks a universe (False for an unknown name)."""
    entry = REGISTERED_TARGETS.get(name)
    return entry is not None and entry.cross_sectional


def get_target(name: str) -> ResearchTarget:
    """The implementation of the target called `name`, imported on first use."""
    with _lock:
        entry = REGISTERED_TARGETS.get(name)
        loaded = _LOADED.get(entry) if entry is not None else None
    if entry is None:
        raise ConfigError(
            f"unknown target '{name}'; targets are {', '.join(REGISTERED_TARGETS)} "
            "(plugins add more with register_target)"
        )
    if loaded is not None:
        return loaded
    # Imported outside the lock (imports have locks of their own, and a target module may ask
    # the registry for something while it loads); the first of two racing loads is kept.
    target = _load(entry)
    with _lock:
        return _LOADED.setdefault(entry, target)


def recorded_target(config: Mapping[str, Any]) -> str:
    """The target a recorded configuration (a result's `config`, as JSON) names; one recorded
    before there were targets predicted the default."""
    return str(config.get("target", DEFAULT_TARGET))


def _load(entry: RegisteredTarget) -> ResearchTarget:
    if isinstance(entry.implementation, ResearchTarget):
        return entry.implementation
    module_name, attribute = entry.implementation.split(":")
    found = getattr(importlib.import_module(module_name), attribute)
    target = found() if isinstance(found, type) and issubclass(found, ResearchTarget) else found
    if not isinstance(target, ResearchTarget):
        raise TypeError(
            f"target {entry.name!r}: {entry.implementation} is a {type(found).__name__}, not a "
            "ResearchTarget or a subclass of one"
        )
    return target


register_target(
    DEFAULT_TARGET,
    "mltrainer.engine.targets.direction:Direction",
    description="whether the close `horizon` bars ahead is above today's (up or down)",
)
register_target(
    "return",
    "mltrainer.engine.targets.returns:Return",
    description="the `horizon`-bar return a position taken now earns (a regression); trades "
    "its sign",
)
register_target(
    "rank",
    "mltrainer.engine.targets.rank:Rank",
    description="on each date, the stocks of `universe` ordered by their `horizon`-bar return "
    "(one pooled model); trades the top fifth against the bottom fifth",
    cross_sectional=True,
)
