"""The headline verdict every research target's results lead with: the strategy's return as the
execution earns it, after costs, against the best strategy that needs no model, tested with
Newey-West standard errors. Generic over targets: a target hands in the daily returns of its
strategy and of its baseline strategies, on the days it scored.

Accuracy says how often a forecast was right; this says whether trading it paid, which is what a
researcher acts on. The best baseline is picked on the same days it is compared on, which can
only make the test harder to pass.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from mltrainer.engine.newey_west import mean_test
from mltrainer.engine.power import detectable_accuracy, detectable_return
from mltrainer.engine.trial import (
    Baselines,
    ForecastBaselines,
    Power,
    RankingBaselines,
    ReturnTest,
    TrialConfig,
)

BARS_PER_YEAR = 252
# A best rule right on every day (or none) leaves no room to detect a gain; the binomial power
# is computed just inside (0, 1) instead, as the accuracy test clips its rate.
RATE_CLIP = 1e-6


def best_baseline_strategy(baselines: Mapping[str, np.ndarray]) -> str:
    """The baseline strategy with the highest mean daily return; ties go to the first given."""
    if not baselines:
        raise ValueError("the return test needs at least one baseline strategy; got none")
    means = {name: float(np.mean(returns)) for name, returns in baselines.items()}
    return max(means, key=means.__getitem__)


@dataclass(frozen=True)
class Verdict:
    """A segment's headline test and what it could have detected."""

    return_test: ReturnTest
    power: Power


def judge_long_flat(
    series: Mapping[str, tuple[np.ndarray, np.ndarray]],
    rule_series: Mapping[str, tuple[np.ndarray, np.ndarray]],
    rules: Baselines | ForecastBaselines | RankingBaselines,
    config: TrialConfig,
) -> Verdict:
    """`judge` for a target that trades long/flat: its strategy's returns in `series`, the
    baseline rules' strategies in `rule_series` (each (positions, returns) per day, as
    `strategy_returns` gives them)."""
    baselines = {name: returns for name, (_, returns) in rule_series.items()}
    return judge("long_flat", series["long_flat"][1], baselines, rules, config)


def judge(
    strategy: str,
    returns: np.ndarray,
    baselines: Mapping[str, np.ndarray],
    rules: Baselines | ForecastBaselines | RankingBaselines,
    config: TrialConfig,
) -> Verdict:
    """Test `returns` (the strategy called `strategy`, per scored day, after costs under the
    config's execution) against the best of `baselines` (each a return per the same day), and
    the smallest effects the segment could detect: the excess Sharpe and return from the same
    Newey-West test (its days and their volatility) and, for a target scored by accuracy, the
    accuracy gain from the exact binomial test on the independent days of `rules` (the
    target's accuracy test) against the best rule's hit rate."""
    earned = np.asarray(returns, dtype=float)
    sizes = {name: np.asarray(series).size for name, series in baselines.items()}
    if any(size != earned.size for size in sizes.values()):
        given = ", ".join(f"{name} ({size})" for name, size in sizes.items())
        raise ValueError(
            f"baseline strategies {given} must have one return per day of {strategy} "
            f"({earned.size})"
        )
    best = best_baseline_strategy(baselines)
    excess = earned - np.asarray(baselines[best], dtype=float)
    test = mean_test(excess, horizon=config.horizon)
    spread = float(np.std(excess, ddof=1))
    detectable = detectable_return(test, periods_per_year=BARS_PER_YEAR)
    points = None
    if isinstance(rules, Baselines):
        rate = min(max(rules.best_accuracy, RATE_CLIP), 1.0 - RATE_CLIP)
        points = 100.0 * detectable_accuracy(rules.tested_days, rate)
    return Verdict(
        ReturnTest(
            strategy=strategy,
            baseline=best,
            execution=config.execution,
            cost_bps=config.cost_bps,
            days=test.days,
            excess_return=test.mean * BARS_PER_YEAR,
            excess_sharpe=test.mean / spread * math.sqrt(BARS_PER_YEAR) if spread > 0 else 0.0,
            t_stat=test.t_stat,
            lags=test.lags,
            p_value=test.p_value,
        ),
        Power(
            excess_sharpe=detectable.sharpe,
            excess_return=detectable.annual_return,
            accuracy_points=points,
            days=test.days,
            tested_days=rules.tested_days,
        ),
    )
