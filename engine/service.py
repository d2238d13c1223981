"""`ResearchService`: the engine's typed interface. `train(TrialConfig)` returns a `TrialResult`,
`finalize` a `FinalResult`; every successful trial is saved and recorded, nothing is
half-written, and expected failures raise `MLTrainerError` subclasses whose messages name the
valid choices. The tools, the seed's dict API (`agent/seed.py`) and every surface call this.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.pipeline import Pipeline

from mltrainer.engine import report_data
from mltrainer.engine.compare import compare_trials, ranked, require_comparable
from mltrainer.engine.compliance import ComplianceEngine
from mltrainer.engine.daemon_threads import run_on_daemon_threads
from mltrainer.engine.data.base import BarSet, SeriesSet, make_provenance
from mltrainer.engine.data.catalog import is_live, is_synthetic
from mltrainer.engine.data.panel import PanelSet, resolve_panel
from mltrainer.engine.data.registry import listed_symbols, resolve_bars, resolve_series
from mltrainer.engine.errors import (
    ConfigError,
    DataSourceError,
    InsufficientDataError,
    MLTrainerError,
)
from mltrainer.engine.executors import TrialExecutor, TrialJob, executor_for
from mltrainer.engine.finalize import score_holdout
from mltrainer.engine.holdout import (
    Development,
    dataset_key,
    dataset_kind,
    development_bars,
    lock_holdout,
    names_its_data,
)
from mltrainer.engine.importance import FeatureImportance, permutation_importance
from mltrainer.engine.ledger import Ledger, Look, already_scored
from mltrainer.engine.looks import adjusted_over, family_note, relook_note
from mltrainer.engine.metrics import recorded_backtest
from mltrainer.engine.models import resolve_model
from mltrainer.engine.persistence import commit_staged, discard_staged, recover_staged, stage_model
from mltrainer.engine.results import BarsSummary, Comparison, Evaluation, SeriesSummary
from mltrainer.engine.runner import data_label
from mltrainer.engine.selection import (
    adjusted_p_values,
    adjusted_return_p_values,
    same_window,
    selection_stats,
)
from mltrainer.engine.settings import Settings, load_settings
from mltrainer.engine.signal import Signal, latest_signal
from mltrainer.engine.targets import get_target, recorded_target
from mltrainer.engine.targets.registry import cross_sectional
from mltrainer.engine.trial import (
    FinalResult,
    RankBy,
    SelectionStats,
    TrialConfig,
    TrialResult,
    recorded_baselines,
)

_recovered: set[Path] = set()
_recovered_lock = threading.Lock()


@dataclass(frozen=True)
class Trained:
    """A recorded trial; `pipeline` is None when the trial was adopted from the ledger."""

    result: TrialResult
    pipeline: Pipeline | None


@dataclass(frozen=True)
class TrialRecord:
    """What the ledger knows about one trial now: its result (tries counted as of now), the
    session that ran it, its selection statistics and its looks at the dataset's holdout (their
    p-values adjusted over the looks as of now)."""

    result: TrialResult
    session: str | None
    selection_stats: SelectionStats
    looks: list[Look]


def bars_from_frame(frame: pd.DataFrame, symbol: str) -> BarSet:
    """Bars a caller passed in: an OHLCV frame, or a feature frame from the seed's `DataFetcher`."""
    if isinstance(frame.attrs.get("bars"), BarSet):
        bars: BarSet = frame.attrs["bars"]
        return bars
    columns = {str(c).lower(): c for c in frame.columns}
    needed = ("open", "high", "low", "close", "volume")
    if any(c not in columns for c in needed):
        raise ConfigError(
            f"data must be daily bars with columns {list(needed)}; got {list(frame.columns)}"
        )
    bars_frame = frame[[columns[c] for c in needed]].set_axis(list(needed), axis=1).astype(float)
    bars_frame.index = pd.DatetimeIndex(bars_frame.index).as_unit("ns").rename("date")
    return BarSet(
        bars_frame,
        make_provenance(
            bars_frame,
            source="caller",
            kind="real",
            symbol=symbol,
            note="frame passed by the caller",
        ),
    )


