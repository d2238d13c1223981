"""The notebook surface: a data home opened from Python, its ledger and sessions as pandas
DataFrames, one trial's result with its equity curves and HTML report, `train` and `finalize`.

Thin like every surface: trials run, are recorded and finalized by `ResearchService`, and
reports are written by `agent/report/`; this module only opens the home and shapes frames.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from pydantic import PrivateAttr, ValidationError

from mltrainer.agent.session.index import list_sessions
from mltrainer.engine.errors import ConfigError, DataHomeError, validation_message
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import Settings, load_settings
from mltrainer.engine.trial import FinalResult, TrialConfig, TrialResult

if TYPE_CHECKING:
    from mltrainer.agent.report.writer import WrittenReport

# The Trials table's columns (the UI's Trials page, `mltrainer trials list`), in its order:
# the return test first, then accuracy against the best baseline, then the holdout.
TRIAL_COLUMNS = (
    "model",
    "symbol",
    "data",
    "excess_sharpe",
    "return_p_value",
    "return_p_value_adjusted",
    "selection_accuracy",
    "baseline_accuracy",
    "baseline_name",
    "p_value",
    "p_value_adjusted",
    "tries",
    "sharpe",
    "buy_hold_sharpe",
    "total_return",
    "finalized",
    "holdout_looks",
    "holdout_excess_sharpe",
    "holdout_return_p_value",
    "holdout_return_p_value_adjusted",
    "holdout_accuracy",
    "holdout_p_value",
    "holdout_p_value_adjusted",
    "dataset",
    "config",
    "session",
    "recorded",
)
# Numbers the ledger may not have for a trial (recorded before the return test, never
# finalized): float columns with NaN, so they sort and plot as numbers.
FLOAT_COLUMNS = (
    "excess_sharpe",
    "return_p_value",
    "return_p_value_adjusted",
    "selection_accuracy",
    "baseline_accuracy",
    "p_value",
    "p_value_adjusted",
    "sharpe",
    "buy_hold_sharpe",
    "total_return",
    "holdout_excess_sharpe",
    "holdout_return_p_value",
    "holdout_return_p_value_adjusted",
    "holdout_accuracy",
    "holdout_p_value",
    "holdout_p_value_adjusted",
)
SESSION_COLUMNS = (
    "started",
    "goal",
    "provider",
    "model",
    "status",
    "trials",
    "conclusion",
    "resumable",
    "replay_of",
    "transcript",
)


class Trial(TrialResult):
    """One recorded trial: every field of its `TrialResult` (tries and adjusted p-values as of
    when it was read), plus its equity curves as a DataFrame and its HTML report."""

    _settings: Settings | None = PrivateAttr(default=None)

    @classmethod
    def of(cls, result: TrialResult, settings: Settings) -> Trial:
        trial = cls.model_construct(
            _fields_set=result.model_fields_set,
            **{name: getattr(result, name) for name in TrialResult.model_fields},
        )
        trial._settings = settings
        return trial

    def _recorded_in(self) -> tuple[Settings, int]:
        """The data home this trial was read from, and its number there."""
        if self._settings is None or self.trial is None:
            raise ConfigError("this trial was not read from a data home; use Research.trial(n)")
        return self._settings, self.trial

    def equity(self) -> pd.DataFrame:
        """Growth of 1.0 of each strategy on the selection days, after costs, by date:
        `long_flat` and `long_short` (the model's positions as executed) and `buy_and_hold`.
        The costs and execution are in `.attrs`."""
        settings, trial = self._recorded_in()
        curves = ResearchService(settings).equity_curves(trial)
        frame = pd.DataFrame(
            {curve.strategy: curve.equity for curve in curves.curves},
            index=pd.DatetimeIndex(pd.to_datetime(curves.dates), name="date"),
        )
        frame.columns.name = "strategy"
        frame.attrs.update(trial=curves.trial, cost_bps=curves.cost_bps, execution=curves.execution)
        return frame

    def looks(self) -> list[FinalResult]:
        """Every look at its dataset's locked holdout made with this trial's configuration,
        oldest first, each holdout p-value adjusted over the looks as of now."""
        settings, trial = self._recorded_in()
        record = ResearchService(settings).trial_record(trial)
        assert record is not None
        return [FinalResult.model_validate(look.result) for look in record.looks]

    def report(self) -> WrittenReport:
        """Write this trial's HTML report (with its holdout looks, if finalized) under the data
        home's `reports/trial-N/` and return it; in a notebook it shows itself."""
        from mltrainer.agent.report.writer import trial_report

        settings, trial = self._recorded_in()
        return trial_report(settings, trial)


class Research:
    """A data home: what `mltrainer trials`, `mltrainer finalize` and the UI read and write,
    through the same `ResearchService`. Trials trained here belong to no session, as those of
    `mltrainer train` do."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.service = ResearchService(settings)

    @property
    def home(self) -> Path:
        return self.settings.home

    def __repr__(self) -> str:
        return f"Research(home={str(self.home)!r})"

    def trials(self, *, symbol: str | None = None) -> pd.DataFrame:
        """Every recorded trial, indexed by trial number, newest first: the Trials table's
        columns with numbers as numbers (accuracies and returns as fractions, p-values
        adjusted (Holm) over every try on the trial's dataset and every look at its holdout,
        as of now); `symbol` keeps one symbol's."""
        rows = [entry.model_dump() for entry in self.service.ledger_table()]
        if symbol is not None:
            rows = [row for row in rows if row["symbol"] == symbol.upper()]
        frame = pd.DataFrame(rows, columns=[*TRIAL_COLUMNS, "trial", "created_at"])
        frame["finalized"] = frame["holdout_looks"].astype(int) > 0
        frame["recorded"] = pd.to_datetime(frame["created_at"], utc=True, format="ISO8601")
        frame[list(FLOAT_COLUMNS)] = frame[list(FLOAT_COLUMNS)].astype(float)
        frame["tries"] = frame["tries"].astype("Int64")
        frame["holdout_looks"] = frame["holdout_looks"].astype(int)
        return frame.set_index(pd.Index(frame["trial"].astype(int), name="trial"))[
            list(TRIAL_COLUMNS)
        ]

    def trial(self, trial: int | str) -> Trial:
        """A recorded trial by number or model id, with its tries and adjusted p-values as of
        now."""
        return Trial.of(self.service.recorded(trial), self.settings)

    def train(
        self,
        config: TrialConfig | None = None,
        /,
        *,
        data: pd.DataFrame | None = None,
        **fields: Any,
    ) -> Trial:
        """Run, save and record one trial: a `TrialConfig`, or its fields as keywords
        (`symbol="SPX", model="lightgbm", train_ratio=0.7`, ...); keywords given with a config
        replace its fields. `data`: your own daily bars (a frame with open, high, low, close and
        volume columns, indexed by date) instead of a data source, labelled CALLER DATA;
        finalizing the trial then needs the same bars through the end of the holdout."""
        base = {} if config is None else config.model_dump(exclude_unset=True)
        try:
            checked = TrialConfig.model_validate({**base, **fields})
        except ValidationError as error:
            raise ConfigError(f"not a trial configuration: {validation_message(error)}") from None
        trained = self.service.train(checked, data=data)
        assert trained.result.trial is not None
        return self.trial(trained.result.trial)

    def finalize(
        self, trial: int, *, again: bool = False, data: pd.DataFrame | None = None
    ) -> FinalResult:
        """Refit trial `trial`'s configuration on everything before its dataset's locked
        holdout and score the holdout once. A holdout already looked at (by any session, under
        any name for its bars) is refused naming the first look, unless `again`; then every
        holdout p-value is adjusted (Holm) over all looks. `data`: the bars a trial trained on
        your own bars needs, through the end of the holdout."""
        return self.service.finalize(trial, again=again, data=data)

    def sessions(self) -> pd.DataFrame:
        """Every session with a transcript in the data home, newest first, indexed by session
        id: goal, provider and model, how it ended, its trials and conclusion."""
        infos = list_sessions(self.settings.transcripts_dir)
        frame = pd.DataFrame(
            {
                "started": pd.to_datetime([i.started for i in infos], format="ISO8601"),
                "goal": [i.goal for i in infos],
                "provider": [i.provider for i in infos],
                "model": [i.model for i in infos],
                "status": [i.status for i in infos],
                "trials": [i.trials for i in infos],
                "conclusion": [i.conclusion for i in infos],
                "resumable": [i.resumable for i in infos],
                "replay_of": [i.replay_of for i in infos],
                "transcript": [str(i.path) for i in infos],
            },
            index=pd.Index([i.session_id for i in infos], name="session", dtype=object),
        )
        return frame.astype({"trials": int, "resumable": bool})[list(SESSION_COLUMNS)]


def _is_ledger(path: Path) -> bool:
    """Whether `path` is an SQLite database, read-only, so a stray file is not written into."""
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.DatabaseError:
        return False
    try:
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError:
        return False
    finally:
        connection.close()
    return True


def open(home: str | os.PathLike[str] | None = None) -> Research:
    """Open a data home: by default the configured one (`MLTRAINER_HOME`, from the environment
    or `.env`, else the per-user default); a folder that does not exist yet is made one. A path
    that cannot be a data home (a file, a folder that cannot be written, one whose
    `mltrainer.db` is not a ledger) raises `DataHomeError` saying why."""
    if home is not None and not isinstance(home, str | os.PathLike):
        raise TypeError(f"home must be a path (str or os.PathLike) or None, got {home!r}")
    settings = load_settings()
    if home is not None:
        settings = settings.model_copy(update={"home": Path(home).expanduser()})
    database = settings.db_path
    if database.exists() and not (database.is_file() and _is_ledger(database)):
        raise DataHomeError(
            f"{settings.home} is not a data home: its mltrainer.db is not an mltrainer ledger "
            "(an SQLite database); open an empty or new folder, or the folder `mltrainer` "
            "writes to (MLTRAINER_HOME)"
        )
    return Research(settings)
