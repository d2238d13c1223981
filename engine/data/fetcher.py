"""The seed's `DataFetcher`: a symbol's feature frame for the most recent `days` bars."""

from __future__ import annotations

import pandas as pd

from mltrainer.engine.data.registry import resolve_bars
from mltrainer.engine.design import labelled_frame
from mltrainer.engine.features import WARMUP_BARS
from mltrainer.engine.settings import Settings, load_settings
from mltrainer.engine.trial import TrialConfig


class DataFetcher:
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