class ResearchService:
    """Trains, scores, saves and records trials for one session (or none). Thread-safe."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        session: str | None = None,
        data: Mapping[str, pd.DataFrame | BarSet] | None = None,
        executor: TrialExecutor | None = None,
    ) -> None:
        """`data` maps symbols to bars the caller brings (labelled CALLER DATA): trials on those
        symbols with `source: auto`, and their finalize, use them instead of a data source.
        `executor` is where trials compute; by default the process-wide one the settings name."""
        self.settings = settings or load_settings()
        self.settings.ensure_home()
        self.executor = executor or executor_for(self.settings)
        self.session = session
        self.data = {
            symbol.upper(): bars if isinstance(bars, BarSet) else bars_from_frame(bars, symbol)
            for symbol, bars in (data or {}).items()
        }
        self.compliance = ComplianceEngine(self.settings)
        self.ledger = Ledger(self.settings.db_path)
        self._recover_models()

    def _recover_models(self) -> None:
        folder = self.settings.models_dir.resolve()
        with _recovered_lock:
            if folder in _recovered:
                return
            recover_staged(folder, self.ledger.model_paths())
            _recovered.add(folder)

    # -- trials ---------------------------------------------------------------------------
    def train(
        self,
        config: TrialConfig,
        *,
        data: pd.DataFrame | BarSet | None = None,
        call_id: str | None = None,
        deadline: float | None = None,
    ) -> Trained:
        """Run, save and record one trial. A tool call this session already recorded (a
        resumed session repeating it) returns the recorded trial instead of training again."""
        if self.session is not None and call_id is not None:
            recorded = self.ledger.trial_for_call(self.session, call_id)
            if recorded is not None:
                return Trained(self.recorded(recorded), None)
        self.compliance.check_trial(config)
        tick = time.perf_counter()
        bars, history = self._bars(config, data)
        notes: list[str] = []
        if bars.provenance.kind == "synthetic":
            asked_for = is_synthetic(config.source)
            self.compliance.require_synthetic_allowed(explicit=asked_for)
            if not asked_for:
                notes.append(
                    f"SYNTHETIC DATA: {config.symbol} has no real bars and the synthetic "
                    "fallback is switched on (MLTRAINER_ALLOW_SYNTHETIC_FALLBACK), so a seeded "
                    "random walk was used"
                )
        development = self._development(config, bars, history)
        # A universe's model fits one row per stock and date.
        rows = len(development.bars.frame) * (
            len(development.bars.members) if isinstance(development.bars, PanelSet) else 1
        )
        self.compliance.check_trial_cost(config, rows=rows)
        macro = self._macro(config.macro, development.info.used.end)
        outcome = self.executor.run(
            TrialJob(
                config,
                development.bars,
                macro,
                development.info,
                data_seconds=time.perf_counter() - tick,
                notes=(*notes, *development.notes),
                deadline=deadline,
            )
        )
        result = outcome.result
        staged = None
        if config.save_model:
            staged = stage_model(outcome.pipeline, self.settings.models_dir, result.model_id)
            result = result.model_copy(
                update={"model_path": str(staged.final), "model_sha256": staged.sha256}
            )
        try:
            number = self.ledger.record(
                result, outcome.predictions, session=self.session, call_id=call_id
            )
        except BaseException:
            if staged is not None:
                discard_staged(staged)
            raise
        if staged is not None:
            commit_staged(staged)
        return Trained(
            self._with_tries(result.model_copy(update={"trial": number})), outcome.pipeline
        )

    def sweep(
        self,
        configs: Sequence[TrialConfig],
        *,
        call_id: str | None = None,
        deadline: float | None = None,
    ) -> list[TrialResult | MLTrainerError]:
        """Train a grid of configurations concurrently on the executor, each recorded and
        counted as one try exactly as `train` records it (a tool call's `call_id` gets `#1`,
        `#2`, ... so a repeated call adopts them). Every configuration is checked before any
        runs, and one that fails the checks refuses the grid; one that fails while running is
        returned as its error. Results are read back once all are counted, so each adjusted
        p-value covers the whole grid."""
        for config in configs:
            self.compliance.check_trial(config)
            resolve_model(config.model).validate_params(config.params)

        def train(number: int, config: TrialConfig) -> Trained | MLTrainerError:
            call = None if call_id is None else f"{call_id}#{number}"
            try:
                return self.train(config, call_id=call, deadline=deadline)
            except MLTrainerError as error:
                return error

        # Daemon threads, each in a copy of the caller's context: engine progress still
        # reaches whoever is listening, and an abandoned sweep never holds the process open.
        outcomes = run_on_daemon_threads(
            [partial(train, number, config) for number, config in enumerate(configs, start=1)],
            self.executor.workers,
            "sweep",
        )
        return [
            outcome if isinstance(outcome, MLTrainerError) else self._read_back(outcome)
            for outcome in outcomes
        ]

    def _read_back(self, trained: Trained) -> TrialResult:
        assert trained.result.trial is not None
        return self.recorded(trained.result.trial)

    def recorded(self, key: str | int) -> TrialResult:
        """A recorded trial with its tries and adjusted p-value as of now."""
        stored = self.ledger.result(key)
        if stored is None:
            raise ConfigError(f"no recorded trial '{key}'; list them with `mltrainer trials list`")
        return self._recorded(stored)

    def _recorded(self, stored: dict[str, Any]) -> TrialResult:
        if "dataset" not in stored:
            raise ConfigError(
                f"trial {stored['trial']} was recorded before datasets had a locked holdout; "
                "train it again to get selection statistics and to finalize it"
            )
        return self._with_tries(TrialResult.model_validate(stored))

    def _with_tries(self, result: TrialResult) -> TrialResult:
        """The result with what the ledger counts as of now: tries on its dataset, the
        adjusted p-value over them, and looks at the dataset's holdout."""
        assert result.trial is not None
        tries = self.ledger.tries(result.dataset.key)
        looks = self.ledger.look_count(result.dataset.key)
        update: dict[str, Any] = {
            "tries": len(tries),
            "tries_same_window": len(same_window(tries, result.trial)),
            "p_value_adjusted": adjusted_p_values(tries)[result.trial],
            "dataset": result.dataset.model_copy(update={"holdout_looks": looks}),
        }
        if result.return_test is not None:
            update["return_p_value_adjusted"] = adjusted_return_p_values(tries)[result.trial]
        return result.model_copy(update=update)

    def _bars(
        self, config: TrialConfig, data: pd.DataFrame | BarSet | None
    ) -> tuple[BarSet | PanelSet, BarSet | PanelSet]:
        """The bars a trial starts from (from `start` to the newest bar) and the history the
        dataset's holdout is fixed on the first time: the whole series where that costs
        nothing (sample, synthetic, caller data), the requested range for a live source. For
        a universe, its panel of closes, the same way."""
        if config.universe is not None:
            if data is not None:
                raise ConfigError(
                    f"target '{config.target}' reads its universe's bars; to rank stocks you "
                    "bring yourself, pass them to ResearchService(data={symbol: bars}) and "
                    "list the symbols as the universe"
                )
            return self._panel(config)
        if data is None and config.source == "auto":
            # Bars the caller brought for this symbol; a source asked for by name still wins.
            data = self.data.get(config.symbol)
        if data is not None:
            bars = data if isinstance(data, BarSet) else bars_from_frame(data, config.symbol)
            if config.start is not None:
                frame = bars.frame[bars.frame.index >= pd.Timestamp(config.start)]
                return BarSet(frame, bars.provenance), bars
            return bars, bars
        path = None if config.path is None else Path(config.path)
        bars = resolve_bars(
            config.symbol, config.source, self.settings, start=config.start, path=path
        )
        source = bars.provenance.source
        # A live source's holdout is fixed on the range first requested, not on a full
        # history that would cost requests (and a paid plan) to learn.
        if config.start is None or is_live(source):
            return bars, bars
        return bars, resolve_bars(config.symbol, source, self.settings, path=path)

    def _panel(self, config: TrialConfig) -> tuple[PanelSet, PanelSet]:
        assert config.universe is not None
        panel = resolve_panel(
            config.universe, config.source, self.settings, start=config.start, caller=self.data
        )
        if config.start is None or is_live(panel.provenance.source):
            return panel, panel
        return panel, resolve_panel(config.universe, config.source, self.settings, caller=self.data)

    def _development(
        self, config: TrialConfig, bars: BarSet | PanelSet, history: BarSet | PanelSet
    ) -> Development:
        """`bars` clipped before their dataset's holdout: the dataset their content is, under
        any name, locked on first use (`engine/datasets.py`; a universe's content is all its
        members' closes)."""
        source = bars.provenance.source
        locked = lock_holdout(
            self.ledger,
            history,
            dataset_key(source, config.symbol, dataset_kind(bars)),
            trust_name=names_its_data(source),
            share=self.settings.holdout_share,
            min_bars=self.settings.holdout_min_bars,
        )
        development = development_bars(bars, locked.dataset, config, looks=locked.looks)
        if locked.note is None:
            return development
        return replace(development, notes=[locked.note, *development.notes])

    def _macro(self, series_ids: list[str], end: date) -> dict[str, SeriesSet]:
        return {
            series_id: resolve_series(series_id, self.settings, start=None, end=end)
            for series_id in series_ids
        }

    # -- the locked holdout ---------------------------------------------------------------
    def best_trial(self, rank_by: RankBy = "return_test") -> int:
        """This session's best trial on its selection segment, by `rank_by` (by default the
        return test's t-statistic), among comparable tries only: when the session's trials
        predict different targets or horizons, which to finalize is the caller's to say. Ties
        go to a hash of the configuration, so the same script picks the same trial however
        its parallel calls finished."""
        if self.session is None:
            raise ConfigError("name the trial to finalize; there is no session to pick from")
        rows = self.ledger.rows(session=self.session, limit=None)
        if not rows:
            raise ConfigError("this session has no trials yet; train one before finalizing")
        results = [self.ledger.result(r.trial) for r in rows]
        candidates = [r for r in results if r is not None and "dataset" in r]
        if not candidates:
            raise ConfigError("this session's trials predate the locked holdout; train again")
        require_comparable(candidates, "finalize picks among", "name the trial to finalize")
        return int(candidates[ranked(candidates, rank_by)[0]]["trial"])

    def finalize(
        self,
        trial: int | None = None,
        *,
        rank_by: RankBy = "return_test",
        again: bool = False,
        data: pd.DataFrame | BarSet | None = None,
        call_id: str | None = None,
        deadline: float | None = None,
    ) -> FinalResult:
        """Refit one trial's configuration on everything before its dataset's holdout and
        score the holdout. A holdout is scored once: a second look (any session, any name for
        the same bars) raises `HoldoutAlreadyScored` naming the first, unless `again`; then
        every holdout p-value is adjusted over all looks at that holdout (`engine/looks.py`).
        Every look is counted in the ledger; a tool call already counted returns its look."""
        if self.session is not None and call_id is not None:
            done = self.ledger.look_for_call(self.session, call_id)
            if done is not None:
                return self._shown(done)
        number = trial if trial is not None else self.best_trial(rank_by)
        chosen = self.recorded(number)
        choice = (
            []
            if trial is not None
            else [
                f"trial {number} was chosen as this session's best by {rank_by.replace('_', ' ')} "
                f"among its comparable tries ({chosen.config.target}, horizon "
                f"{chosen.config.horizon})"
            ]
        )
        key = chosen.dataset.key
        earlier = self.ledger.looks(key)
        if earlier and not again:
            raise already_scored(earlier[0])
        dataset = self.ledger.dataset(key)
        assert dataset is not None
        bars = self._holdout_bars(chosen, data)
        last = bars.frame.index[-1].date()
        if last < dataset.holdout_start:
            raise InsufficientDataError(
                f"the bars of trial {number} ({chosen.provenance.source} {chosen.symbol}) end "
                f"on {last}, before the locked holdout of {key} begins "
                f"({dataset.holdout_start}): there is nothing to score. They are that "
                "dataset's bars (matched by content); finalize with bars that reach into "
                "its holdout"
            )
        run = score_holdout(
            chosen.config,
            bars,
            self._macro(chosen.config.macro, dataset.holdout_end),
            dataset,
            used=chosen.dataset.used,
            used_hash=chosen.dataset.used_hash,
            deadline=deadline,
        )
        predictions = self.ledger.predictions(number)
        assert predictions is not None
        stats = selection_stats(
            self.ledger, key, number, predictions, chosen.backtest.long_flat.sharpe
        )
        final = FinalResult(
            trial=number,
            model_id=chosen.model_id,
            model=chosen.model,
            symbol=chosen.symbol,
            data_label=chosen.data_label,
            dataset=key,
            config=chosen.config,
            selection_accuracy=chosen.selection_accuracy,
            holdout=run.score,
            selection_stats=stats,
            look=len(earlier) + 1,
            untouched=not earlier,
            session=self.session,
            notes=[*choice, *run.notes],
        )

        def counted(look: Look, family: list[Look]) -> dict[str, Any]:
            shown = adjusted_over(final, look, family)
            notes = list(shown.notes)
            if shown.look > 1:
                notes.append(relook_note(shown))
            elif shown.family > 1:
                notes.append(family_note(shown))
            return shown.model_copy(update={"notes": notes, "again": shown.look > 1}).model_dump(
                mode="json"
            )

        look = self.ledger.record_look(
            key,
            number,
            final.model_dump(mode="json"),
            session=self.session,
            call_id=call_id,
            again=again,
            finish=counted,
        )
        return FinalResult.model_validate(look.result)

    def _shown(self, look: Look) -> FinalResult:
        """A recorded look with its holdout p-values adjusted over its family as of now."""
        return adjusted_over(
            FinalResult.model_validate(look.result), look, self.ledger.family_of(look)
        )

    def _holdout_bars(
        self, chosen: TrialResult, data: pd.DataFrame | BarSet | None
    ) -> BarSet | PanelSet:
        universe = chosen.config.universe
        if universe is not None and cross_sectional(chosen.config.target):
            source = "auto" if chosen.provenance.source == "caller" else chosen.config.source
            return resolve_panel(
                universe,
                source,
                self.settings,
                start=chosen.dataset.used.start,
                caller=self.data,
            )
        if chosen.provenance.source == "caller":
            data = data if data is not None else self.data.get(chosen.symbol)
            if data is None:
                raise ConfigError(
                    f"trial {chosen.trial} ran on bars passed in by the caller; pass the same "
                    "bars (through the end of the holdout) to finalize"
                )
            return data if isinstance(data, BarSet) else bars_from_frame(data, chosen.symbol)
        path = chosen.config.path
        return resolve_bars(
            chosen.symbol,
            chosen.provenance.source,
            self.settings,
            start=chosen.dataset.used.start,
            path=None if path is None else Path(path),
        )

    # -- reading the ledger ---------------------------------------------------------------
    def known_symbols(self) -> frozenset[str]:
        """The tickers mltrainer knows by name: those its allowed sources list, and every
        symbol a trial in the ledger used. Free text may name them in lower case."""
        return listed_symbols(self.settings) | self.ledger.symbols()

    def compare(
        self, trials: list[int] | None = None, *, rank_by: RankBy = "return_test"
    ) -> Comparison:
        """Compare the given trials, or every trial of this session (no cap)."""
        keys: list[str | int] = list(trials or [])
        if not keys and self.session:
            keys = [row.trial for row in self.ledger.rows(session=self.session, limit=None)]
        return compare_trials(self.ledger, keys, rank_by=rank_by)

    def evaluate(self, key: str | int, *, cost_bps: float | None = None) -> Evaluation:
        """Re-score a recorded trial's selection predictions, e.g. at another cost."""
        stored = self.ledger.result(key)
        predictions = self.ledger.predictions(key)
        if stored is None or predictions is None:
            raise ConfigError(f"no recorded trial '{key}'; list them with `mltrainer trials list`")
        cost = float(stored["config"]["cost_bps"] if cost_bps is None else cost_bps)
        if not 0.0 <= cost <= 100.0:
            raise ConfigError(f"cost_bps must be a number from 0 to 100, got {cost_bps!r}")
        target = get_target(recorded_target(stored["config"]))
        execution = stored["config"].get("execution", "close")
        return Evaluation(
            trial=stored["trial"],
            model_id=stored["model_id"],
            model=stored["model"],
            symbol=stored["symbol"],
            synthetic=stored["synthetic"],
            data_label=stored["data_label"],
            selection_period=stored.get("selection_period", stored.get("test_period")),
            selection=target.metrics(predictions),
            baselines=recorded_baselines(stored["baselines"]),
            backtest=recorded_backtest(target, predictions, cost, execution),
        )

    def fetch(
        self,
        symbol: str,
        *,
        source: str = "auto",
        kind: str = "bars",
        start: date | None = None,
        end: date | None = None,
        path: str | None = None,
    ) -> BarsSummary | SeriesSummary:
        """Bars (or a macro series with `kind="series"`) summarised: provenance, range, last
        value. For bars, only the part before the dataset's locked holdout is described.
        `path`: the file a file source (`csv`) reads."""
        symbol = symbol.upper()
        if kind == "series":
            series = resolve_series(symbol, self.settings, start=start, end=end)
            if series.frame.empty:
                raise DataSourceError(f"{symbol} has no observations between {start} and {end}")
            return SeriesSummary(
                provenance=series.provenance,
                point_in_time=series.point_in_time,
                last_value=float(series.frame["value"].iloc[-1]),
            )
        self.compliance.require_data_source(source)
        config = TrialConfig(symbol=symbol, source=source, start=start, end=end, path=path)
        bars, history = self._bars(config, None)
        if bars.provenance.kind == "synthetic":
            self.compliance.require_synthetic_allowed(explicit=is_synthetic(source))
        development = self._development(config, bars, history)
        close = development.bars.frame["close"]
        return BarsSummary(
            data_label=data_label(bars, synthetic=bars.provenance.kind == "synthetic"),
            provenance=bars.provenance,
            dataset=development.info,
            last_close_before_holdout=float(close.iloc[-1]),
            total_return_before_holdout=float(close.iloc[-1] / close.iloc[0] - 1.0),
            notes=development.notes,
        )

    def trial_session(self, key: str | int) -> str | None:
        """The session that recorded a trial (by number or model id), None when it was recorded
        outside any session; `ConfigError` when there is no such trial. A surface that keeps
        each caller to its own session's trials asks this."""
        stored = self.ledger.result(key)
        if stored is None:
            raise ConfigError(f"no recorded trial {key!r}")
        session = stored.get("session")
        return str(session) if session is not None else None

    def trial_record(self, key: str | int) -> TrialRecord | None:
        """A recorded trial by number or model id with its selection statistics as of now
        (every try on its dataset counts, whichever session made it); None when there is none."""
        stored = self.ledger.result(key)
        if stored is None:
            return None
        result = self._recorded(stored)
        assert result.trial is not None
        predictions = self.ledger.predictions(result.trial)
        assert predictions is not None
        stats = selection_stats(
            self.ledger,
            result.dataset.key,
            result.trial,
            predictions,
            result.backtest.long_flat.sharpe,
        )
        looks = [
            look.model_copy(update={"result": self._shown(look).model_dump(mode="json")})
            for look in self.ledger.looks(result.dataset.key)
            if look.trial == result.trial
        ]
        return TrialRecord(result, stored.get("session"), stats, looks)

    def trial_rows(
        self, *, limit: int | None = 50, symbol: str | None = None
    ) -> list[report_data.TrialRow]:
        """Recorded trials, newest first, with adjusted p-values and tries as of now."""
        return report_data.trial_rows(self.ledger, limit=limit, symbol=symbol)

    def ledger_table(self, *, limit: int | None = None) -> list[report_data.LedgerEntry]:
        """The ledger as the Trials table shows it: configuration, data label, selection and
        holdout numbers of every trial, newest first."""
        return report_data.ledger_table(self.ledger, limit=limit)

    def equity_curves(self, trial: int) -> report_data.EquityCurves:
        return report_data.equity_curves(self.ledger, trial)

    def confusion_matrix(self, trial: int) -> report_data.ConfusionMatrix:
        return report_data.confusion_matrix(self.ledger, trial)

    def forecast_charts(self, trial: int) -> report_data.ForecastCharts:
        """A return or rank trial's IC over time and returns by fifth of its forecast."""
        return report_data.forecast_charts(self.ledger, trial)

    def session_accuracy(
        self, trials: list[int], session: str | None = None
    ) -> report_data.SessionAccuracy:
        return report_data.session_accuracy(self.ledger, trials, session)

    def predict(self, key: str | int, *, as_of: date | None = None) -> Signal:
        """A recorded trial's saved model on the newest bars its data source has (up to
        `as_of`, when given): its forecast for the bars after the newest, with the bar's date,
        the data's hash and provenance and the model's. Refused with the reason when the model
        file fails its check or the features cannot be built. Scores nothing: no try, no
        look."""
        return latest_signal(self.ledger, self.settings, key, as_of=as_of)

    def feature_importance(self, trial: int, *, repeats: int = 10) -> FeatureImportance:
        """Permutation importance of a trial's saved model on its rebuilt selection rows."""
        return permutation_importance(self.ledger, self.settings, trial, repeats=repeats)

    def finalized(self) -> list[FinalResult]:
        """The holdout results this session produced, oldest first."""
        if self.session is None:
            return []
        return [self._shown(look) for look in self.ledger.looks(session=self.session)]
