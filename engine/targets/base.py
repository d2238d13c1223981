"""The interface of a research target: what a trial predicts. A target makes the labels, turns
a fitted model's output into forecasts and forecasts into positions, and scores them against its
baselines with its own test. The runner, finalize, the selection statistics and the comparison
call only these methods, so a new target is one module plus `register_target`.

Whatever a target predicts, its results lead with the same verdict: its strategy's return as
the execution earns it, after costs, against the best of its baseline strategies (rules that
need no model), by a Newey-West t-test. `score` builds it with
`mltrainer.engine.verdict.judge` from the daily returns it computed anyway; Holm, the best-of-N
bar and the choice of a trial to finalize all read that test. A target's labels must describe
what the execution trades: a position decided at the close of bar t is entered
`entry_delay(execution)` bars later, so a label about bar t's move that the execution cannot
trade would make "significant" mean an edge nobody can earn.

Light on purpose (numpy, pandas and the result models are only named in annotations): the
registry imports it, and the registry is read to validate every `TrialConfig`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal, TypeAlias

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    from sklearn.pipeline import Pipeline

    from mltrainer.engine.design import Design
    from mltrainer.engine.ledger import TrialPredictions
    from mltrainer.engine.trial import (
        Backtest,
        Baselines,
        ClassificationMetrics,
        Execution,
        ForecastBaselines,
        ForecastMetrics,
        RankingBaselines,
        RankingMetrics,
        TrialConfig,
    )
    from mltrainer.engine.verdict import Verdict

    Metrics: TypeAlias = ClassificationMetrics | ForecastMetrics | RankingMetrics
    AnyBaselines: TypeAlias = Baselines | ForecastBaselines | RankingBaselines
    # Each strategy's positions (or, for a portfolio, its turnover per date) and its returns
    # after costs, per traded date.
    StrategySeries: TypeAlias = dict[str, tuple[np.ndarray, np.ndarray]]

# What kind of scikit-learn estimator a target's labels need, in scikit-learn's own words
# (`sklearn.utils.get_tags(estimator).estimator_type`).
EstimatorType = Literal["classifier", "regressor"]
# The label column the model learns. The seed's feature frame called it `target`, and
# `DataFetcher` still hands that frame out.
LABEL = "target"
# Bars between the close a position is decided at and the price it is entered at: `next_bar`
# fills at the next bar's close, `close` (market-on-close) at the deciding close itself.
ENTRY_DELAY = {"next_bar": 1, "close": 0}


def entry_delay(execution: str) -> int:
    """How many bars after the deciding close the execution enters a position."""
    return ENTRY_DELAY[execution]


@dataclass(frozen=True)
class Headline:
    """The target's own score (selection and holdout score, walk-forward folds, the
    overfitting gap), so a surface can name it for any target: `metric` is its name, `percent`
    whether it reads as a percentage (accuracy) or as a number (an IC), and `strategies` names
    what the backtest's three strategies hold for this target, `test` the test of its own
    score against its baselines. It is the second line: every
    result leads with the verdict on the returns the execution earns (`SegmentScore.verdict`)."""

    metric: str
    description: str
    percent: bool = True
    strategies: tuple[str, str, str] = ("long/flat", "long/short", "buy-and-hold")
    test: str = "binomial / McNemar"
    # What the best baseline's `best_score` is, when it is not the same score (return's naive
    # forecasts have no IC: a constant forecast correlates with nothing).
    baseline_metric: str | None = None

    @property
    def baseline_score(self) -> str:
        return self.baseline_metric or self.metric


@dataclass(frozen=True)
class Forecast:
    """What a fitted model says about each scored row: `values` (a class per row from a
    classifier, a number from a regressor) and, when the model gives one, the probability of
    class 1."""

    values: np.ndarray
    probability: np.ndarray | None = None


@dataclass(frozen=True)
class SegmentScore:
    """A target's numbers on one stretch of rows (a trial's selection segment, or a locked
    holdout): its headline score and the result sections built from the same forecasts.

    The sections are typed per kind of target: classification metrics and baselines (0/1
    calls), forecast metrics and baselines (a regression's R-squared and IC), ranking metrics
    and baselines (IC per date, portfolios by quantile); every target's backtest has the same
    three strategies, and the record kept per day (or per stock and date) re-scores them. The
    verdict (`verdict.judge`) tests the target's strategy return after costs against the best
    baseline strategy, and says the smallest effects the segment could detect."""

    headline: float
    metrics: Metrics
    baselines: AnyBaselines
    backtest: Backtest
    predictions: TrialPredictions
    verdict: Verdict


@dataclass(frozen=True)
class PairedTest:
    """Two trials' forecasts tested against each other on the days both scored."""

    days: int
    p_value: float | None


class ResearchTarget(ABC):
    """One research question. Subclasses set `estimator_type` and `headline` and implement
    every method; instances hold no state, so one serves every trial and thread."""

    estimator_type: ClassVar[EstimatorType]
    headline: ClassVar[Headline]

    @abstractmethod
    def labels(self, bars: pd.DataFrame, config: TrialConfig) -> pd.DataFrame:
        """Per bar of `bars`: the column `LABEL` (what the model learns) and whatever else
        `score` needs, such as the return a position decided at that bar's close earns under
        the config's execution. NaN where a value is not known within the bars; those rows are
        dropped. A label may look ahead (that is what is predicted), nothing else may, and it
        starts where the execution enters (`entry_delay`), so it is about a move that can be
        traded."""

    def label_reach(self, config: TrialConfig) -> int:
        """How many bars past its own a row's label looks: the purge between training rows and
        the rows they are scored on. By default the horizon from where the execution enters;
        a target whose labels look further says so here."""
        return config.horizon + entry_delay(config.execution)

    @abstractmethod
    def forecast(self, pipeline: Pipeline, X: np.ndarray) -> Forecast:
        """The fitted `pipeline`'s forecasts for the rows of `X`."""

    @abstractmethod
    def fit_score(self, pipeline: Pipeline, design: Design, rows: np.ndarray) -> float:
        """The headline score of a fitted `pipeline` on `rows` of the design (their labels are
        known): what each walk-forward fold and the training period report."""

    @abstractmethod
    def score(
        self,
        forecast: Forecast,
        design: Design,
        fit_rows: np.ndarray,
        scored_rows: np.ndarray,
        config: TrialConfig,
    ) -> SegmentScore:
        """Everything reported about the forecasts of `scored_rows`: metrics, baselines (which
        may learn from `fit_rows`, the rows the model was fitted on, and nothing later), the
        test behind the p-value, the strategies after costs, the record kept per day, and the
        verdict: `verdict.judge` on the traded strategy's returns after costs and those of the
        baseline strategies (each rule's calls traded the same way, on the same days)."""

    @abstractmethod
    def positions(self, predictions: TrialPredictions) -> dict[str, np.ndarray]:
        """Each strategy's position (`long_flat`, `long_short`, `buy_and_hold`) on each
        recorded day: what re-scoring at another cost and the equity curves trade."""

    def daily_returns(
        self, predictions: TrialPredictions, cost_bps: float
    ) -> StrategySeries | None:
        """Each strategy's turnover and return after `cost_bps` per traded date, for a target
        that holds several stocks at once. None (the default): the strategies hold one asset,
        and `engine.metrics.recorded_strategies` trades `positions` against the record's
        returns."""
        return None

    def backtest(
        self, predictions: TrialPredictions, cost_bps: float, execution: Execution
    ) -> Backtest | None:
        """The strategies' statistics from the record at `cost_bps`, for a target whose
        strategies are not one asset's positions; None (the default): `engine.metrics`
        computes them from `daily_returns`."""
        return None

    @abstractmethod
    def metrics(self, predictions: TrialPredictions) -> Metrics:
        """The out-of-sample metrics of a recorded segment, recomputed from its record."""

    @abstractmethod
    def noise_bar(self, tries: int, predictions: TrialPredictions) -> tuple[float, float]:
        """Expected and 95th-percentile headline score of the best of `tries` skill-less
        forecasters on the recorded days: the bar a selected trial must clear. The caller
        passes only non-overlapping days (every `horizon`-th), so labels that share bars do not
        count as independent draws."""

    @abstractmethod
    def paired_test(self, first: TrialPredictions, second: TrialPredictions) -> PairedTest:
        """Two-sided test of whether two trials' forecasts differ in skill on the days both
        recorded (the same days, so the market's luck is shared)."""
