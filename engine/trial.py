"""What a trial is: its configuration (validated, bounded) and its result (JSON-ready).

A trial is a pure function config -> result: where it runs does not change what it returns.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mltrainer.engine.data.base import Provenance

SourceName = Literal["auto", "sample", "synthetic", "polygon"]
TICKER_PATTERN = r"^[A-Za-z][A-Za-z0-9.\-]{0,9}$"


class TrialConfig(BaseModel):
    """Everything that decides a trial's numbers; unknown keys are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")

    symbol: str = Field(description="ticker, e.g. MSFT or SPX")
    source: SourceName = Field(
        default="auto",
        description="auto = sample data if the symbol ships offline, else polygon if a key is set",
    )
    model: str = Field(
        default="random_forest",
        description=(
            "random_forest, extra_trees, decision_tree, gradient_boosting, lightgbm, "
            "logistic_regression, svm, knn, naive_bayes, mlp or lstm (aliases like rf, logit work)"
        ),
    )
    params: dict[str, Any] = Field(
        default_factory=dict,
        description='hyper-parameters of that model (see list_models), e.g. {"n_estimators": 200}',
    )
    train_ratio: float = Field(
        default=0.8, ge=0.5, le=0.95, description="share of rows for training, in time order"
    )
    lookback: int = Field(
        default=20,
        ge=2,
        le=250,
        description="bars of history per row (momentum, volatility, LSTM window)",
    )
    horizon: int = Field(
        default=1, ge=1, le=20, description="predict direction this many bars ahead"
    )
    folds: int = Field(
        default=5, ge=2, le=20, description="walk-forward folds inside the training period"
    )
    embargo: int = Field(
        default=5, ge=0, le=60, description="extra bars dropped after the purge gap"
    )
    cost_bps: float = Field(
        default=2.0,
        ge=0.0,
        le=100.0,
        description="transaction cost per unit turnover, basis points",
    )
    seed: int = Field(
        default=42, ge=0, le=2**31 - 1, description="random seed; same seed and data, same result"
    )
    days: int | None = Field(
        default=None, ge=100, le=20000, description="use only the most recent N bars"
    )
    start: date | None = Field(default=None, description="first bar to use, YYYY-MM-DD")
    end: date | None = Field(default=None, description="last bar to use, YYYY-MM-DD")
    features: list[str] | None = Field(
        default=None, description="feature names; None = the default set"
    )
    macro: list[str] = Field(
        default_factory=list, description="FRED series ids joined as-of as features"
    )
    save_model: bool = Field(
        default=True, description="persist the fitted model under the data home"
    )

    @field_validator("symbol")
    @classmethod
    def _ticker(cls, value: str) -> str:
        if not re.fullmatch(TICKER_PATTERN, value):
            raise ValueError(
                "not a valid ticker; use 1-10 letters, digits, '.' or '-', starting with a "
                "letter (e.g. MSFT, SPX, BRK.B)"
            )
        return value.upper()

    @field_validator("macro")
    @classmethod
    def _upper_all(cls, value: list[str]) -> list[str]:
        return [v.upper() for v in value]


class ClassificationMetrics(BaseModel):
    accuracy: float
    precision: float
    recall: float
    auc: float | None
    log_loss: float | None
    n: int


class Baselines(BaseModel):
    majority_class: float = Field(
        description="accuracy of always predicting the training period's majority class"
    )
    always_up: float
    previous_direction: float
    best_name: str
    best_accuracy: float
    p_value: float = Field(description="one-sided binomial test: test accuracy > best baseline")


class StrategyStats(BaseModel):
    annual_return: float
    sharpe: float
    max_drawdown: float
    turnover: float


class Backtest(BaseModel):
    cost_bps: float
    long_flat: StrategyStats
    long_short: StrategyStats
    buy_and_hold: StrategyStats


class FoldScore(BaseModel):
    fold: int
    train_rows: int
    test_rows: int
    test_start: date
    test_end: date
    accuracy: float


class Timings(BaseModel):
    data: float = 0.0
    features: float = 0.0
    fit: float = 0.0
    predict: float = 0.0
    metrics: float = 0.0
    total: float = 0.0


class TrialResult(BaseModel):
    """Result of a successful trial. The first keys are the seed's; the rest make them honest."""

    status: Literal["success"] = "success"
    type: Literal["training_complete"] = "training_complete"
    model_id: str
    model: str
    symbol: str
    train_accuracy: float
    test_accuracy: float
    overfitting_risk: float = Field(description="train accuracy minus test accuracy")
    synthetic: bool
    data_label: str = Field(
        description="'REAL DATA', 'SYNTHETIC DATA', or 'CALLER DATA' (bars passed in by a caller)"
    )
    config: TrialConfig
    test: ClassificationMetrics
    walk_forward: list[FoldScore]
    walk_forward_accuracy: float
    baselines: Baselines
    backtest: Backtest
    features: list[str]
    train_period: tuple[date, date]
    test_period: tuple[date, date]
    provenance: Provenance
    macro_provenance: list[Provenance] = Field(default_factory=list)
    timings: Timings
    seed: int
    code_version: str
    model_path: str | None = None
    tries: int | None = Field(
        default=None,
        description="trials so far in this session (or on this symbol), this one included",
    )
    p_value_adjusted: float | None = Field(
        default=None, description="baselines.p_value times tries (Bonferroni), capped at 1"
    )
    notes: list[str] = Field(default_factory=list)


class ErrorResult(BaseModel):
    status: Literal["error"] = "error"
    type: str = "training_failed"
    error: str
    error_type: str
