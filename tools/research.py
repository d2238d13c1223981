"""The research vocabulary an LLM sees: one argument model and one handler per tool.

Argument docstrings and field descriptions are written for the model reading them: short,
with units and bounds. Handlers return typed results (`results.py`); an expected failure is an
`ErrorResult` the model can act on.
Handlers import the engine's heavy parts (scikit-learn, pandas) when they run, so listing or
exporting the tools (`mltrainer tools`, an MCP `tools/list`) loads no ML library.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mltrainer.engine.data.catalog import bar_source_names, source_names
from mltrainer.engine.errors import ConfigError, MLTrainerError
from mltrainer.engine.results import (
    BarsSummary,
    Comparison,
    Evaluation,
    FinalSummary,
    ModelInfo,
    SeriesSummary,
)
from mltrainer.engine.trial import (
    ErrorResult,
    FinalResult,
    RankBy,
    TrialConfig,
    TrialResult,
    one_of,
)
from mltrainer.tools.base import Tool, ToolContext, compact_json
from mltrainer.tools.feedback import comparison_feedback, format_feedback, holdout_feedback
from mltrainer.tools.registry import register_tool
from mltrainer.tools.results import Conclusion, ModelList, SourceList, SymbolList, dump
from mltrainer.tools.sweep import Sweep, run_sweep

Args = TypeVar("Args", bound=BaseModel)
Output = TypeVar("Output", bound=BaseModel)


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ListSources(_Args):
    """List the data sources (sample = real data offline, synthetic = labelled random walks,
    polygon = live bars, fred = macro series), whether each is allowed and has its key."""


class ListSymbols(_Args):
    """List the symbols a source serves. Sample symbols work offline."""

    source: str = Field(
        default="sample",
        json_schema_extra=lambda schema: schema.update(enum=list(source_names())),
    )

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        return one_of(value, source_names())


class ListModels(_Args):
    """List the models with their hyper-parameters, defaults and bounds."""


class FetchData(_Args):
    """Load daily bars (or a macro series) and report provenance, date range and rows. For bars,
    only the part before the dataset's locked holdout is described; its dates are given."""

    symbol: str = Field(description="ticker (e.g. MSFT, SPX) or FRED series id when kind=series")
    source: str = Field(
        default="auto",
        json_schema_extra=lambda schema: schema.update(enum=list(bar_source_names())),
    )
    kind: Literal["bars", "series"] = "bars"
    start: date | None = Field(default=None, description="YYYY-MM-DD")
    end: date | None = Field(default=None, description="YYYY-MM-DD")
    path: str | None = Field(
        default=None,
        description="with source csv: your own .csv or .parquet file of daily bars",
    )

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        return one_of(value, bar_source_names())


class TrainModel(TrialConfig):
    """Train one model and score it out of sample on the selection segment (the last
    1 - train_ratio of the bars before the dataset's locked holdout), after purged walk-forward
    folds inside the training period. The verdict: the long/flat strategy's return as the
    execution trades it, after costs, against the best strategy that needs no model
    (buy-and-hold, cash, previous direction), by a Newey-West t-test. Accuracy against the best
    baseline (binomial and McNemar p) is the second line. Every call is one more try on the
    dataset and makes every selection number less convincing: report the adjusted p-value."""

    model_config = ConfigDict(extra="forbid", title="train_model")

    def trial_config(self) -> TrialConfig:
        """These arguments as the engine's configuration: the same fields, already checked by
        the same validators, so nothing is validated twice."""
        return TrialConfig.model_construct(self.model_fields_set, **dict(self))


class EvaluateTrial(_Args):
    """Re-score a recorded trial from its stored selection predictions, e.g. at another cost."""

    trial: int | None = Field(default=None, ge=1, description="trial number from train_model")
    model_id: str | None = None
    cost_bps: float | None = Field(
        default=None, ge=0, le=100, description="basis points per unit turnover"
    )


class CompareTrials(_Args):
    """Rank recorded trials of one target and horizon (by default by the return test: the
    strategy's return after costs over the best baseline strategy) and test each against the
    best on the same selection days. Gives the best trial's return-test p-value adjusted for
    every try on its dataset (Holm), the t the best of that many skill-less tries reaches
    (noise bar), its deflated Sharpe ratios and the probability of backtest overfitting."""

    trials: list[int] | None = Field(
        default=None,
        min_length=2,
        max_length=200,
        description="trial numbers; leave out to compare every trial of this session",
    )
    rank_by: RankBy = Field(
        default="return_test",
        description="return_test (the t of the return over the best baseline strategy, after "
        "costs), accuracy (selection) or sharpe (long/flat after costs)",
    )


class Finalize(_Args):
    """Score ONE trial on its dataset's locked holdout: refit its configuration on everything
    before the holdout and score the holdout once. Do this at the end, for the trial you
    would report. A holdout already scored (by any session, under any name for the same bars)
    is refused unless again=true. Report the holdout's return test (and what it could have
    detected), not the best selection number; after more than one look, report the adjusted
    p-values."""

    trial: int | None = Field(
        default=None,
        ge=1,
        description="trial number; default: this session's best by rank_by, when all its "
        "trials share a target and horizon",
    )
    rank_by: RankBy = Field(default="return_test", description="how the default trial is picked")
    again: bool = Field(
        default=False,
        description="look at a holdout that was already scored; every holdout p-value is then "
        "adjusted (Holm) over all looks at it, and only the adjusted one may be reported",
    )


