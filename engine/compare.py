"""Comparing recorded trials honestly, and choosing among them: trials are ranked by the
headline (the return test's t-statistic: the strategy's return after costs over the best
baseline strategy's) unless asked otherwise, and only comparable tries are ranked together
(the same target and horizon: their scores and tests mean the same). Ties go to a hash of the
configuration, never to the order trials finished in. Each trial is tested against the best on
their shared selection days, and the best is shown next to what luck reaches: p-values adjusted
(Holm) over every try on the dataset, the best-of-N noise bars, the deflated Sharpe ratio and
the probability of backtest overfitting.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mltrainer.engine.errors import ConfigError
from mltrainer.engine.ledger import Ledger, TrialPredictions
from mltrainer.engine.newey_west import MIN_DAYS, mean_test
from mltrainer.engine.results import Comparison, ComparisonBest, PairedTrial, TrialSummary
from mltrainer.engine.runner import result_summary
from mltrainer.engine.selection import adjusted_p_values, adjusted_return_p_values, selection_stats
from mltrainer.engine.targets import get_target, recorded_target
from mltrainer.engine.trial import RankBy


def rank_value(result: Mapping[str, Any], rank_by: RankBy) -> float:
    """What trials are ranked by: the return test's t-statistic (the headline; a trial
    recorded before it ranks last), selection accuracy, or long/flat Sharpe after costs."""
    if rank_by == "return_test":
        verdict = result.get("return_test")
        return float(verdict["t_stat"]) if verdict else -math.inf
    if rank_by == "sharpe":
        return float(result["backtest"]["long_flat"]["sharpe"])
    return float(result.get("selection_accuracy", result.get("test_accuracy", 0.0)))


def config_digest(result: Mapping[str, Any]) -> str:
    """A hash of a trial's configuration and data (what decides its numbers), to break ties
    the same way whichever trial finished first."""
    config = {k: v for k, v in result["config"].items() if k != "save_model"}
    used = result.get("dataset", {}).get("used_hash", "")
    return hashlib.sha256(json.dumps([config, used], sort_keys=True).encode()).hexdigest()


def ranked(results: Sequence[Mapping[str, Any]], rank_by: RankBy) -> list[int]:
    """Indexes of `results`, best first; ties broken by `config_digest`."""
    return sorted(
        range(len(results)),
        key=lambda i: (-rank_value(results[i], rank_by), config_digest(results[i])),
    )


def comparable_groups(results: Sequence[Mapping[str, Any]]) -> dict[str, list[int]]:
    """Trial numbers by what they predict (target and horizon), oldest trial first."""
    groups: dict[str, list[int]] = {}
    for result in sorted(results, key=lambda r: r["trial"]):
        config = result["config"]
        key = f"{recorded_target(config)} {config.get('horizon', 1)} bar(s) ahead"
        groups.setdefault(key, []).append(result["trial"])
    return groups


def require_comparable(results: Sequence[Mapping[str, Any]], doing: str, remedy: str) -> None:
    """`ConfigError` naming each group when `results` predict different things."""
    groups = comparable_groups(results)
    if len(groups) > 1:
        listed = "; ".join(f"{name}: trials {numbers}" for name, numbers in groups.items())
        raise ConfigError(
            f"{doing} trials of one target and horizon only (their scores and tests mean "
            f"different things); these predict {listed}: {remedy}"
        )


def strategy_days(predictions: TrialPredictions) -> list[str]:
    """The dates of a record's strategy returns: its rows' dates, or for a universe (a row per
    stock and date, one portfolio return per date) each date once, oldest first."""
    if predictions.symbols is None:
        return list(predictions.dates)
    return sorted(set(predictions.dates))


def paired_return_p(
    first: TrialPredictions, second: TrialPredictions, horizon: int
) -> float | None:
    """Two-sided Newey-West test of the daily difference of two trials' strategy returns after
    costs on the days both recorded; None when they share too few days."""
    if first.strategy_return is None or second.strategy_return is None:
        return None
    theirs = dict(zip(strategy_days(second), second.strategy_return, strict=True))
    pairs = [
        (mine, theirs[d])
        for d, mine in zip(strategy_days(first), first.strategy_return, strict=True)
        if d in theirs
    ]
    if len(pairs) < MIN_DAYS:
        return None
    both = np.array(pairs, dtype=float)
    return mean_test(both[:, 0] - both[:, 1], horizon=horizon).two_sided_p_value


def compare_trials(
    ledger: Ledger, keys: Sequence[str | int], *, rank_by: RankBy = "return_test"
) -> Comparison:
    """Rank comparable trials; test each against the best on their shared days; the best's
    selection statistics over every try on its dataset."""
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
    require_comparable(results, "compare_trials ranks", "pass the trial numbers of one")
    target = get_target(recorded_target(results[0]["config"]))
    horizon = int(results[0]["config"].get("horizon", 1))
    order = ranked(results, rank_by)
    best = order[0]
    adjusted: dict[str, dict[int, float]] = {}
    adjusted_returns: dict[str, dict[int, float]] = {}
    rows: list[PairedTrial | TrialSummary] = []
    for i in order:
        result = results[i]
        dataset = result.get("dataset", {}).get("key")
        if dataset is not None and dataset not in adjusted:
            tries = ledger.tries(dataset)
            adjusted[dataset] = adjusted_p_values(tries)
            adjusted_returns[dataset] = adjusted_return_p_values(tries)
        row = {
            **result_summary(result),
            "p_value_adjusted": adjusted.get(dataset or "", {}).get(result["trial"]),
            "tries": len(adjusted.get(dataset or "", {})) or None,
        }
        if result.get("return_test"):
            row["return_p_value_adjusted"] = adjusted_returns.get(dataset or "", {}).get(
                result["trial"]
            )
        if i == best:
            rows.append(TrialSummary.model_validate(row))
            continue
        paired = target.paired_test(predictions[best], predictions[i])
        row |= {"shared_days": paired.days, "p_vs_best": paired.p_value}
        row["return_p_vs_best"] = paired_return_p(predictions[best], predictions[i], horizon)
        rows.append(PairedTrial.model_validate(row))
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
    verdict = top.get("return_test") or {}
    return Comparison(
        rank_by=rank_by,
        compared=len(results),
        best=ComparisonBest.model_validate({**result_summary(top), "selection_stats": stats}),
        trials=rows,
        tries=stats.tries if stats else len(results),
        best_p_value=top["baselines"]["p_value"],
        best_p_value_adjusted=stats.p_value_adjusted if stats else None,
        synthetic=any(r["synthetic"] for r in results),
        best_return_p_value=verdict.get("p_value"),
        best_return_p_value_adjusted=stats.return_p_value_adjusted if stats and verdict else None,
    )
