"""One trial, start to finish, as a pure function of its config and data: features, walk-forward
folds inside the training period, a final fit, and out-of-sample metrics on the selection
segment against baselines. `score_segment` is shared with `finalize`, which scores the same
way on the locked holdout.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.pipeline import Pipeline

from mltrainer.engine.data.base import BarSet, SeriesSet
from mltrainer.engine.errors import DeadlineError, InsufficientDataError
from mltrainer.engine.features import build_features, select_features
from mltrainer.engine.ledger import TrialPredictions
from mltrainer.engine.metrics import (
    baselines,
    classification_metrics,
    strategy_returns,
    strategy_stats,
)
from mltrainer.engine.models import ModelSpec, resolve_model
from mltrainer.engine.trial import (
    Backtest,
    Baselines,
    ClassificationMetrics,
    DatasetInfo,
    FoldScore,
    Timings,
    TrialConfig,
    TrialResult,
)
from mltrainer.engine.validation import WalkForwardSplit, split_at

CODE_VERSION = version("mltrainer")
# Enough for a chronological split with a purge gap and at least two small walk-forward folds.
MIN_ROWS = 120


@dataclass(frozen=True)
class TrialOutcome:
    result: TrialResult
    pipeline: Pipeline
    predictions: TrialPredictions


@dataclass(frozen=True)
class Design:
    """The rows a model sees: inputs, labels and what the metrics need, aligned by date."""

    X: np.ndarray
    y: np.ndarray
    next_return: np.ndarray
    previous_direction: np.ndarray
    dates: pd.DatetimeIndex


def _design(frame: pd.DataFrame, columns: list[str], spec: ModelSpec, lookback: int) -> Design:
    values = frame[columns].to_numpy(dtype=np.float64)
    offset = 0
    if spec.sequence:
        # Each row becomes the last `lookback` rows of features, oldest first, all in the past.
        values = sliding_window_view(values, (lookback, values.shape[1]))[:, 0].reshape(
            -1, lookback * values.shape[1]
        )
        offset = lookback - 1
    return Design(
        X=np.ascontiguousarray(values),
        y=frame["target"].to_numpy(dtype=np.int64)[offset:],
        next_return=frame["next_return"].to_numpy(dtype=np.float64)[offset:],
        previous_direction=frame["previous_direction"].to_numpy(dtype=np.int64)[offset:],
        dates=pd.DatetimeIndex(frame.index[offset:]),
    )


def model_id_for(config: TrialConfig, spec: ModelSpec, data_hashes: list[str]) -> str:
    """Same config on the same data -> the same id; anything that changes numbers changes it.

    Parameters are hashed after defaults are filled in, so `{}` and the defaults written out
    (the same model) share an id.
    """
    payload = config.model_dump(mode="json", exclude={"save_model"})
    payload["model"] = spec.name
    payload["params"] = spec.validate_params(config.params)
    digest = hashlib.sha256(
        json.dumps([payload, data_hashes], sort_keys=True).encode()
    ).hexdigest()[:10]
    return f"{config.symbol}-{spec.name}-{digest}"


def _data_label(synthetic: bool, bars: BarSet) -> str:
    if synthetic:
        return "SYNTHETIC DATA"
    # Bars handed in by a caller cannot be vouched for: they are not called real.
    return "CALLER DATA" if bars.provenance.source == "caller" else "REAL DATA"


def _predict(pipeline: Pipeline, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Calls and P(up). With probabilities, the call is their argmax (ties to the first class),
    which is what every registry model's `predict` computes, so the model runs once, not twice."""
    if not hasattr(pipeline, "predict_proba"):
        return np.asarray(pipeline.predict(X), dtype=np.int64), None
    proba = np.asarray(pipeline.predict_proba(X), dtype=np.float64)
    classes = np.asarray(pipeline.classes_)
    calls = classes[np.argmax(proba, axis=1)].astype(np.int64)
    if 1 not in classes:
        return calls, np.zeros(len(X))
    return calls, proba[:, list(classes).index(1)]


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