class Finish(_Args):
    """End the research session with your conclusion. Say which trial is best, what it scored
    on the locked holdout (finalize it first), whether that beats the best baseline, and what
    you would try next."""

    conclusion: str = Field(min_length=1, max_length=4000)
    best_trial: int | None = Field(default=None, ge=1)


def _failure(
    kind: str,
) -> Callable[
    [Callable[[ToolContext, Args], Output]], Callable[[ToolContext, Args], Output | ErrorResult]
]:
    """Expected failures become error results the model can act on."""

    def wrap(
        handler: Callable[[ToolContext, Args], Output],
    ) -> Callable[[ToolContext, Args], Output | ErrorResult]:
        def run(context: ToolContext, args: Args) -> Output | ErrorResult:
            try:
                return handler(context, args)
            except (MLTrainerError, ValidationError) as error:
                return ErrorResult.of(error, kind)

        return run

    return wrap


def _list_sources(context: ToolContext, _: ListSources) -> SourceList:
    from mltrainer.engine.data.registry import list_sources

    return SourceList(sources=list_sources(context.service.settings))


@_failure("list_failed")
def _list_symbols(context: ToolContext, args: ListSymbols) -> SymbolList:
    from mltrainer.engine.data.registry import get_source

    return SymbolList(symbols=get_source(args.source, context.service.settings).symbols())


def _list_models(context: ToolContext, _: ListModels) -> ModelList:
    from mltrainer.engine.models import MODELS

    return ModelList(models=[ModelInfo.of(spec) for spec in MODELS.values()])


@_failure("fetch_failed")
def _fetch_data(context: ToolContext, args: FetchData) -> BarsSummary | SeriesSummary:
    return context.service.fetch(
        args.symbol,
        source=args.source,
        kind=args.kind,
        start=args.start,
        end=args.end,
        path=args.path,
    )


@_failure("training_failed")
def _train_model(context: ToolContext, args: TrainModel) -> TrialResult:
    trained = context.service.train(
        args.trial_config(), call_id=context.call_id, deadline=context.deadline
    )
    return trained.result


@_failure("evaluate_failed")
def _evaluate(context: ToolContext, args: EvaluateTrial) -> Evaluation:
    key = args.trial if args.trial is not None else args.model_id
    if key is None:
        raise ConfigError("evaluate_trial needs 'trial' or 'model_id'")
    return context.service.evaluate(key, cost_bps=args.cost_bps)


@_failure("compare_failed")
def _compare(context: ToolContext, args: CompareTrials) -> Comparison:
    return context.service.compare(args.trials, rank_by=args.rank_by)


@_failure("finalize_failed")
def _finalize(context: ToolContext, args: Finalize) -> FinalResult:
    return context.service.finalize(
        args.trial,
        rank_by=args.rank_by,
        again=args.again,
        call_id=context.call_id,
        deadline=context.deadline,
    )


def _finish(context: ToolContext, args: Finish) -> Conclusion:
    finalized = context.service.finalized()
    return Conclusion(
        conclusion=args.conclusion,
        best_trial=args.best_trial,
        finalized=[FinalSummary.of(final) for final in finalized],
        note=None
        if finalized
        else "no trial was finalized, so this conclusion rests on selection numbers, which "
        "are optimistic after many tries",
    )


def _read_trial(result: TrialResult) -> str:
    """A trial as the model reads it: its number, then the feedback question."""
    return f"Trial {result.trial} ({result.model_id}). " + format_feedback(result)


def _read_final(final: FinalResult) -> str:
    """A holdout result as the model reads it: the verdict and its power, then the JSON."""
    return " ".join(part for part in (holdout_feedback(final), compact_json(dump(final))) if part)


def _read_comparison(comparison: Comparison) -> str:
    """A comparison as the model reads it: the best trial's verdict, then the JSON."""
    lead = comparison_feedback(comparison)
    return " ".join(part for part in (lead, compact_json(dump(comparison))) if part)


def _read_models(listed: ModelList) -> str:
    """Names and defaults only: bounds and descriptions are in the schema, and cost tokens."""
    slim = [
        {"name": m.name, "params": {k: v.default for k, v in m.params.items()}}
        for m in listed.models
    ]
    return json.dumps({"models": slim}, separators=(",", ":"))


def _training(arguments: TrainModel) -> str:
    return f"training {arguments.model} on {arguments.symbol}"


TOOLS: tuple[Tool, ...] = (
    Tool("list_sources", ListSources, _list_sources),
    Tool("list_symbols", ListSymbols, _list_symbols),
    Tool("list_models", ListModels, _list_models, render=_read_models),
    Tool("fetch_data", FetchData, _fetch_data),
    Tool("train_model", TrainModel, _train_model, render=_read_trial, starting=_training),
    Tool("sweep", Sweep, run_sweep, starting=lambda _: "running a sweep"),
    Tool("evaluate_trial", EvaluateTrial, _evaluate),
    Tool(
        "compare_trials",
        CompareTrials,
        _compare,
        render=_read_comparison,
        starting=lambda _: "comparing trials",
    ),
    Tool(
        "finalize",
        Finalize,
        _finalize,
        render=_read_final,
        starting=lambda _: "scoring the locked holdout",
    ),
    Tool("finish", Finish, _finish, ends_session=True),
)
# The built-in tools go through the door a plugin's tools use.
for _tool in TOOLS:
    register_tool(_tool)
