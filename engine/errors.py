"""Exceptions the engine raises; only the CLI turns them into exit codes and one-line messages."""

from __future__ import annotations

from pydantic import ValidationError


class MLTrainerError(Exception):
    """Base class: every message is written to be shown to a user or an LLM as it is."""


class ConfigError(MLTrainerError, ValueError):
    """A trial configuration or parameter is invalid; the message names the allowed values."""


class DataSourceError(MLTrainerError):
    """A data source could not deliver: unknown symbol, missing key, HTTP failure, empty range."""


class ComplianceError(MLTrainerError):
    """The compliance gate refused a source, symbol, parameter or synthetic data."""


class ModelUnavailableError(MLTrainerError):
    """A registered model needs an optional dependency that is not installed."""


class InsufficientDataError(ConfigError):
    """Too few rows for the requested split, folds, lookback or horizon."""


class HoldoutAlreadyScored(ConfigError):
    """A finalize without `again` at a holdout that was already scored (any session, any
    name for the same bars); the message names the earlier look and its date."""

    def __init__(self, *, dataset: str, trial: int, session: str | None, when: str) -> None:
        self.dataset = dataset
        made = f"session {session}" if session else "no session"
        super().__init__(
            f"the locked holdout of {dataset} was already scored: look 1, trial {trial} "
            f"({made}), on {when[:10]}. A holdout gives one untouched look; another would make "
            "it one more selection set. Report that look's result, or look again on purpose "
            "with again=True (on the command line: --again): every holdout p-value is then "
            "adjusted (Holm) over all looks at this holdout, and that adjusted number is the "
            "one to report"
        )


class DataHomeError(MLTrainerError):
    """The data home (`MLTRAINER_HOME`) or a file in it cannot be created, read or written."""


class DeadlineError(MLTrainerError):
    """Work stopped because it reached its deadline (a session's wall-time budget)."""


def validation_message(error: ValidationError) -> str:
    """One line per problem: where, what is wrong, what was given."""
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "config"
        given = f" (got {item['input']!r})" if "input" in item and item["type"] != "missing" else ""
        parts.append(f"{where}: {item['msg']}{given}")
    return "; ".join(parts)
