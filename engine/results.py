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


class TrialSummary(_Summary):
    """The numbers of one trial a table or an LLM needs: a row of the trials table."""

    trial: int | None
    model_id: str
    model: str
    symbol: str
    data: str = Field(description="the trial's data label: REAL DATA, SYNTHETIC DATA, ...")
    selection_accuracy: float
    best_baseline: str
    baseline_accuracy: float
    p_value: float
    p_value_adjusted: float | None
    tries: int | None
    sharpe: float
    buy_hold_sharpe: float

    @classmethod
    def of(cls, result: TrialResult) -> Self:
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
        )


class FinalSummary(_Summary):
    """The holdout numbers of one finalized trial a summary or an LLM needs."""

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
    sharpe: float
    buy_hold_sharpe: float
    execution: Execution
    dsr: float | None
    pbo: float | None
    tries: int
    look: int
    untouched: bool

    @classmethod
    def of(cls, final: FinalResult) -> Self:
        holdout = final.holdout
        stats = final.selection_stats
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
            mcnemar_p_value=getattr(holdout.baselines, "mcnemar_p_value", None),
            sharpe=holdout.backtest.long_flat.sharpe,
            buy_hold_sharpe=holdout.backtest.buy_and_hold.sharpe,
            execution=holdout.backtest.execution,
            dsr=stats.dsr,
            pbo=stats.pbo,
            tries=stats.tries,
            look=final.look,
            untouched=final.untouched,
        )


class PairedTrial(TrialSummary):
    """A compared trial other than the best, tested against it on the days both scored."""

    shared_days: int
    p_vs_best: float | None = Field(
        description="exact two-sided McNemar test against the best; None without shared days"
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