def build_design(
    config: TrialConfig, frame: pd.DataFrame, macro: Mapping[str, SeriesSet], spec: ModelSpec
) -> tuple[Design, list[str]]:
    """Features and labels of `frame` as the model sees them; refuses too little data."""
    features = build_features(
        frame,
        lookback=config.lookback,
        horizon=config.horizon,
        macro=macro,
        execution=config.execution,
    )
    columns = select_features(config.features, list(macro))
    needed = MIN_ROWS + (config.lookback if spec.sequence else 0)
    if len(features) < needed:
        raise InsufficientDataError(
            f"{len(features)} usable rows for {config.symbol} after warm-up (days={config.days}, "
            f"lookback={config.lookback}, horizon={config.horizon}); {spec.name} needs at least "
            f"{needed}. Use more history (days, start/end) or a shorter lookback"
        )
    return _design(features, columns, spec, config.lookback), columns


@dataclass(frozen=True)
class Scored:
    """One fitted pipeline's numbers on one stretch of rows."""

    metrics: ClassificationMetrics
    baselines: Baselines
    backtest: Backtest
    predictions: TrialPredictions
    predict_seconds: float


def score_segment(
    pipeline: Pipeline,
    design: Design,
    train_idx: np.ndarray,
    scored_idx: np.ndarray,
    config: TrialConfig,
) -> Scored:
    """Predict `scored_idx`, then accuracy, baselines (majority class from `train_idx`), and
    the strategies after costs under the config's execution model."""
    tick = time.perf_counter()
    X, y = design.X[scored_idx], design.y[scored_idx]
    predicted, proba = _predict(pipeline, X)
    seconds = time.perf_counter() - tick
    next_returns = design.next_return[scored_idx]
    series = strategy_returns(predicted, next_returns, cost_bps=config.cost_bps)
    active = series["long_flat"][1] - series["buy_and_hold"][1]
    backtest = Backtest(
        cost_bps=config.cost_bps,
        execution=config.execution,
        active_sharpe=strategy_stats(active, None).sharpe,
        **{name: strategy_stats(returns, held) for name, (held, returns) in series.items()},
    )
    return Scored(
        metrics=classification_metrics(y, predicted, proba),
        baselines=baselines(
            design.y[train_idx],
            y,
            design.previous_direction[scored_idx],
            predicted,
            horizon=config.horizon,
        ),
        backtest=backtest,
        predictions=TrialPredictions(
            dates=[d.date().isoformat() for d in design.dates[scored_idx]],
            y_true=y.tolist(),
            y_pred=predicted.tolist(),
            proba_up=None if proba is None else proba.tolist(),
            next_return=next_returns.tolist(),
            strategy_return=series["long_flat"][1].tolist(),
            buy_hold_return=series["buy_and_hold"][1].tolist(),
        ),
        predict_seconds=seconds,
    )


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
    """`deadline` is wall-clock (`time.time()`), so it means the same in a worker process."""
    if deadline is not None and time.time() >= deadline:
        raise DeadlineError(f"stopped at the session's deadline {what}; nothing was recorded")


def synthetic_inputs(bars: BarSet, macro: Mapping[str, SeriesSet]) -> bool:
    return bars.provenance.kind == "synthetic" or any(
        s.provenance.kind == "synthetic" for s in macro.values()
    )


