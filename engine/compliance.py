"""The compliance gate: which data a trial may use, which symbols are well-formed, which
parameters are in bounds (each alone, and together: a trial estimated over the time limit is
refused, see `costs`), and whether synthetic data is allowed at all.

A failed check raises `ComplianceError` with a message an LLM can act on; it never logs and lets
the trial run anyway.
"""

from __future__ import annotations

import re
from datetime import date

from mltrainer.engine.data.catalog import source_names
from mltrainer.engine.errors import ComplianceError, ConfigError
from mltrainer.engine.models import resolve_model
from mltrainer.engine.settings import Settings, load_settings
from mltrainer.engine.trial import TICKER_PATTERN, TrialConfig

_TICKER = re.compile(TICKER_PATTERN)
_SERIES_ID = re.compile(r"^[A-Z][A-Z0-9_]{0,29}$")


class ComplianceEngine:
    """Policy checks from settings: source allowlist, strict mode (no synthetic data)."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()

    @property
    def allowed_sources(self) -> tuple[str, ...]:
        """MLTRAINER_ALLOWED_SOURCES when set; otherwise every source, registered ones too."""
        if "allowed_sources" in self.settings.model_fields_set:
            return self.settings.allowed_sources
        return source_names()

    def check_data_source(self, source: str | None) -> bool:
        """True when the source may be used; `None` or "auto" means the default resolution."""
        if source is None or source.lower() == "auto":
            return True
        name = source.lower()
        if name == "synthetic" and self.settings.strict:
            return False
        return name in self.allowed_sources

    def check_symbol(self, symbol: str) -> bool:
        """Ticker syntax only: letters, digits, '.', '-'; nothing that becomes a path or SQL."""
        return bool(_TICKER.fullmatch(symbol))

    def check_series_id(self, series_id: str) -> bool:
        """FRED id syntax: upper-case letters, digits and '_' (e.g. DGS10, UNRATE)."""
        return bool(_SERIES_ID.fullmatch(series_id))

    def require_data_source(self, source: str | None) -> None:
        if self.check_data_source(source):
            return
        name = (source or "").lower()
        if name == "synthetic" and self.settings.strict:
            raise ComplianceError(
                "strict mode refuses synthetic data; use a real source "
                f"({', '.join(s for s in self.allowed_sources if s != 'synthetic')})"
            )
        known = "" if name in source_names() else f" ('{source}' is not a data source)"
        raise ComplianceError(
            f"data source '{source}' is not allowed{known}; allowed sources are "
            f"{', '.join(self.allowed_sources)} (set MLTRAINER_ALLOWED_SOURCES to change)"
        )

    def require_symbol(self, symbol: str) -> None:
        if not self.check_symbol(symbol):
            raise ComplianceError(
                f"'{symbol}' is not a valid ticker; use 1-10 letters, digits, '.' or '-', "
                "starting with a letter (e.g. MSFT, BRK.B)"
            )

    def require_series_id(self, series_id: str) -> None:
        if not self.check_series_id(series_id):
            raise ComplianceError(
                f"'{series_id}' is not a valid FRED series id; use upper-case letters, digits "
                "and '_' (e.g. DGS10, UNRATE)"
            )

    def require_date_range(self, start: date | None, end: date | None) -> None:
        """A data request's dates: start no later than end, and not in the future."""
        today = date.today()
        if start is not None and start > today:
            raise ComplianceError(f"start {start} is in the future (today is {today}); no data yet")
        if start is not None and end is not None and start > end:
            raise ComplianceError(f"start {start} is after end {end}; give start <= end")

    def require_synthetic_allowed(self, *, explicit: bool) -> None:
        """Synthetic data only when asked for, or when policy allows it as a fallback."""
        if self.settings.strict or "synthetic" not in self.allowed_sources:
            raise ComplianceError(
                "synthetic data is not allowed by policy (strict mode or allowlist); "
                "use a real source"
            )
        if not explicit and not self.settings.allow_synthetic_fallback:
            raise ComplianceError(
                "no real data for this symbol and synthetic fallback is off "
                "(MLTRAINER_ALLOW_SYNTHETIC_FALLBACK=false)"
            )

    def check_trial(self, config: TrialConfig) -> None:
        """Every check a trial needs before it touches data; raises on the first failure."""
        self.require_symbol(config.symbol)
        self.require_data_source(config.source)
        self.require_date_range(config.start, config.end)
        for series_id in config.macro:
            self.require_series_id(series_id)
        try:
            resolve_model(config.model).validate_params(config.params)
        except ConfigError as error:
            raise ComplianceError(str(error)) from error
        if config.days is not None:  # an upper bound on the rows, known before any data
            self.check_trial_cost(config, rows=config.days)

    def check_trial_cost(self, config: TrialConfig, *, rows: int) -> None:
        """Refuse a trial whose estimated time on two cores is over the per-trial limit
        (see `costs`); `rows` is the number of bars it will use, once they are known."""
        try:
            resolve_model(config.model).check_cost(
                config.params, folds=config.folds, rows=rows, lookback=config.lookback
            )
        except ConfigError as error:
            raise ComplianceError(str(error)) from error
