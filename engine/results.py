"""The engine's results other than a trial and a holdout score (those are in `trial.py`): a
trial's row in a table, a holdout score's row, a comparison of trials, a re-scored trial, what
fetched bars or a series hold, and a model as `list_models` describes it.

Plain models, light enough to import without pandas: the tools' result union is built on them.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from mltrainer.engine.data.provenance import Provenance
from mltrainer.engine.targets import DEFAULT_TARGET
from mltrainer.engine.trial import (
    Backtest,
    DatasetInfo,
    Execution,
    FinalResult,
    RankBy,
    SelectionStats,
    TargetBaselines,
    TargetMetrics,
    TrialResult,
)

if TYPE_CHECKING:
    from mltrainer.engine.models import ModelSpec


class _Summary(BaseModel):
    """Built when a result is, not when the module loads (as the trial's own models)."""

    model_config = ConfigDict(defer_build=True)


def _absent(value: object) -> bool:
    return value is None


def _shown_target(target: str) -> str | None:
    """A summary names its target when it is not direction (older summaries have none)."""
    return None if target == DEFAULT_TARGET else target


class TrialSummary(_Summary):
    """The numbers of one trial a table or an LLM needs: a row of the trials table. The return
    test's fields come last and are left out when a trial has none (one recorded before it),
    so summaries recorded then read and write as they were."""

    trial: int | None
    model_id: str
    model: str
    symbol: str
    data: str = Field(description="the trial's data label: REAL DATA, SYNTHETIC DATA, ...")
    selection_accuracy: float
    best_baseline: str
    baseline_accuracy: float
    p_value: float = Field(description="the accuracy test's p-value")
    p_value_adjusted: float | None
    tries: int | None
    sharpe: float
    buy_hold_sharpe: float
    return_baseline: str | None = Field(
        default=None, exclude_if=_absent, description="the best baseline strategy"
    )
    excess_sharpe: float | None = Field(
        default=None,
        exclude_if=_absent,
        description="annualised Sharpe of the strategy's daily return over the best baseline "
        "strategy's, after costs",
    )
    return_t: float | None = Field(
        default=None, exclude_if=_absent, description="the return test's Newey-West t"
    )
    return_p_value: float | None = Field(
        default=None, exclude_if=_absent, description="the return test's one-sided p-value"
    )
    return_p_value_adjusted: float | None = Field(
        default=None, exclude_if=_absent, description="that p-value, Holm over the tries"
    )
    target: str | None = Field(
        default=None,
        exclude_if=_absent,
        description="what the trial predicts, when not direction: selection_accuracy and "
        "baseline_accuracy are then its own score (return: IC, rank: Rank IC)",
    )

    @classmethod
    def of(cls, result: TrialResult) -> Self:
        verdict = result.return_test
        return cls(
            trial=result.trial,
            model_id=result.model_id,
            model=result.model,
            symbol=result.symbol,
            data=result.data_label,
            selection_accuracy=result.selection_accuracy,
            best_baseline=result.baselines.best_name,
            baseline_accuracy=result.baselines.best_score,
            p_value=result.baselines.p_value,
            p_value_adjusted=result.p_value_adjusted,
            tries=result.tries,
            sharpe=result.backtest.long_flat.sharpe,
            buy_hold_sharpe=result.backtest.buy_and_hold.sharpe,
            return_baseline=None if verdict is None else verdict.baseline,
            excess_sharpe=None if verdict is None else verdict.excess_sharpe,
            return_t=None if verdict is None else verdict.t_stat,
            return_p_value=None if verdict is None else verdict.p_value,
            return_p_value_adjusted=result.return_p_value_adjusted,
            target=_shown_target(result.config.target),
        )


class FinalSummary(_Summary):
    """The holdout numbers of one finalized trial a summary or an LLM needs. The return test,
    its power and the Sharpe evidence on the strategy's own return come last, left out for a
    holdout scored before them."""

    trial: int
    model: str
    symbol: str
    data: str
    selection_accuracy: float
    holdout_accuracy: float
    holdout_period: tuple[date, date]
    best_baseline: str
    baseline_accuracy: float
    p_value: float
    mcnemar_p_value: float | None = Field(
        description="direction only: McNemar against the best baseline"
    )
    # None (and left out of the JSON) in a summary recorded before looks were adjusted.
    p_value_adjusted: float | None = Field(
        default=None,
        exclude_if=_absent,
        description="the target's own test's p-value adjusted (Holm) over `family` looks: the "
        "one to report",
    )
    mcnemar_p_value_adjusted: float | None = Field(default=None, exclude_if=_absent)
    family: int | None = Field(
        default=None,
        exclude_if=_absent,
        description="looks the holdout p-values are adjusted over",
    )
    sharpe: float
    buy_hold_sharpe: float
    execution: Execution
    dsr: float | None
    pbo: float | None
    tries: int
    look: int
    untouched: bool
    return_baseline: str | None = Field(default=None, exclude_if=_absent)
    excess_sharpe: float | None = Field(
        default=None, exclude_if=_absent, description="on the holdout, over the best baseline"
    )
    return_t: float | None = Field(default=None, exclude_if=_absent)
    return_p_value: float | None = Field(
        default=None, exclude_if=_absent, description="the holdout's return test, one-sided"
    )
    return_p_value_adjusted: float | None = Field(
        default=None,
        exclude_if=_absent,
        description="the return test's p-value adjusted (Holm) over `family` looks: the one to "
        "report",
    )
    detectable_sharpe: float | None = Field(
        default=None,
        exclude_if=_absent,
        description="the smallest excess Sharpe this holdout detects at 80% power",
    )
    detectable_accuracy_points: float | None = Field(
        default=None,
        exclude_if=_absent,
        description="the smallest accuracy gain (points) this holdout detects at 80% power",
    )
    strategy_dsr: float | None = Field(
        default=None, exclude_if=_absent, description="DSR of the strategy's own return"
    )
    strategy_pbo: float | None = Field(
        default=None, exclude_if=_absent, description="PBO on the strategies' own returns"
    )
    target: str | None = Field(
        default=None,
        exclude_if=_absent,
        description="what the trial predicts, when not direction: the accuracy fields are "
        "then its own score (return: IC, rank: Rank IC)",
    )

    @classmethod
    def of(cls, final: FinalResult) -> Self:
        holdout = final.holdout
        stats = final.selection_stats
        verdict = holdout.return_test
        power = holdout.power
        mcnemar = getattr(holdout.baselines, "mcnemar_p_value", None)
        return cls(
            trial=final.trial,
            model=final.model,
            symbol=final.symbol,
            data=final.data_label,
            selection_accuracy=final.selection_accuracy,
            holdout_accuracy=holdout.accuracy,
            holdout_period=holdout.period,
            best_baseline=holdout.baselines.best_name,
            baseline_accuracy=holdout.baselines.best_score,
            p_value=holdout.baselines.p_value,
            mcnemar_p_value=mcnemar,
            p_value_adjusted=final.reported_p("binomial", holdout.baselines.p_value),
            mcnemar_p_value_adjusted=None
            if mcnemar is None
            else final.reported_p("mcnemar", mcnemar),
            family=final.family,
            sharpe=holdout.backtest.long_flat.sharpe,
            buy_hold_sharpe=holdout.backtest.buy_and_hold.sharpe,
            execution=holdout.backtest.execution,
            dsr=stats.dsr,
            pbo=stats.pbo,
            tries=stats.tries,
            look=final.look,
            untouched=final.untouched,
            return_baseline=None if verdict is None else verdict.baseline,
            excess_sharpe=None if verdict is None else verdict.excess_sharpe,
            return_t=None if verdict is None else verdict.t_stat,
            return_p_value=None if verdict is None else verdict.p_value,
            return_p_value_adjusted=(
                None if verdict is None else final.reported_p("return", verdict.p_value)
            ),
            detectable_sharpe=None if power is None else power.excess_sharpe,
            detectable_accuracy_points=None if power is None else power.accuracy_points,
            strategy_dsr=stats.strategy_dsr,
            strategy_pbo=stats.strategy_pbo,
            target=_shown_target(final.config.target),
        )


class PairedTrial(TrialSummary):
    """A compared trial other than the best, tested against it on the days both scored."""

    shared_days: int
    p_vs_best: float | None = Field(
        description="exact two-sided McNemar test against the best; None without shared days"
    )
    return_p_vs_best: float | None = Field(
        default=None,
        exclude_if=_absent,
        description="two-sided Newey-West test of the daily difference between the best's "
        "strategy return and this one's, after costs, on the shared days",
    )


class ComparisonBest(TrialSummary):
    selection_stats: SelectionStats | None = Field(
        description="how much of the best's number is luck; None for a trial recorded before "
        "datasets had a locked holdout"
    )


class Comparison(_Summary):
    """`compare_trials`: trials ranked, each tested against the best on shared days, and the
    best's statistics over every try on its dataset."""

    status: Literal["success"] = "success"
    type: Literal["comparison"] = "comparison"
    rank_by: RankBy
    compared: int
    best: ComparisonBest
    trials: list[Annotated[PairedTrial | TrialSummary, Field(union_mode="left_to_right")]]
    tries: int
    best_p_value: float
    best_p_value_adjusted: float | None
    synthetic: bool
    best_return_p_value: float | None = Field(
        default=None, exclude_if=_absent, description="the best trial's return test p-value"
    )
    best_return_p_value_adjusted: float | None = Field(
        default=None, exclude_if=_absent, description="that p-value, Holm over every try"
    )


class Evaluation(_Summary):
    """`evaluate_trial`: a recorded trial's selection predictions scored again, e.g. at
    another cost."""

    status: Literal["success"] = "success"
    type: Literal["evaluation"] = "evaluation"
    trial: int | None
    model_id: str
    model: str
    symbol: str
    synthetic: bool
    data_label: str
    selection_period: tuple[date, date] | None
    selection: TargetMetrics
    baselines: TargetBaselines
    backtest: Backtest


class BarsSummary(_Summary):
    """`fetch_data` of bars: where they came from, and only the part before the dataset's
    locked holdout described."""

    status: Literal["success"] = "success"
    type: Literal["bars"] = "bars"
    data_label: str
    provenance: Provenance
    dataset: DatasetInfo
    last_close_before_holdout: float
    total_return_before_holdout: float
    notes: list[str]


class SeriesSummary(_Summary):
    """`fetch_data` of a macro series: where it came from and its last value."""

    status: Literal["success"] = "success"
    type: Literal["series"] = "series"
    provenance: Provenance
    point_in_time: bool
    last_value: float


class ParamInfo(_Summary):
    """One hyper-parameter as a model reads it: default, inclusive bounds or choices."""

    default: JsonValue
    low: int | float | None
    high: int | float | None
    choices: list[JsonValue] | None


class ModelInfo(_Summary):
    """A registered model as `list_models` shows it."""

    name: str
    family: str
    description: str
    aliases: list[str]
    params: dict[str, ParamInfo]
    needs: str | None
    kinds: list[str] | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="classifier (direction), regressor (return, rank), or both (a listing "
        "recorded before regressors has none)",
    )

    @classmethod
    def of(cls, spec: ModelSpec) -> Self:
        return cls(
            name=spec.name,
            family=spec.family,
            description=spec.description,
            aliases=list(spec.aliases),
            params={
                name: ParamInfo(
                    default=bound.default,
                    low=bound.low,
                    high=bound.high,
                    choices=list(bound.choices) or None,
                )
                for name, bound in spec.params.items()
            },
            needs="torch (pip install 'mltrainer[deep]')" if spec.needs_torch else None,
            kinds=list(spec.kinds),
        )
