"""What targets whose model calls a class (0/1) each day share: a classifier's forecast, the
record kept per day, classification metrics, the model against the best of the target's naive
rules (binomial and McNemar tests), and two trials against each other on the same days. Which
rules, and what class 1 means, is the target's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
from scipy.stats import binomtest, rankdata

from mltrainer.engine.ledger import TrialPredictions
from mltrainer.engine.stats import mcnemar_greater, mcnemar_two_sided, non_overlapping
from mltrainer.engine.targets.base import Forecast, PairedTest
from mltrainer.engine.trial import Baselines, ClassificationMetrics

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from mltrainer.engine.design import Design

# Keeps a confidently wrong probability's log loss large but finite.
PROBABILITY_CLIP = 1e-15
# binomtest needs 0 < p < 1; a baseline scoring exactly 0 or 1 is tested against this instead.
BASELINE_P_CLIP = 1e-12


def classifier_forecast(pipeline: Pipeline, X: np.ndarray) -> Forecast:
    """Calls and P(class 1). With probabilities, the call is their argmax (ties to the first
    class), which is what every registry model's `predict` computes, so the model runs once,
    not twice. A model that never saw class 1 gives it probability 0."""
    if not hasattr(pipeline, "predict_proba"):
        return Forecast(np.asarray(pipeline.predict(X), dtype=np.int64))
    proba = np.asarray(pipeline.predict_proba(X), dtype=np.float64)
    classes = np.asarray(pipeline.classes_)
    calls = classes[np.argmax(proba, axis=1)].astype(np.int64)
    if 1 not in classes:
        return Forecast(calls, np.zeros(len(X)))
    return Forecast(calls, proba[:, list(classes).index(1)])


def recorded_calls(
    design: Design,
    scored_rows: np.ndarray,
    forecast: Forecast,
    series: Mapping[str, tuple[np.ndarray, np.ndarray]],
) -> TrialPredictions:
    """The record kept per scored day: labels, calls, P(class 1), the return a position earns,
    and long/flat's and buy-and-hold's returns after costs (`series`, from `strategy_returns`):
    enough to recompute every metric, re-trade at another cost, and compare trials."""
    probability = forecast.probability
    return TrialPredictions(
        dates=[d.date().isoformat() for d in design.dates[scored_rows]],
        y_true=design.y[scored_rows].tolist(),
        y_pred=forecast.values.tolist(),
        proba_up=None if probability is None else probability.tolist(),
        next_return=design.labels["next_return"][scored_rows].tolist(),
        strategy_return=series["long_flat"][1].tolist(),
        buy_hold_return=series["buy_and_hold"][1].tolist(),
    )


def recorded_metrics(predictions: TrialPredictions) -> ClassificationMetrics:
    """The classification metrics of a recorded segment, from its record."""
    proba = None if predictions.proba_up is None else np.asarray(predictions.proba_up)
    return classification_metrics(
        np.asarray(predictions.y_true), np.asarray(predictions.y_pred), proba
    )


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, proba_up: np.ndarray | None
) -> ClassificationMetrics:
    """Score 0/1 calls; AUC and log loss need probabilities of class 1 and both classes present.

    Plain array arithmetic (the definitions scikit-learn's scorers use, checked against them in
    the tests): each scorer's input validation costs more than the score on a few hundred rows.
    AUC is the Mann-Whitney statistic over average ranks, so ties count one half.
    """
    y_true = np.asarray(y_true).astype(np.int64)
    y_pred = np.asarray(y_pred).astype(np.int64)
    n = int(y_true.size)
    up, called_up = y_true == 1, y_pred == 1
    hits = int(np.sum(up & called_up))
    auc: float | None = None
    loss: float | None = None
    n_up = int(up.sum())
    if proba_up is not None and 0 < n_up < n:
        clipped = np.clip(np.asarray(proba_up, dtype=float), PROBABILITY_CLIP, 1 - PROBABILITY_CLIP)
        ranks = rankdata(clipped)
        auc = float((ranks[up].sum() - n_up * (n_up + 1) / 2) / (n_up * (n - n_up)))
        loss = float(-np.mean(np.where(up, np.log(clipped), np.log1p(-clipped))))
    return ClassificationMetrics(
        accuracy=float(np.mean(y_true == y_pred)) if n else 0.0,
        precision=hits / int(called_up.sum()) if called_up.any() else 0.0,
        recall=hits / n_up if n_up else 0.0,
        auc=auc,
        log_loss=loss,
        n=n,
    )


def against_rules(
    y_scored: np.ndarray,
    y_pred: np.ndarray,
    rules: Mapping[str, np.ndarray],
    *,
    horizon: int = 1,
) -> Baselines:
    """Accuracy of each rule that needs no model (its calls on the scored days, by name), and
    two tests of the model against the best of them.

    The binomial test asks whether the model's hit rate beats the best rule's rate; the exact
    McNemar test compares the two on the same days, using only the days they disagree. With
    `horizon > 1` neighbouring labels overlap, so both use every `horizon`-th day only.
    """
    y_scored = np.asarray(y_scored)
    y_pred = np.asarray(y_pred)
    n_days = int(y_scored.size)
    if n_days == 0:
        raise ValueError("baselines need scored rows; got none")
    sizes = {"y_pred": y_pred.size, **{name: len(calls) for name, calls in rules.items()}}
    if any(size != n_days for size in sizes.values()):
        given = " and ".join(f"{name} ({size})" for name, size in sizes.items())
        raise ValueError(f"{given} must have one value per scored row ({n_days})")
    accuracies = {name: float(np.mean(calls == y_scored)) for name, calls in rules.items()}
    best_name = max(accuracies, key=accuracies.__getitem__)
    tested = non_overlapping(n_days, horizon)
    model_right = y_pred[tested] == y_scored[tested]
    baseline_right = rules[best_name][tested] == y_scored[tested]
    rate = min(max(float(np.mean(baseline_right)), BASELINE_P_CLIP), 1 - BASELINE_P_CLIP)
    p_value = binomtest(int(model_right.sum()), tested.size, p=rate, alternative="greater").pvalue
    return Baselines(
        **accuracies,
        best_name=best_name,
        best_accuracy=accuracies[best_name],
        p_value=float(p_value),
        mcnemar_p_value=mcnemar_greater(model_right, baseline_right),
        tested_days=int(tested.size),
    )


def _correct_by_day(predictions: TrialPredictions) -> dict[str, bool]:
    return {
        d: t == p
        for d, t, p in zip(predictions.dates, predictions.y_true, predictions.y_pred, strict=True)
    }


def paired_mcnemar(first: TrialPredictions, second: TrialPredictions) -> PairedTest:
    """Exact two-sided McNemar test of two trials' calls on the days both recorded: do their
    errors differ? No p-value when they share no day."""
    first_by_day = _correct_by_day(first)
    shared = [
        (first_by_day[d], right)
        for d, right in _correct_by_day(second).items()
        if d in first_by_day
    ]
    if not shared:
        return PairedTest(days=0, p_value=None)
    pairs = np.array(shared, dtype=bool).reshape(-1, 2)
    return PairedTest(days=len(shared), p_value=mcnemar_two_sided(pairs[:, 0], pairs[:, 1]))
