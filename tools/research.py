"""The research vocabulary an LLM sees: one argument model and one handler per tool.

Argument docstrings and field descriptions are written for the model reading them: short,
with units and bounds. Handlers return JSON-ready dicts; failures are `status: "error"`.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mltrainer.engine.compare import compare_trials
from mltrainer.engine.data.registry import get_source, list_sources
from mltrainer.engine.errors import MLTrainerError
from mltrainer.engine.ml_engine import MLEngine, error_result
from mltrainer.engine.trial import TrialConfig
from mltrainer.tools.base import Tool


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ListSources(_Args):
    """List the data sources (sample = real data offline, synthetic = labelled random walks,
    polygon = live bars, fred = macro series), whether each is allowed and has its key."""


class ListSymbols(_Args):
    """List the symbols a source serves. Sample symbols work offline."""

    source: Literal["sample", "synthetic", "polygon", "fred"] = "sample"


class ListModels(_Args):
    """List the models with their hyper-parameters, defaults and bounds."""


class FetchData(_Args):
    """Load daily bars (or a macro series) and report provenance, date range and rows."""

    symbol: str = Field(description="ticker (e.g. MSFT, SPX) or FRED series id when kind=series")
    source: Literal["auto", "sample", "synthetic", "polygon"] = "auto"
    kind: Literal["bars", "series"] = "bars"
    start: date | None = Field(default=None, description="YYYY-MM-DD")
    end: date | None = Field(default=None, description="YYYY-MM-DD")


class TrainModel(TrialConfig):
    """Train one model to predict the next bar's direction and score it out of sample:
    chronological train/test split, purged walk-forward folds inside the training period,
    test accuracy vs baselines (majority, always-up, previous direction) with a p-value, and a
    long/flat backtest after costs vs buy-and-hold. Every call is one more try: report it."""

    model_config = ConfigDict(extra="forbid", title="train_model")


class EvaluateTrial(_Args):
    """Re-score a recorded trial from its stored test predictions, e.g. at another cost."""

    trial: int | None = Field(default=None, ge=1, description="trial number from train_model")
    model_id: str | None = None
    cost_bps: float | None = Field(
        default=None, ge=0, le=100, description="basis points per unit turnover"
    )


class CompareTrials(_Args):
    """Rank recorded trials by test accuracy and test the best against each other on the same
    test days (McNemar p-value). Also gives the best p-value adjusted for the number of tries."""

    trials: list[int] | None = Field(
        default=None,
        min_length=2,
        max_length=20,
        description="trial numbers; leave out to compare every trial of this session",
    )


class Finish(_Args):
    """End the research session with your conclusion. Say which trial is best, whether it
    beats the best baseline after adjusting for the number of tries, and what you would try next."""

    conclusion: str = Field(min_length=1, max_length=4000)
    best_trial: int | None = Field(default=None, ge=1)


def _list_sources(engine: MLEngine, _: ListSources) -> dict[str, Any]:
    return {
        "status": "success",
        "type": "sources",
        "sources": [s.model_dump() for s in list_sources(engine.settings)],
    }


def _list_symbols(engine: MLEngine, args: ListSymbols) -> dict[str, Any]:
    try:
        source = get_source(args.source, engine.settings)
    except MLTrainerError as error:
        return error_result(error, "list_failed")
    return {
        "status": "success",
        "type": "symbols",
        "symbols": [s.model_dump(mode="json") for s in source.symbols()],
    }


def _list_models(engine: MLEngine, _: ListModels) -> dict[str, Any]:
    return {"status": "success", "type": "models", "models": engine.available_models()}


def _fetch_data(engine: MLEngine, args: FetchData) -> dict[str, Any]:
    return engine.fetch_data(args.model_dump())


def _train_model(engine: MLEngine, args: TrainModel) -> dict[str, Any]:
    return engine.train_model(TrialConfig.model_validate(args.model_dump()))


def _evaluate(engine: MLEngine, args: EvaluateTrial) -> dict[str, Any]:
    params: dict[str, Any] = {"trial": args.trial, "model_id": args.model_id}
    if args.cost_bps is not None:
        params["cost_bps"] = args.cost_bps
    return engine.evaluate(params)


def _compare(engine: MLEngine, args: CompareTrials) -> dict[str, Any]:
    try:
        tries = engine.ledger.count(session=engine.session) if engine.session else None
        keys: list[str | int] = list(args.trials or [])
        if not keys and engine.session:
            keys = [row.trial for row in engine.ledger.rows(session=engine.session, limit=20)]
        return compare_trials(engine.ledger, keys, tries=tries)
    except MLTrainerError as error:
        return error_result(error, "compare_failed")


def _finish(engine: MLEngine, args: Finish) -> dict[str, Any]:
    return {
        "status": "success",
        "type": "finished",
        "conclusion": args.conclusion,
        "best_trial": args.best_trial,
    }


TOOLS: tuple[Tool, ...] = (
    Tool("list_sources", ListSources, _list_sources),
    Tool("list_symbols", ListSymbols, _list_symbols),
    Tool("list_models", ListModels, _list_models),
    Tool("fetch_data", FetchData, _fetch_data),
    Tool("train_model", TrainModel, _train_model),
    Tool("evaluate_trial", EvaluateTrial, _evaluate),
    Tool("compare_trials", CompareTrials, _compare),
    Tool("finish", Finish, _finish, ends_session=True),
)
