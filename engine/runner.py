"""One trial, start to finish, as a pure function of its config and data: the design (features
and the research target's labels), walk-forward folds inside the training period, a final fit,
and the target's out-of-sample scores on the selection segment. `score_segment` is shared with
`finalize`, which scores the same way on the locked holdout.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.pipeline import Pipeline

from mltrainer.engine.data.base import BarSet, SeriesSet
from mltrainer.engine.data.catalog import file_source_names
from mltrainer.engine.data.panel import PanelSet, survivorship_of
from mltrainer.engine.design import Design, build_design, check_estimator, left_out_note
from mltrainer.engine.errors import DeadlineError
from mltrainer.engine.ledger import TrialPredictions
from mltrainer.engine.models import ModelSpec, resolve_model
from mltrainer.engine.progress import report
from mltrainer.engine.stopping import check_stopped
from mltrainer.engine.targets import (
    DEFAULT_TARGET,
    ResearchTarget,
    SegmentScore,
    get_target,
    recorded_target,
)
from mltrainer.engine.trial import (
    DatasetInfo,
    FoldScore,
    Timings,
    TrialConfig,
    TrialResult,
)
from mltrainer.engine.validation import WalkForwardSplit, split_at

if TYPE_CHECKING:
    from threadpoolctl import ThreadpoolController

CODE_VERSION = version("mltrainer")


@dataclass(frozen=True)
class TrialOutcome:
    result: TrialResult
    pipeline: Pipeline
    predictions: TrialPredictions


def model_id_for(config: TrialConfig, spec: ModelSpec, data_hashes: list[str]) -> str:
    """Same config on the same data -> the same id; anything that changes numbers changes it.

    Parameters are hashed after defaults are filled in, so `{}` and the defaults written out
    (the same model) share an id. The default target is left out of the hash: ids of trials
    recorded before there were targets stay what they were.
    """
    left_out = {"save_model"} | ({"target"} if config.target == DEFAULT_TARGET else set())
    payload = config.model_dump(mode="json", exclude=left_out)
    payload["model"] = spec.name
    payload["params"] = spec.validate_params(config.params)
    digest = hashlib.sha256(
        json.dumps([payload, data_hashes], sort_keys=True).encode()
    ).hexdigest()[:10]
    return f"{config.symbol}-{spec.name}-{digest}"


def data_label(bars: BarSet | PanelSet, *, synthetic: bool) -> str:
    """What results call the bars: SYNTHETIC DATA when any input is synthetic, else REAL DATA
    or CALLER DATA."""
    if synthetic:
        return "SYNTHETIC DATA"
    # Bars handed in by a caller, or read from the user's own file, cannot be vouched for:
    # they are not called real.
    source = bars.provenance.source
    return "CALLER DATA" if source == "caller" or source in file_source_names() else "REAL DATA"


def _convergence_note(pipeline: Pipeline, spec: ModelSpec) -> str | None:
    """Iterative models that stopped at their iteration cap: worth saying next to the numbers."""
    model = pipeline.steps[-1][1]
    done = getattr(model, "n_iter_", None)
    cap = getattr(model, "max_iter", None)
    if done is None or cap is None:
        return None
    if int(np.max(np.atleast_1d(done))) >= cap:
        return f"{spec.name} stopped at its iteration cap ({cap}) before converging"
    return None


@dataclass(frozen=True)
class Scored:
    """One fitted pipeline's numbers on one stretch of rows, and how long it took to predict."""

    segment: SegmentScore
    predict_seconds: float


def score_segment(
    target: ResearchTarget,
    pipeline: Pipeline,
    design: Design,
    fit_rows: np.ndarray,
    scored_rows: np.ndarray,
    config: TrialConfig,
) -> Scored:
    """Forecast `scored_rows` with `pipeline`, then the target's scores of those forecasts."""
    tick = time.perf_counter()
    forecast = target.forecast(pipeline, design.X[scored_rows])
    seconds = time.perf_counter() - tick
    return Scored(target.score(forecast, design, fit_rows, scored_rows, config), seconds)


def fresh_pipeline(spec: ModelSpec, params: dict[str, Any], config: TrialConfig) -> Pipeline:
    """The config's unfitted model, of the kind its target needs (classifier or regressor).
    Built anew for every fit rather than cloned: the same pipeline, without `clone`'s
    signature introspection on every fold."""
    kind = get_target(config.target).estimator_type
    built = spec.make_estimator(params, config.seed, kind=kind)
    if spec.sequence:
        built.set_params(model__window=config.lookback)
    return built


