"""Comparing recorded trials honestly: paired tests on the same selection days (the research
target's test), p-values adjusted (Holm) over every try on the dataset, and the best trial next
to what luck reaches: the best-of-N noise bar, the deflated Sharpe ratio and the probability of
backtest overfitting. Only trials of one target are compared: their scores mean the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mltrainer.engine.errors import ConfigError
from mltrainer.engine.ledger import Ledger, TrialPredictions
from mltrainer.engine.results import Comparison, ComparisonBest, PairedTrial, TrialSummary
from mltrainer.engine.runner import result_summary
from mltrainer.engine.selection import adjusted_p_values, selection_stats
from mltrainer.engine.targets import get_target, recorded_target
from mltrainer.engine.trial import RankBy


def rank_value(result: dict[str, Any], rank_by: RankBy) -> float:
    """What a session ranks trials by: selection accuracy, or long/flat Sharpe after costs."""
    if rank_by == "sharpe":
        return float(result["backtest"]["long_flat"]["sharpe"])
    return float(result.get("selection_accuracy", result.get("test_accuracy", 0.0)))


def compare_trials(
    ledger: Ledger, keys: Sequence[str | int], *, rank_by: RankBy = "accuracy"
) -> Comparison:
    """Rank trials; test each against the best on their shared days; the best's selection
    statistics over every try on its dataset."""
    if len(keys) < 2:
        raise ConfigError("compare needs at least two trials (trial numbers or model ids)")
    results: list[dict[str, Any]] = []
    predictions: list[TrialPredictions] = []
    for key in keys:
        result = ledger.result(key)
        stored = ledger.predictions(key)
        if result is None or stored is None:
            raise ConfigError(f"no recorded trial '{key}'; list them with `mltrainer trials list`")
        results.append(result)
        predictions.append(stored)
    targets: dict[str, list[int]] = {}
    for result in results:
        targets.setdefault(recorded_target(result["config"]), []).append(result["trial"])
    if len(targets) > 1:
        listed = "; ".join(f"{name}: trials {numbers}" for name, numbers in targets.items())
        raise ConfigError(
            "compare trials of one target at a time (their scores and tests differ); these "
            f"predict {listed}: pass the trial numbers of one"
        )
    target = get_target(next(iter(targets)))
    order = sorted(range(len(results)), key=lambda i: rank_value(results[i], rank_by), reverse=True)
    best = order[0]
    adjusted: dict[str, dict[int, float]] = {}
    rows: list[PairedTrial | TrialSummary] = []
    for i in order:
        result = results[i]
        dataset = result.get("dataset", {}).get("key")
        if dataset is not None and dataset not in adjusted:
            adjusted[dataset] = adjusted_p_values(ledger.tries(dataset))
        row = {
            **result_summary(result),
            "p_value_adjusted": adjusted.get(dataset or "", {}).get(result["trial"]),
            "tries": len(adjusted.get(dataset or "", {})) or None,
        }
        if i == best:
            rows.append(TrialSummary.model_validate(row))
            continue
        paired = target.paired_test(predictions[best], predictions[i])
        rows.append(
            PairedTrial.model_validate(
                {**row, "shared_days": paired.days, "p_vs_best": paired.p_value}
            )
        )
    top = results[best]
    dataset = top.get("dataset", {}).get("key")
    stats = (
        selection_stats(
            ledger,
            dataset,
            top["trial"],
            predictions[best],
            top["backtest"]["long_flat"]["sharpe"],
        )
        if dataset is not None
        else None
    )
    return Comparison(
        rank_by=rank_by,
        compared=len(results),
        best=ComparisonBest.model_validate({**result_summary(top), "selection_stats": stats}),
        trials=rows,
        tries=stats.tries if stats else len(results),
        best_p_value=top["baselines"]["p_value"],
        best_p_value_adjusted=stats.p_value_adjusted if stats else None,
        synthetic=any(r["synthetic"] for r in results),
    )