def run_trial(
    config: TrialConfig,
    bars: BarSet,
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
    timings = Timings(data=data_seconds)
    started = time.perf_counter()

    frame = bars.frame
    design, columns = build_design(config, frame, macro, spec)
    timings.features = time.perf_counter() - started

    selection_start = frame.index[min(int(len(frame) * config.train_ratio), len(frame) - 1)]
    first_selection_row = int(np.searchsorted(design.dates, selection_start))
    train_idx, selection_idx = split_at(
        len(design.y),
        first_selection_row,
        purge=config.horizon + config.embargo,
        detail=f" with train_ratio={config.train_ratio}",
    )

    def fresh() -> Pipeline:
        # Built anew rather than cloned: the same unfitted pipeline, without `clone`'s
        # signature introspection on every fold.
        built = spec.make_estimator(params, config.seed)
        if spec.sequence:
            built.set_params(model__window=config.lookback)
        return built

    pipeline = fresh()
    X_train, y_train = design.X[train_idx], design.y[train_idx]
    folds: list[FoldScore] = []
    splitter = WalkForwardSplit(n_splits=config.folds, purge=config.horizon, embargo=config.embargo)
    for number, (fold_train, fold_test) in enumerate(splitter.split(X_train), start=1):
        check_deadline(deadline, f"before walk-forward fold {number} of {config.folds}")
        fold_model = fresh()
        tick = time.perf_counter()
        fit_for_prediction(fold_model, X_train[fold_train], y_train[fold_train])
        tock = time.perf_counter()
        fold_pred = fold_model.predict(X_train[fold_test])
        timings.fit += tock - tick
        timings.predict += time.perf_counter() - tock
        fold_dates = design.dates[train_idx][fold_test]
        folds.append(
            FoldScore(
                fold=number,
                train_rows=len(fold_train),
                test_rows=len(fold_test),
                test_start=fold_dates[0].date(),
                test_end=fold_dates[-1].date(),
                accuracy=float(np.mean(fold_pred == y_train[fold_test])),
            )
        )

    check_deadline(deadline, "before the final fit")
    tick = time.perf_counter()
    fit_for_prediction(pipeline, X_train, y_train)
    timings.fit += time.perf_counter() - tick
    if note := _convergence_note(pipeline, spec):
        notes.append(note)
    tock = time.perf_counter()
    train_pred = pipeline.predict(X_train)
    timings.predict += time.perf_counter() - tock

    tick = time.perf_counter()
    scored = score_segment(pipeline, design, train_idx, selection_idx, config)
    timings.predict += scored.predict_seconds
    timings.metrics = time.perf_counter() - tick - scored.predict_seconds
    timings.total = time.perf_counter() - started + data_seconds

    synthetic = synthetic_inputs(bars, macro)
    train_accuracy = float(np.mean(train_pred == y_train))
    hashes = [dataset.used_hash, *(s.provenance.content_hash for s in macro.values())]
    train_dates, selection_dates = design.dates[train_idx], design.dates[selection_idx]
    result = TrialResult(
        model_id=model_id_for(config, spec, hashes),
        model=spec.name,
        symbol=config.symbol,
        train_accuracy=train_accuracy,
        selection_accuracy=scored.metrics.accuracy,
        overfitting_risk=train_accuracy - scored.metrics.accuracy,
        synthetic=synthetic,
        data_label=_data_label(synthetic, bars),
        config=config.model_copy(update={"model": spec.name, "params": params}),
        selection=scored.metrics,
        walk_forward=folds,
        walk_forward_accuracy=float(np.mean([f.accuracy for f in folds])),
        baselines=scored.baselines,
        backtest=scored.backtest,
        features=columns,
        train_period=(train_dates[0].date(), train_dates[-1].date()),
        selection_period=(selection_dates[0].date(), selection_dates[-1].date()),
        dataset=dataset,
        provenance=bars.provenance,
        macro_provenance=[s.provenance for s in macro.values()],
        timings=timings,
        seed=config.seed,
        code_version=CODE_VERSION,
        notes=notes,
    )
    return TrialOutcome(result=result, pipeline=pipeline, predictions=scored.predictions)


def result_summary(result: Mapping[str, Any]) -> dict[str, Any]:
    """The handful of numbers a table or an LLM needs, from a full result dict."""
    baselines_ = result.get("baselines", {})
    long_flat = result.get("backtest", {}).get("long_flat", {})
    buy_hold = result.get("backtest", {}).get("buy_and_hold", {})
    accuracy = result.get("selection_accuracy", result.get("test_accuracy"))
    return {
        "trial": result.get("trial"),
        "model_id": result.get("model_id"),
        "model": result.get("model"),
        "symbol": result.get("symbol"),
        "data": result.get("data_label"),
        "selection_accuracy": accuracy,
        "best_baseline": baselines_.get("best_name"),
        "baseline_accuracy": baselines_.get("best_accuracy"),
        "p_value": baselines_.get("p_value"),
        "p_value_adjusted": result.get("p_value_adjusted"),
        "tries": result.get("tries"),
        "sharpe": long_flat.get("sharpe"),
        "buy_hold_sharpe": buy_hold.get("sharpe"),
    }
