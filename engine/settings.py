"""Settings from the environment and `.env`: the data home, data API keys, base URLs and
policy. A key no field declares (an LLM provider's, a plugin source's) is read by name with
`env_secret`, the same way: the engine knows no LLM.

Keys are `SecretStr` so they never appear in a repr, a log line or an exception message.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from pydantic import AliasChoices, Field, SecretStr, create_model, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from mltrainer.engine.errors import DataHomeError


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    home: Path = Field(
        default_factory=lambda: Path(platformdirs.user_data_dir("mltrainer")),
        validation_alias="MLTRAINER_HOME",
    )
    polygon_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("POLYGON_API_KEY", "MASSIVE_API_KEY")
    )
    fred_api_key: SecretStr | None = Field(default=None, validation_alias="FRED_API_KEY")
    polygon_base_url: str = Field(
        default="https://api.massive.com", validation_alias="POLYGON_BASE_URL"
    )
    fred_base_url: str = Field(
        default="https://api.stlouisfed.org", validation_alias="FRED_BASE_URL"
    )
    polygon_requests_per_minute: float = Field(
        default=5.0, gt=0, validation_alias="POLYGON_REQUESTS_PER_MINUTE"
    )
    fred_requests_per_minute: float = Field(
        default=120.0, gt=0, validation_alias="FRED_REQUESTS_PER_MINUTE"
    )
    http_timeout_seconds: float = Field(
        default=30.0, gt=0, validation_alias="MLTRAINER_HTTP_TIMEOUT"
    )
    http_max_attempts: int = Field(
        default=5, ge=1, le=20, validation_alias="MLTRAINER_HTTP_ATTEMPTS"
    )
    # Unset means every source in the catalog, registered ones too (see `Compliance`); the
    # names live in `engine/data/catalog.py`, not here.
    allowed_sources: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), validation_alias="MLTRAINER_ALLOWED_SOURCES"
    )
    strict: bool = Field(default=False, validation_alias="MLTRAINER_STRICT")
    allow_synthetic_fallback: bool = Field(
        default=False, validation_alias="MLTRAINER_ALLOW_SYNTHETIC_FALLBACK"
    )
    holdout_share: float = Field(
        default=0.2, gt=0.0, le=0.5, validation_alias="MLTRAINER_HOLDOUT_SHARE"
    )
    holdout_min_bars: int = Field(
        default=250, ge=20, le=5000, validation_alias="MLTRAINER_HOLDOUT_MIN_BARS"
    )
    # The largest reply read from an LLM API, on the wire and after decompression
    # (agent/providers/reply_limit.py); a bigger one is refused before it is parsed.
    max_reply_bytes: int = Field(
        default=4 * 1024 * 1024, ge=1024, le=1024**3, validation_alias="MLTRAINER_MAX_REPLY_BYTES"
    )
    # How many symbols get a label of their own in the Prometheus metrics (the ones with most
    # trials); the rest count as `other`, so /metrics stays bounded.
    metrics_symbols: int = Field(
        default=20, ge=0, le=10_000, validation_alias="MLTRAINER_METRICS_SYMBOLS"
    )
    # Where trials compute (engine/executors.py); the ledger and transcripts stay here.
    executor: Literal["local", "process", "dask"] = Field(
        default="local", validation_alias="MLTRAINER_EXECUTOR"
    )
    scheduler: str | None = Field(default=None, validation_alias="MLTRAINER_SCHEDULER")
    workers: int | None = Field(default=None, ge=1, le=1024, validation_alias="MLTRAINER_WORKERS")

    @field_validator("allowed_sources", mode="before")
    @classmethod
    def _split_sources(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip().lower() for part in value.split(",") if part.strip())
        return value

    @property
    def db_path(self) -> Path:
        return self.home / "mltrainer.db"

    @property
    def transcripts_dir(self) -> Path:
        return self.home / "transcripts"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    def ensure_home(self) -> None:
        """Create the data home's folders; `DataHomeError` says which one failed and why."""
        for folder in (self.home, self.transcripts_dir, self.models_dir, self.reports_dir):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise data_home_error(folder, error) from error
            if not os.access(folder, os.W_OK | os.X_OK):
                raise DataHomeError(
                    f"the data home folder {folder} is not writable; set MLTRAINER_HOME to a "
                    "folder you can write to"
                )


def data_home_error(path: Path, error: OSError) -> DataHomeError:
    """One message for every way a path under the data home can fail."""
    reason = error.strerror or str(error)
    if isinstance(error, FileExistsError | NotADirectoryError):
        reason = "a file is in the way (the data home must be a folder)"
    return DataHomeError(
        f"cannot use {path} in the data home: {reason}; set MLTRAINER_HOME to a writable "
        "folder (or remove what is in the way)"
    )


def load_settings() -> Settings:
    """Read settings now; not cached, so a changed environment (or a test's) takes effect."""
    return Settings()


class _NamedSecret(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    value: SecretStr | None = None


@cache
def _named_secret(name: str) -> type[_NamedSecret]:
    return create_model(
        f"NamedSecret_{name}",
        __base__=_NamedSecret,
        value=(SecretStr | None, Field(default=None, validation_alias=name)),
    )


def env_secret(name: str) -> SecretStr | None:
    """The key in environment variable `name`, read as the fields above are read (the
    environment first, then `.env`; names in any case): for keys no field declares, because
    the source or LLM provider that needs them is registered rather than listed here."""
    return _named_secret(name)().value
