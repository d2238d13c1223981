"""Where data came from, as plain models: light enough for a trial's schema (and the tool
schemas built on it) to import without pandas. `data.base` re-exports them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["DataKind", "Provenance", "SymbolInfo"]

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
