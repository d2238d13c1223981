"""Comparing recorded trials honestly: paired tests on the same test days, and the reminder
that the best of many tries looks better than it is (Bonferroni-adjusted p-value).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.stats import binomtest

from mltrainer.engine.errors import ConfigError
from mltrainer.engine.ledger import Ledger
from mltrainer.engine.runner import result_summary


def mcnemar_p(best_correct: np.ndarray, other_correct: np.ndarray) -> float:
    """Exact McNemar test: do two models' errors on the same days differ beyond chance?"""
    only_best = int(np.sum(best_correct & ~other_correct))
    only_other = int(np.sum(other_correct & ~best_correct))
    if only_best + only_other == 0:
        return 1.0
    return float(binomtest(only_best, only_best + only_other, 0.5).pvalue)


def compare_trials(
    ledger: Ledger, keys: Sequence[str | int], *, tries: int | None = None
) -> dict[str, Any]:
    """Rank trials by test accuracy; test the best against each other on their shared days."""
    if len(keys) < 2:
        raise ConfigError("compare needs at least two trials (trial numbers or model ids)")
    results, predictions = [], []
    for key in keys:
        result = ledger.result(key)
        stored = ledger.predictions(key)
        if result is None or stored is None:
            raise ConfigError(f"no recorded trial '{key}'; list them with `mltrainer trials list`")
        results.append(result)
        predictions.append(stored)
    order = sorted(range(len(results)), key=lambda i: results[i]["test_accuracy"], reverse=True)
    best = order[0]
    best_by_day = {
        d: t == p
        for d, t, p in zip(
            predictions[best].dates, predictions[best].y_true, predictions[best].y_pred, strict=True
        )
    }
    rows = []
    for i in order:
        row = result_summary(results[i])
        if i != best:
            other = predictions[i]
            shared = [
                (best_by_day[d], t == p)
                for d, t, p in zip(other.dates, other.y_true, other.y_pred, strict=True)
                if d in best_by_day
            ]
            pairs = np.array(shared, dtype=bool).reshape(-1, 2)
            row["shared_days"] = len(shared)
            row["p_vs_best"] = mcnemar_p(pairs[:, 0], pairs[:, 1]) if len(shared) else None
        rows.append(row)
    n_tries = max(tries or 0, len(keys))
    best_p = results[best]["baselines"]["p_value"]
    return {
        "status": "success",
        "type": "comparison",
        "best": result_summary(results[best]),
        "trials": rows,
        "tries": n_tries,
        "best_p_value": best_p,
        "best_p_value_adjusted": min(1.0, best_p * n_tries),
        "synthetic": any(r["synthetic"] for r in results),
    }
