"""One trial, start to finish, as a pure function of its config and data: features, walk-forward
folds inside the training period, a final fit, and out-of-sample metrics against baselines.
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
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from mltrainer.engine.data.base import BarSet, SeriesSet
from mltrainer.engine.errors import InsufficientDataError
from mltrainer.engine.features import build_features, select_features
from mltrainer.engine.ledger import TrialPredictions
from mltrainer.engine.metrics import backtest, baselines, classification_metrics
from mltrainer.engine.models import ModelSpec, resolve_model
from mltrainer.engine.trial import FoldScore, Timings, TrialConfig, TrialResult
from mltrainer.engine.validation import WalkForwardSplit, chronological_split

CODE_VERSION = version("mltrainer")
# Enough for a chronological split with a purge gap and at least two small walk-forward folds.
MIN_ROWS = 120


@dataclass(frozen=True)
class TrialOutcome:
    result: TrialResult
    pipeline: Pipeline
    predictions: TrialPredictions


@dataclass(frozen=True)
class _Design:
    """The rows a model sees: inputs, labels and what the metrics need, aligned by date."""

    X: np.ndarray
    y: np.ndarray
    next_return: np.ndarray
    previous_direction: np.ndarray
    dates: pd.DatetimeIndex


def _design(frame: pd.DataFrame, columns: list[str], spec: ModelSpec, lookback: int) -> _Design:
    values = frame[columns].to_numpy(dtype=np.float64)
    offset = 0
    if spec.sequence:
        # Each row becomes the last `lookback` rows of features, oldest first, all in the past.
        values = sliding_window_view(values, (lookback, values.shape[1]))[:, 0].reshape(
            -1, lookback * values.shape[1]
        )
        offset = lookback - 1
    return _Design(
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


def _proba_up(pipeline: Pipeline, X: np.ndarray) -> np.ndarray | None:
    if not hasattr(pipeline, "predict_proba"):
        return None
    classes = list(pipeline.classes_)
    if 1 not in classes:
        return np.zeros(len(X))
    return np.asarray(pipeline.predict_proba(X)[:, classes.index(1)], dtype=np.float64)


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


def run_trial(
    config: TrialConfig,
    bars: BarSet,
    macro: Mapping[str, SeriesSet] | None = None,
    *,
    data_seconds: float = 0.0,
    notes: list[str] | None = None,
) -> TrialOutcome:
    """Train and score one model. Raises `ConfigError` subclasses for anything the caller chose."""
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
    if config.days is not None:
        frame = frame.iloc[-config.days :]
    features = build_features(frame, lookback=config.lookback, horizon=config.horizon, macro=macro)
    columns = select_features(config.features, list(macro))
    needed = MIN_ROWS + (config.lookback if spec.sequence else 0)
    if len(features) < needed:
        raise InsufficientDataError(
            f"{len(features)} usable rows for {config.symbol} after warm-up (days={config.days}, "
            f"lookback={config.lookback}, horizon={config.horizon}); {spec.name} needs at least "
            f"{needed}. Use more history (days, start/end) or a shorter lookback"
        )
    design = _design(features, columns, spec, config.lookback)
    timings.features = time.perf_counter() - started

    gap = config.horizon + config.embargo
    train_idx, test_idx = chronological_split(
        len(design.y), train_ratio=config.train_ratio, purge=gap
    )
    pipeline = spec.make_estimator(params, config.seed)
    if spec.sequence:
        pipeline.set_params(model__window=config.lookback)

    X_train, y_train = design.X[train_idx], design.y[train_idx]
    folds: list[FoldScore] = []
    splitter = WalkForwardSplit(n_splits=config.folds, purge=config.horizon, embargo=config.embargo)
    for number, (fold_train, fold_test) in enumerate(splitter.split(X_train), start=1):
        fold_model = clone(pipeline)
        tick = time.perf_counter()
        fold_model.fit(X_train[fold_train], y_train[fold_train])
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

    tick = time.perf_counter()
    pipeline.fit(X_train, y_train)
    if note := _convergence_note(pipeline, spec):
        notes.append(note)
    tock = time.perf_counter()
    train_pred = pipeline.predict(X_train)
    X_test, y_test = design.X[test_idx], design.y[test_idx]
    test_pred = np.asarray(pipeline.predict(X_test), dtype=np.int64)
    proba = _proba_up(pipeline, X_test)
    timings.fit += tock - tick
    timings.predict += time.perf_counter() - tock

    tick = time.perf_counter()
    test_scores = classification_metrics(y_test, test_pred, proba)
    n_correct = int(np.sum(test_pred == y_test))
    baseline = baselines(
        y_train, y_test, design.previous_direction[test_idx], test_scores.accuracy, n_correct
    )
    next_returns = design.next_return[test_idx]
    costed = backtest(test_pred, next_returns, cost_bps=config.cost_bps)
    timings.metrics = time.perf_counter() - tick
    timings.total = time.perf_counter() - started + data_seconds

    synthetic = bars.provenance.kind == "synthetic" or any(
        s.provenance.kind == "synthetic" for s in macro.values()
    )
    train_accuracy = float(np.mean(train_pred == y_train))
    hashes = [bars.provenance.content_hash, *(s.provenance.content_hash for s in macro.values())]
    train_dates, test_dates = design.dates[train_idx], design.dates[test_idx]
    result = TrialResult(
        model_id=model_id_for(config, spec, hashes),
        model=spec.name,
        symbol=config.symbol,
        train_accuracy=train_accuracy,
        test_accuracy=test_scores.accuracy,
        overfitting_risk=train_accuracy - test_scores.accuracy,
        synthetic=synthetic,
        data_label=_data_label(synthetic, bars),
        config=config.model_copy(update={"model": spec.name, "params": params}),
        test=test_scores,
        walk_forward=folds,
        walk_forward_accuracy=float(np.mean([f.accuracy for f in folds])),
        baselines=baseline,
        backtest=costed,
        features=columns,
        train_period=(train_dates[0].date(), train_dates[-1].date()),
        test_period=(test_dates[0].date(), test_dates[-1].date()),
        provenance=bars.provenance,
        macro_provenance=[s.provenance for s in macro.values()],
        timings=timings,
        seed=config.seed,
        code_version=CODE_VERSION,
        notes=notes,
    )
    predictions = TrialPredictions(
        dates=[d.date().isoformat() for d in test_dates],
        y_true=y_test.tolist(),
        y_pred=test_pred.tolist(),
        proba_up=None if proba is None else proba.tolist(),
        next_return=next_returns.tolist(),
    )
    return TrialOutcome(result=result, pipeline=pipeline, predictions=predictions)


def result_summary(result: Mapping[str, Any]) -> dict[str, Any]:
    """The handful of numbers a table or an LLM needs, from a full result dict."""
    baselines_ = result.get("baselines", {})
    long_flat = result.get("backtest", {}).get("long_flat", {})
    buy_hold = result.get("backtest", {}).get("buy_and_hold", {})
    return {
        "trial": result.get("trial"),
        "model_id": result.get("model_id"),
        "model": result.get("model"),
        "symbol": result.get("symbol"),
        "data": result.get("data_label"),
        "test_accuracy": result.get("test_accuracy"),
        "best_baseline": baselines_.get("best_name"),
        "baseline_accuracy": baselines_.get("best_accuracy"),
        "p_value": baselines_.get("p_value"),
        "sharpe": long_flat.get("sharpe"),
        "buy_hold_sharpe": buy_hold.get("sharpe"),
    }