@contextmanager
def one_openmp_thread() -> Iterator[None]:
    """OpenMP (scikit-learn's histogram boosting, nearest neighbours) on the calling thread
    only, while a trial fits and predicts. Trials already run side by side, one per core; an
    OpenMP team per trial on top of that waits at every barrier for threads that another trial
    or process holds, which on a busy 2-core machine cost 30x the CPU of one thread. The limit
    is per thread, and the numbers do not change (each tree's split search is the same)."""
    with _thread_pools().limit(limits=1, user_api="openmp"):
        yield


@cache
def _thread_pools() -> ThreadpoolController:
    """The process's native thread pools, found once: scanning the loaded libraries costs up to
    50 ms a time on a busy machine. scikit-learn's OpenMP runtime is loaded with scikit-learn,
    which this module imports, so it is among them."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def fit_for_prediction(pipeline: Pipeline, X: np.ndarray, y: np.ndarray) -> Pipeline:
    """Fit, then predict on one thread: forests fit their trees in parallel (each tree seeded,
    so the fit is reproducible), but summing tree probabilities in whatever order threads
    finish changes the last bits, and a seed must give the same numbers every time."""
    pipeline.fit(X, y)
    model = pipeline.steps[-1][1]
    if getattr(model, "n_jobs", None) not in (None, 1):
        model.set_params(n_jobs=1)
    return pipeline


def check_deadline(deadline: float | None, what: str) -> None:
    """`deadline` is wall-clock (`time.time()`), so it means the same in a worker process.
    Work whose caller gave up (`stopping.py`) stops here too."""
    if deadline is not None and time.time() >= deadline:
        raise DeadlineError(f"stopped at the session's deadline {what}; nothing was recorded")
    check_stopped(what)


def synthetic_inputs(bars: BarSet | PanelSet, macro: Mapping[str, SeriesSet]) -> bool:
    return bars.provenance.kind == "synthetic" or any(
        s.provenance.kind == "synthetic" for s in macro.values()
    )


def run_trial(
    config: TrialConfig,
    bars: BarSet | PanelSet,
    macro: Mapping[str, SeriesSet] | None = None,
    *,
    dataset: DatasetInfo,
    data_seconds: float = 0.0,
    notes: list[str] | None = None,
    deadline: float | None = None,
) -> TrialOutcome:
    """Train and score one model on `bars`, which must already end before the dataset's locked
    holdout (the service clips them). The selection segment is the last `1 - train_ratio` of
    those bars, cut by date, so trials with other lookbacks or features score on the same days.
    Raises `ConfigError` subclasses for anything the caller chose, `DeadlineError` at the
    deadline (checked between fits).
    """
    macro = dict(macro or {})
    notes = list(notes or [])
    notes += [
        f"macro {series_id} is not point in time ({series.provenance.note}); revisions may leak"
        for series_id, series in macro.items()
        if not series.point_in_time
    ]
    spec = resolve_model(config.model)
    params = spec.validate_params(config.params)
    target = get_target(config.target)
    pipeline = fresh_pipeline(spec, params, config)
    check_estimator(pipeline, spec, config)
    timings = Timings(data=data_seconds)
    started = time.perf_counter()

    frame = bars.frame
    design, columns = build_design(config, frame, macro, spec)
    timings.features = time.perf_counter() - started
    if note := left_out_note(config, frame):
        notes.append(note)
    if survivorship := survivorship_of(bars):
        notes.append(f"survivorship: {survivorship}")

    # Splits count dates (for a universe, each date's rows go together), so purge and embargo
    # are dates too.
    selection_start = frame.index[min(int(len(frame) * config.train_ratio), len(frame) - 1)]
    first_selection_day = int(np.searchsorted(design.days, selection_start))
    reach = target.label_reach(config)
    train_days, selection_days = split_at(
        len(design.days),
        first_selection_day,
        purge=reach + config.embargo,
        detail=f" with train_ratio={config.train_ratio}",
    )
    train_idx, selection_idx = design.rows_of(train_days), design.rows_of(selection_days)

    X_train, y_train = design.X[train_idx], design.y[train_idx]
    folds: list[FoldScore] = []
    splitter = WalkForwardSplit(n_splits=config.folds, purge=reach, embargo=config.embargo)
    for number, (fold_train_days, fold_test_days) in enumerate(splitter.split(train_days), start=1):
        check_deadline(deadline, f"before walk-forward fold {number} of {config.folds}")
        report("walk-forward fold", number, config.folds)
        fold_train = design.rows_of(train_days[fold_train_days])
        fold_test = design.rows_of(train_days[fold_test_days])
        fold_model = fresh_pipeline(spec, params, config)
        tick = time.perf_counter()
        fit_for_prediction(fold_model, design.X[fold_train], design.y[fold_train])
        tock = time.perf_counter()
        fold_score = target.fit_score(fold_model, design, fold_test)
        timings.fit += tock - tick
        timings.predict += time.perf_counter() - tock
        fold_dates = design.dates[fold_test]
        folds.append(
            FoldScore(
                fold=number,
                train_rows=len(fold_train),
                test_rows=len(fold_test),
                test_start=fold_dates[0].date(),
                test_end=fold_dates[-1].date(),
                accuracy=fold_score,
            )
        )

    check_deadline(deadline, "before the final fit")
    report("final fit", 1, 1)
    tick = time.perf_counter()
    fit_for_prediction(pipeline, X_train, y_train)
    timings.fit += time.perf_counter() - tick
    if note := _convergence_note(pipeline, spec):
        notes.append(note)
    tock = time.perf_counter()
    train_accuracy = target.fit_score(pipeline, design, train_idx)
    timings.predict += time.perf_counter() - tock

    tick = time.perf_counter()
    scored = score_segment(target, pipeline, design, train_idx, selection_idx, config)
    timings.predict += scored.predict_seconds
    timings.metrics = time.perf_counter() - tick - scored.predict_seconds
    timings.total = time.perf_counter() - started + data_seconds

    synthetic = synthetic_inputs(bars, macro)
    segment = scored.segment
    hashes = [dataset.used_hash, *(s.provenance.content_hash for s in macro.values())]
    train_dates, selection_dates = design.dates[train_idx], design.dates[selection_idx]
    result = TrialResult(
        model_id=model_id_for(config, spec, hashes),
        model=spec.name,
        symbol=config.symbol,
        train_accuracy=train_accuracy,
        selection_accuracy=segment.headline,
        overfitting_risk=train_accuracy - segment.headline,
        synthetic=synthetic,
        data_label=data_label(bars, synthetic=synthetic),
        config=config.model_copy(update={"model": spec.name, "params": params}),
        selection=segment.metrics,
        walk_forward=folds,
        walk_forward_accuracy=float(np.mean([f.accuracy for f in folds])),
        baselines=segment.baselines,
        backtest=segment.backtest,
        features=columns,
        train_period=(train_dates[0].date(), train_dates[-1].date()),
        selection_period=(selection_dates[0].date(), selection_dates[-1].date()),
        dataset=dataset,
        provenance=bars.provenance,
        macro_provenance=[s.provenance for s in macro.values()],
        survivorship=survivorship,
        timings=timings,
        seed=config.seed,
        code_version=CODE_VERSION,
        notes=notes,
        return_test=segment.verdict.return_test,
    )
    return TrialOutcome(result=result, pipeline=pipeline, predictions=segment.predictions)


def result_summary(result: Mapping[str, Any]) -> dict[str, Any]:
    """The handful of numbers a table or an LLM needs, from a full result dict."""
    baselines_ = result.get("baselines", {})
    long_flat = result.get("backtest", {}).get("long_flat", {})
    buy_hold = result.get("backtest", {}).get("buy_and_hold", {})
    accuracy = result.get("selection_accuracy", result.get("test_accuracy"))
    verdict = result.get("return_test") or {}
    target = recorded_target(result.get("config", {}))
    return {
        "trial": result.get("trial"),
        "model_id": result.get("model_id"),
        "model": result.get("model"),
        "symbol": result.get("symbol"),
        "data": result.get("data_label"),
        "selection_accuracy": accuracy,
        "best_baseline": baselines_.get("best_name"),
        # A direction trial's baselines record `best_accuracy`, the other targets' `best_score`.
        "baseline_accuracy": baselines_.get("best_accuracy", baselines_.get("best_score")),
        "p_value": baselines_.get("p_value"),
        "p_value_adjusted": result.get("p_value_adjusted"),
        "tries": result.get("tries"),
        "sharpe": long_flat.get("sharpe"),
        "buy_hold_sharpe": buy_hold.get("sharpe"),
        "return_baseline": verdict.get("baseline"),
        "excess_sharpe": verdict.get("excess_sharpe"),
        "return_t": verdict.get("t_stat"),
        "return_p_value": verdict.get("p_value"),
        "return_p_value_adjusted": result.get("return_p_value_adjusted"),
        # Named when not direction, as `TrialSummary` does: the scores above are then its own.
        "target": None if target == DEFAULT_TARGET else target,
    }
