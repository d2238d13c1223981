"""What a trial is: its configuration (validated, bounded) and its result (JSON-ready).

A trial is a pure function config -> result: where it runs does not change what it returns.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SerializerFunctionWrapHandler,
    Tag,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from mltrainer.engine.data.catalog import bar_source_names, file_source_names
from mltrainer.engine.data.provenance import Provenance
from mltrainer.engine.data.universes import (
    MAX_MEMBERS,
    MIN_MEMBERS,
    universe_label,
    universe_names,
)
from mltrainer.engine.errors import validation_message
from mltrainer.engine.targets.registry import (
    DEFAULT_TARGET,
    cross_sectional,
    target_descriptions,
    target_names,
)

Execution = Literal["next_bar", "close"]
RankBy = Literal["return_test", "accuracy", "sharpe"]
TICKER_PATTERN = r"^[A-Za-z][A-Za-z0-9.\-]{0,9}$"
# What a file source reads (engine/data/files.py); checked here so a wrong name is refused
# before anything runs.
BARS_FILE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")


def one_of(value: str, names: tuple[str, ...]) -> str:
    """`value` when it is one of `names`; else the error pydantic gives a `Literal`, so a
    registry-backed field reads the same as a fixed one."""
    if value in names:
        return value
    quoted = [repr(name) for name in names]
    expected = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
    raise PydanticCustomError("literal_error", "Input should be {expected}", {"expected": expected})


def _target_description() -> str:
    """What each registered target predicts, for the LLM reading the schema."""
    described = "; ".join(f"{name} = {text}" for name, text in target_descriptions().items())
    return f"what the model predicts: {described}"


def _universe_description() -> str:
    return (
        "for target rank only: the stocks ranked each date, a named universe ("
        + ", ".join(universe_names())
        + f") or a list of {MIN_MEMBERS} to {MAX_MEMBERS} tickers"
    )


class TrialConfig(BaseModel):
    """Everything that decides a trial's numbers; unknown keys are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")

    # Filled in from `universe` for a cross-sectional target, where the universe's label
    # (SP20, or LIST and a hash) stands for the symbol in tables, ids and the dataset key.
    symbol: str = Field(
        default=None,
        validate_default=True,
        description="ticker, e.g. MSFT or SPX (for target rank give universe instead)",
    )
    universe: str | list[str] | None = Field(
        default=None,
        json_schema_extra=lambda schema: schema.update(description=_universe_description()),
        description="for target rank: a named universe or a list of tickers",
        exclude_if=lambda value: value is None,
    )
    source: str = Field(
        default="auto",
        json_schema_extra=lambda schema: schema.update(enum=list(bar_source_names())),
        description="auto = sample data if the symbol ships offline, else polygon if a key is set",
    )
    path: str | None = Field(
        default=None,
        description="with source csv: your own daily bars, a .csv or .parquet file with date, "
        "open, high, low, close and volume columns; the symbol is then its label",
        exclude_if=lambda value: value is None,
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
    # Left out of the JSON when it is the default, so a direction trial's configuration (its
    # transcripts, ledger rows and model id) reads exactly as it did before there were targets.
    target: str = Field(
        default=DEFAULT_TARGET,
        json_schema_extra=lambda schema: schema.update(
            enum=list(target_names()), description=_target_description()
        ),
        description="what the model predicts",
        exclude_if=lambda value: value == DEFAULT_TARGET,
    )
    horizon: int = Field(default=1, ge=1, le=20, description="predict this many bars ahead")
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
    execution: Execution = Field(
        default="next_bar",
        description=(
            "next_bar (default): the position decided at the close of day t earns the return "
            "from t+1 to t+2 (one bar of delay); close: it earns t to t+1 (market-on-close)"
        ),
    )
    save_model: bool = Field(
        default=True, description="persist the fitted model under the data home"
    )

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        """Names from the source catalog (built-in and registered), said as pydantic says a
        literal's choices."""
        return one_of(value, bar_source_names())

    @field_validator("path")
    @classmethod
    def _bars_file(cls, value: str | None) -> str | None:
        """An absolute path, so the trial's record finds the file from any directory."""
        if value is None:
            return None
        path = Path(value).expanduser()
        if not path.name.lower().endswith(BARS_FILE_SUFFIXES):
            raise ValueError(f"must name a bars file ending in {', '.join(BARS_FILE_SUFFIXES)}")
        return str(path.absolute())

    @model_validator(mode="after")
    def _path_for_a_file_source(self) -> TrialConfig:
        reads_files = self.source in file_source_names()
        if self.path is not None and not reads_files:
            raise ValueError(
                f"path names a file for a source that reads files "
                f"({', '.join(file_source_names())}); source is '{self.source}'"
            )
        if self.path is None and reads_files:
            raise ValueError(f"source '{self.source}' reads bars from a file: give its path")
        return self

    @field_validator("target")
    @classmethod
    def _known_target(cls, value: str) -> str:
        """Names from the target registry (built-in and registered)."""
        return one_of(value, target_names())

    @model_validator(mode="before")
    @classmethod
    def _symbol_from_universe(cls, data: Any) -> Any:
        """A universe's label stands in for the symbol when none is given."""
        if isinstance(data, dict) and data.get("symbol") is None:
            universe = data.get("universe")
            target = data.get("target")
            if universe is None and isinstance(target, str) and cross_sectional(target):
                raise ValueError(
                    f"target '{target}' ranks a universe each date: give universe, a named one "
                    f"({', '.join(universe_names())}) or a list of {MIN_MEMBERS} to "
                    f"{MAX_MEMBERS} tickers"
                )
            if isinstance(universe, str) or (
                isinstance(universe, list)
                and universe
                and all(isinstance(s, str) for s in universe)
            ):
                return {**data, "symbol": universe_label(universe)}
        return data

    @field_validator("symbol", mode="before")
    @classmethod
    def _symbol_given(cls, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError(
                "missing",
                "Field required: a ticker such as MSFT or SPX (for target rank, give universe "
                "instead)",
            )
        return value

    @field_validator("symbol")
    @classmethod
    def _ticker(cls, value: str) -> str:
        if not re.fullmatch(TICKER_PATTERN, value):
            raise ValueError(
                "not a valid ticker; use 1-10 letters, digits, '.' or '-', starting with a "
                "letter (e.g. MSFT, SPX, BRK.B)"
            )
        return value.upper()

    @field_validator("universe")
    @classmethod
    def _known_universe(cls, value: str | list[str] | None) -> str | list[str] | None:
        if value is None:
            return None
        if isinstance(value, str):
            return one_of(value.lower(), universe_names())
        symbols = [s.strip().upper() for s in value]
        bad = [s for s in symbols if not re.fullmatch(TICKER_PATTERN, s)]
        if bad:
            raise ValueError(f"{bad} are not tickers; list tickers such as AAPL, MSFT, JPM")
        if len(set(symbols)) != len(symbols):
            repeated = sorted({s for s in symbols if symbols.count(s) > 1})
            raise ValueError(f"the universe lists {repeated} more than once; list each once")
        if not MIN_MEMBERS <= len(symbols) <= MAX_MEMBERS:
            raise ValueError(
                f"a universe needs {MIN_MEMBERS} to {MAX_MEMBERS} symbols to rank; got "
                f"{len(symbols)}"
            )
        return symbols

    @model_validator(mode="after")
    def _universe_for_its_target(self) -> TrialConfig:
        """A cross-sectional target ranks a universe; every other target predicts one symbol."""
        if not cross_sectional(self.target):
            if self.universe is not None:
                raise ValueError(
                    f"universe is for a target that ranks stocks (rank); target "
                    f"'{self.target}' predicts one symbol: give symbol, not universe"
                )
            return self
        if self.universe is None:
            raise ValueError(
                f"target '{self.target}' ranks a universe each date: give universe, a named "
                f"one ({', '.join(universe_names())}) or a list of {MIN_MEMBERS} to "
                f"{MAX_MEMBERS} tickers"
            )
        label = universe_label(self.universe)
        if self.symbol != label:
            raise ValueError(
                f"target '{self.target}' ranks the universe {label}, not the symbol "
                f"{self.symbol}: leave symbol out and give universe"
            )
        if self.macro:
            raise ValueError(
                f"macro series are the same for every stock on a date, so target "
                f"'{self.target}', which compares stocks within each date, cannot use "
                f"{self.macro}; leave macro out"
            )
        return self

    @field_validator("macro")
    @classmethod
    def _upper_all(cls, value: list[str]) -> list[str]:
        return [v.upper() for v in value]


class _Result(BaseModel):
    """Results are built when a trial ends, not when the module loads: deferring their
    validators keeps `mltrainer tools` and `--help` from paying for them."""

    model_config = ConfigDict(defer_build=True)


class ClassificationMetrics(_Result):
    """A classifier's calls scored: what 0/1 targets (direction) report."""

    accuracy: float
    precision: float
    recall: float
    auc: float | None
    log_loss: float | None
    n: int


def _absent(value: float | None) -> bool:
    return value is None


class Baselines(_Result):
    """Rules that need no model, and two tests of the model against the best of them.

    The rules are the research target's. The `direction` target's three are fields, under the
    names every result written so far has; another target's rules are extra fields under the
    names it gives them (and a field it has no rule for is left out).

    With `horizon > 1` neighbouring labels overlap, so both tests use every `horizon`-th day
    only (`tested_days` of them); the accuracies above are over every day.
    """

    model_config = ConfigDict(defer_build=True, extra="allow")
    __pydantic_extra__: dict[str, float] = Field(init=False)

    majority_class: float | None = Field(
        default=None,
        exclude_if=_absent,
        description="accuracy of always predicting the training period's majority class",
    )
    always_up: float | None = Field(
        default=None, exclude_if=_absent, description="direction: accuracy of always calling up"
    )
    previous_direction: float | None = Field(
        default=None,
        exclude_if=_absent,
        description="direction: accuracy of calling the last completed move's direction",
    )
    best_name: str
    best_accuracy: float
    p_value: float = Field(
        description="one-sided binomial test: the model's accuracy > the best baseline's"
    )
    mcnemar_p_value: float = Field(
        description="exact McNemar test (one-sided) on the days the model and the best "
        "baseline disagree: the model is right more often than the baseline there"
    )
    tested_days: int = Field(description="days used by both tests (non-overlapping labels)")

    @property
    def best_score(self) -> float:
        """The best rule's headline score, under the name every target's baselines share."""
        return self.best_accuracy


class ForecastMetrics(_Result):
    """A forecast of the `horizon`-bar return scored out of sample (target `return`)."""

    kind: Literal["forecast"] = "forecast"
    r2_oos: float = Field(
        description="out-of-sample R-squared against the historical-mean forecast (Campbell and "
        "Thompson 2008): 1 - SSE(model) / SSE(mean of the training period's returns); above 0 "
        "the model beat the mean"
    )
    ic: float | None = Field(
        description="information coefficient: Pearson correlation of forecast and realised "
        "return (None when the forecast is constant)"
    )
    rank_ic: float | None = Field(description="Spearman correlation of forecast and realised")
    hit_rate: float = Field(description="share of rows whose sign the forecast called right")
    mse: float = Field(description="mean squared error of the forecast")
    n: int


class RankingMetrics(_Result):
    """A universe ranked each date, scored per date and then summarised (target `rank`)."""

    kind: Literal["ranking"] = "ranking"
    ic: float = Field(
        description="mean over dates of the Pearson correlation, across stocks, of "
        "forecast and realised `horizon`-bar return"
    )
    ic_std: float
    icir: float | None = Field(
        description="ic / its standard deviation over dates (not annualised)"
    )
    rank_ic: float = Field(description="mean over dates of the Spearman correlation (Rank IC)")
    rank_ic_std: float
    rank_icir: float | None
    rank_ic_t: float = Field(
        description="t of the mean Rank IC with Newey-West (HAC) errors, lags = horizon"
    )
    rank_ic_p_value: float = Field(description="one-sided: the mean Rank IC is above 0")
    positive_share: float = Field(description="share of dates with a Rank IC above 0")
    dates: int
    members: int
    top_k: int = Field(description="stocks held long (and short) by the portfolios: a fifth")
    quantile_returns: list[float] = Field(
        description="annualised mean next-bar return of the stocks in each fifth of the "
        "forecast, lowest fifth first: a model that ranks well rises from left to right"
    )


def _kind(value: Any) -> str:
    """The section's kind; one without is a classification section (written before targets)."""
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return str(kind or "classification")


TargetMetrics = Annotated[
    Annotated[ClassificationMetrics, Tag("classification")]
    | Annotated[ForecastMetrics, Tag("forecast")]
    | Annotated[RankingMetrics, Tag("ranking")],
    Discriminator(_kind),
]


class ForecastRule(_Result):
    """One naive forecast of the return, scored on the same rows as the model."""

    r2_oos: float
    hit_rate: float | None = Field(description="None for the zero forecast, which has no sign")
    sharpe: float = Field(description="annualised Sharpe of trading its sign after costs")


class ForecastBaselines(_Result):
    """Naive forecasts of the return (zero, the historical mean, momentum: the last
    `horizon`-bar return) and a test of the model against the best of them."""

    kind: Literal["forecast"] = "forecast"
    rules: dict[str, ForecastRule]
    best_name: str
    best_score: float = Field(description="the best rule's out-of-sample R-squared")
    p_value: float = Field(
        description="one-sided Clark-West test (MSPE-adjusted, Newey-West errors with lags = "
        "horizon): the model's squared errors are below the best rule's"
    )
    tested_days: int


class RankRule(_Result):
    """One naive ranking, scored on the same dates as the model."""

    ic: float
    rank_ic: float
    long_short_sharpe: float = Field(
        description="annualised Sharpe of its top fifth minus its bottom fifth, after costs"
    )


class RankingBaselines(_Result):
    """Naive rankings (12-1 month momentum, 1-month reversal; equal weight is the portfolio
    benchmark in the backtest) and a test of the model's Rank IC against the best of them."""

    kind: Literal["ranking"] = "ranking"
    rules: dict[str, RankRule]
    best_name: str
    best_score: float = Field(description="the best rule's mean Rank IC")
    p_value: float = Field(
        description="one-sided t-test with Newey-West errors (lags = horizon) on the dates' "
        "Rank IC of the model minus the best rule's: the model ranks better"
    )
    tested_days: int


TargetBaselines = Annotated[
    Annotated[Baselines, Tag("classification")]
    | Annotated[ForecastBaselines, Tag("forecast")]
    | Annotated[RankingBaselines, Tag("ranking")],
    Discriminator(_kind),
]


@cache
def _baselines_adapter() -> TypeAdapter[Baselines | ForecastBaselines | RankingBaselines]:
    return TypeAdapter(TargetBaselines)


def recorded_baselines(data: dict[str, Any]) -> Baselines | ForecastBaselines | RankingBaselines:
    """A recorded baselines section (JSON) as the target's own model."""
    return _baselines_adapter().validate_python(data)


class StrategyStats(_Result):
    annual_return: float
    sharpe: float
    max_drawdown: float
    turnover: float
    total_return: float = 0.0


class Backtest(_Result):
    """Strategies after costs. What each one holds is the target's: for direction and return,
    long/flat and long/short on the forecast against buy-and-hold; for rank, the top fifth long
    (`long_flat`), the top fifth minus the bottom fifth (`long_short`) and the equal-weighted
    universe (`buy_and_hold`)."""

    cost_bps: float
    execution: Execution = "next_bar"
    long_flat: StrategyStats
    long_short: StrategyStats
    buy_and_hold: StrategyStats
    sized: StrategyStats | None = Field(
        default=None,
        exclude_if=_absent,
        description="return: a position of the forecast over the root mean square of the "
        "forecasts so far, capped at one unit either way",
    )
    active_sharpe: float = Field(
        default=0.0,
        description="annualised Sharpe of long/flat's daily return minus buy-and-hold's: "
        "timing skill, not the market's drift",
    )


class ReturnTest(_Result):
    """The headline verdict: does the strategy's return as executed, after costs, beat the best
    baseline strategy's on the same days? A one-sided Newey-West t-test of the daily difference,
    so days that move together are not counted as independent evidence."""

    strategy: str = Field(description="the strategy tested: long_flat for a direction trial")
    baseline: str = Field(
        description="the best baseline strategy on these days (the highest mean return after "
        "costs among rules that need no model, e.g. buy_and_hold, cash, previous_direction)"
    )
    execution: Execution
    cost_bps: float
    days: int
    excess_return: float = Field(
        description="annualised mean daily return over the baseline strategy's, after costs"
    )
    excess_sharpe: float = Field(description="annualised Sharpe ratio of that daily excess")
    t_stat: float = Field(description="Newey-West (HAC) t-statistic of the mean daily excess")
    lags: int = Field(description="autocovariance lags in the Newey-West standard error")
    p_value: float = Field(
        description="one-sided: the strategy earns more than the best baseline strategy"
    )


class Power(_Result):
    """What a holdout could have found: the smallest true effects its tests detect with 80%
    probability at the 5% level, given its days and the volatility observed on them. A result
    that is not significant says an effect smaller than these could not be told from luck."""

    excess_sharpe: float = Field(
        description="annualised Sharpe ratio of the excess over the best baseline strategy"
    )
    excess_return: float = Field(description="the same as an annualised excess return")
    accuracy_points: float | None = Field(
        default=None,
        description="hit rate above the best baseline rule's, in points (5.0 = 5 points); "
        "None for a target whose own score is not a hit rate (return, rank)",
    )
    days: int = Field(description="days behind the return test")
    tested_days: int = Field(description="independent days (or dates) behind the target's test")


class FoldScore(_Result):
    fold: int
    train_rows: int
    test_rows: int
    test_start: date
    test_end: date
    accuracy: float


class Timings(_Result):
    data: float = 0.0
    features: float = 0.0
    fit: float = 0.0
    predict: float = 0.0
    metrics: float = 0.0
    total: float = 0.0


class Segment(_Result):
    """A stretch of a dataset's bars, by date, and what is in it."""

    start: date
    end: date
    rows: int


class DatasetInfo(_Result):
    """The dataset a trial used and its locked final holdout, as the ledger fixed it."""

    key: str = Field(description="source:symbol:kind, e.g. sample:SPX:bars")
    holdout: Segment = Field(description="the locked final holdout; no trial ever sees it")
    holdout_looks: int = Field(
        default=0, description="finalize calls that scored on this holdout, all sessions"
    )
    used: Segment = Field(description="the bars this trial used (development + selection)")
    used_hash: str = Field(description="content hash of exactly the bars this trial used")


class TrialResult(_Result):
    """Result of a successful trial. Its out-of-sample numbers are on the *selection* segment:
    the part of the history that trials report and that the LLM picks on; the locked holdout
    after it is only scored by `finalize`.

    `*_accuracy` fields hold the target's headline score (its `Headline`): accuracy for
    direction, the IC for return, the mean Rank IC for rank; the names are the ones every
    result has carried. `selection` and `baselines` are the target's own sections, told apart
    by their `kind`."""

    status: Literal["success"] = "success"
    type: Literal["training_complete"] = "training_complete"
    trial: int | None = Field(default=None, description="trial number in the ledger")
    model_id: str
    model: str
    symbol: str = Field(description="the ticker, or for rank the universe's label (SP20)")
    train_accuracy: float = Field(description="headline score on the training rows")
    selection_accuracy: float = Field(description="headline score on the selection segment")
    overfitting_risk: float = Field(description="train accuracy minus selection accuracy")
    synthetic: bool
    data_label: str = Field(
        description="'REAL DATA', 'SYNTHETIC DATA', or 'CALLER DATA' (bars passed in by a caller)"
    )
    config: TrialConfig
    selection: TargetMetrics
    walk_forward: list[FoldScore]
    walk_forward_accuracy: float
    baselines: TargetBaselines
    backtest: Backtest
    features: list[str]
    train_period: tuple[date, date]
    selection_period: tuple[date, date]
    dataset: DatasetInfo
    provenance: Provenance
    macro_provenance: list[Provenance] = Field(default_factory=list)
    timings: Timings
    seed: int
    code_version: str
    model_path: str | None = None
    model_sha256: str | None = None
    survivorship: str | None = Field(
        default=None,
        exclude_if=_absent,
        description="how the universe's stocks were chosen, when that biases its results",
    )
    tries: int | None = Field(
        default=None,
        description="trials recorded on this dataset, all sessions and windows, this one included",
    )
    tries_same_window: int | None = Field(
        default=None, description="of those, trials on the same selection window"
    )
    p_value_adjusted: float | None = Field(
        default=None,
        description="baselines.p_value adjusted (Holm) over every try on this dataset, "
        "computed when shown",
    )
    notes: list[str] = Field(default_factory=list)
    # Last, and left out when absent: a trial recorded before there was a return test reads
    # and writes exactly as it was recorded.
    return_test: ReturnTest | None = Field(
        default=None, exclude_if=_absent, description="the headline verdict on the selection days"
    )
    return_p_value_adjusted: float | None = Field(
        default=None,
        exclude_if=_absent,
        description="return_test.p_value adjusted (Holm) over every try on this dataset, "
        "computed when shown",
    )


class HoldoutScore(_Result):
    """What one trial's configuration, refitted on everything before the holdout, scores on it."""

    accuracy: float = Field(description="the target's headline score on the holdout")
    metrics: TargetMetrics
    baselines: TargetBaselines
    backtest: Backtest
    period: tuple[date, date]
    train_period: tuple[date, date]
    return_test: ReturnTest | None = Field(
        default=None, exclude_if=_absent, description="the headline verdict on the holdout"
    )
    power: Power | None = Field(
        default=None,
        exclude_if=_absent,
        description="the smallest effects this holdout could detect (80% power, 5% level)",
    )


class SelectionStats(_Result):
    """How much of a selection number is luck, given how many tries it was picked from."""

    tries: int = Field(description="trials on the dataset, all sessions")
    p_value_adjusted: float = Field(
        description="the accuracy test's p-value (baselines.p_value), Holm over those tries"
    )
    noise_bar: float = Field(
        description="the score the best of `tries` skill-less forecasters reaches on average "
        "on those days, counting only non-overlapping ones (for direction: the accuracy of the "
        "best of that many coin flips)"
    )
    noise_bar_95: float = Field(description="95th percentile of that best-of-N score")
    sharpe: float = Field(description="annualised Sharpe of the trial's long/flat strategy")
    active_sharpe: float = Field(
        description="annualised Sharpe of long/flat minus buy-and-hold: the excess over "
        "buy-and-hold that psr, dsr and pbo are computed on (the strategy's own return has "
        "strategy_psr, strategy_dsr and strategy_pbo)"
    )
    psr: float | None = Field(
        default=None,
        description="probabilistic Sharpe ratio of the excess over buy-and-hold: P(its true "
        "Sharpe > 0)",
    )
    dsr: float | None = Field(
        default=None,
        description="deflated Sharpe ratio of the excess over buy-and-hold: P(its true Sharpe > "
        "the best of N unskilled tries)",
    )
    sharpe_trials: int = Field(description="trials whose Sharpe ratios set the deflation")
    pbo: float | None = Field(
        default=None,
        description="probability of backtest overfitting (CSCV) over the trials sharing the "
        "window, when 4 or more do, on the excess over buy-and-hold",
    )
    pbo_trials: int = 0
    # The headline's selection statistics, and PSR/DSR/PBO on the strategy's own return; left
    # out when absent, so statistics recorded before them read back as they were written.
    return_p_value_adjusted: float | None = Field(
        default=None,
        exclude_if=_absent,
        description="the return test's p-value, Holm over every try on the dataset (tries "
        "recorded before the return test count with p = 1)",
    )
    return_noise_bar: float | None = Field(
        default=None,
        exclude_if=_absent,
        description="the return test's t-statistic the best of `tries` skill-less tries reaches "
        "on average",
    )
    return_noise_bar_95: float | None = Field(
        default=None, exclude_if=_absent, description="95th percentile of that best-of-N t"
    )
    strategy_psr: float | None = Field(
        default=None,
        exclude_if=_absent,
        description="probabilistic Sharpe ratio of the strategy's own return after costs",
    )
    strategy_dsr: float | None = Field(
        default=None,
        exclude_if=_absent,
        description="deflated Sharpe ratio of the strategy's own return after costs",
    )
    strategy_pbo: float | None = Field(
        default=None,
        exclude_if=_absent,
        description="PBO over the window's trials on their own returns after costs",
    )


class AdjustedPValue(_Result):
    """One holdout p-value, raw and adjusted over the looks it was chosen among."""

    test: str = Field(description="which test: binomial, mcnemar, ...")
    raw: float = Field(description="the test's p-value on this look alone")
    adjusted: float = Field(
        description="Holm over the look's family (`FinalResult.family`): the number to report"
    )


class FinalResult(_Result):
    """`finalize`: one look at the locked holdout for one trial's configuration."""

    status: Literal["success"] = "success"
    type: Literal["finalized"] = "finalized"
    trial: int
    model_id: str
    model: str
    symbol: str
    data_label: str
    dataset: str
    config: TrialConfig
    selection_accuracy: float
    holdout: HoldoutScore
    selection_stats: SelectionStats
    look: int = Field(description="1 on the holdout's first look; from 2 on it is no longer fresh")
    untouched: bool = Field(description="True only on the first look at this holdout")
    survivorship: str | None = Field(default=None, exclude_if=_absent)
    again: bool = Field(
        default=False, description="a look past the first, asked for on purpose (`again`)"
    )
    family: int = Field(
        default=1,
        description="looks the holdout p-values are adjusted over, as of when shown: every "
        "look at this holdout (any session, any name for its bars) and every look this "
        "session made, this one included",
    )
    p_values: list[AdjustedPValue] = Field(
        default_factory=list,
        description="each holdout p-value raw and adjusted (Holm) over `family` looks; with "
        "more than one look the adjusted one is the number to report",
    )
    session: str | None = None
    notes: list[str] = Field(default_factory=list)

    @model_serializer(mode="wrap")
    def _as_recorded(self, dump: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A look recorded before looks were adjusted (no `p_values`) dumps as it was read."""
        data: dict[str, Any] = dump(self)
        if not self.p_values:
            for name in ("again", "family", "p_values"):
                data.pop(name, None)
        return data

    def reported_p(self, test: str, raw: float) -> float:
        """The p-value of `test` to report: adjusted over the look's family (a look recorded
        before looks were adjusted has none, and was then a family of one: `raw`)."""
        return next((p.adjusted for p in self.p_values if p.test == test), raw)


class ErrorResult(_Result):
    """A failure the caller can act on: `type` names what failed (training_failed,
    invalid_call, budget, ...), `error` says why and what is allowed, `error_type` names the
    exception behind it when there was one (left out of the JSON when there was none)."""

    status: Literal["error"] = "error"
    type: str = "training_failed"
    error: str
    error_type: str | None = None

    @classmethod
    def of(cls, error: Exception, kind: str = "training_failed") -> ErrorResult:
        """An expected exception as a result; a validation error reads one line per problem."""
        message = validation_message(error) if isinstance(error, ValidationError) else str(error)
        return cls(type=kind, error=message, error_type=type(error).__name__)

    @model_serializer(mode="wrap")
    def _without_missing_cause(self, dump: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = dump(self)
        if self.error_type is None:
            data.pop("error_type", None)
        return data
