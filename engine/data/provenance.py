"""Where data came from and what a source serves, as plain models: light enough for a trial's
schema, the tool schemas and the tools' results to import without pandas. `data.base`
re-exports them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["DataKind", "Provenance", "SourceInfo", "SymbolInfo"]

DataKind = Literal["real", "synthetic"]


class Provenance(BaseModel):
    """Where a frame came from: enough to tell real from synthetic and to detect changed data."""

    model_config = ConfigDict(frozen=True)

    source: str
    kind: DataKind
    symbol: str
    rows: int
    start: date | None
    end: date | None
    content_hash: str
    cached: bool = False
    fetched_at: datetime | None = None
    note: str = ""


class SymbolInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    symbol: str
    source: str
    kind: Literal["bars", "series"]
    description: str
    start: date | None = None
    end: date | None = None
    frequency: str = "daily"


class SourceInfo(BaseModel):
    """A data source as `list_sources` shows it: whether it may be used and has its key."""

    name: str
    kind: str
    serves: str
    needs_key: str | None
    key_set: bool
    allowed: bool
