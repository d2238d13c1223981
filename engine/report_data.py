"""What the report figures and the UI's tables show, computed from the ledger: equity and
drawdown of each strategy against buy-and-hold, a session's accuracies against their baselines
and the best-of-N noise band, confusion matrices, and the ledger as one table with holdout
numbers and adjusted p-values. Plain data; drawing it is the surfaces' job.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field

from mltrainer.engine.errors import ConfigError
from mltrainer.engine.ledger import Ledger, LedgerRow, Look, TrialPredictions
from mltrainer.engine.looks import adjusted_over
from mltrainer.engine.metrics import recorded_strategies
from mltrainer.engine.panel.portfolio import Grid, ic_by_date, quantile_returns
from mltrainer.engine.selection import adjusted_p_values, adjusted_return_p_values
from mltrainer.engine.targets import get_target, recorded_target
from mltrainer.engine.trial import FinalResult

STRATEGY_LABELS = {
    "long_flat": "long/flat",
    "long_short": "long/short",
    "buy_and_hold": "buy-and-hold",
    "sized": "sized by the forecast",
}


def strategy_labels(target: str) -> dict[str, str]:
    """What each strategy holds, in the target's words (for rank: the top fifth long, the top
    minus the bottom fifth, the universe equally weighted)."""
    names = get_target(target).headline.strategies
    held = dict(zip(("long_flat", "long_short", "buy_and_hold"), names, strict=True))
    return {**STRATEGY_LABELS, **held}


class Curve(BaseModel):
    """One strategy's growth of 1.0 over the selection days, after costs."""

    strategy: str = Field(description="long_flat, long_short or buy_and_hold")
    label: str
    equity: list[float] = Field(description="value after each day's return, starting from 1.0")
    drawdown: list[float] = Field(description="equity over its running peak, minus 1 (<= 0)")
    total_return: float


class EquityCurves(BaseModel):
    trial: int
    model: str
    symbol: str
    data_label: str
    dates: list[str]
    cost_bps: float
    execution: str
    curves: list[Curve]

    def curve(self, strategy: str) -> Curve:
        return next(c for c in self.curves if c.strategy == strategy)


class ForecastCharts(BaseModel):
    """How a return forecast or a ranking did over its scored dates: its IC over time (for a
    ranking, each date's Rank IC across the stocks; for one series, the correlation over a
    trailing quarter), and the realised return of each fifth of the forecast."""

    trial: int
    model: str
    symbol: str
    metric: str = Field(description="what `ic` is: Rank IC per date, or IC over 63 days")
    dates: list[str]
    ic: list[float | None] = Field(description="the IC on each date (None where undefined)")
    ic_trend: list[float | None] = Field(description="its mean over the last 63 dates")
    mean_ic: float
    quantile_returns: list[float] = Field(
        description="annualised mean next-bar return in each fifth of the forecast, lowest first"
    )
    survivorship: str | None = None


class ConfusionMatrix(BaseModel):
    """Rows: what happened (down, up); columns: what the model called."""

    trial: int
    labels: tuple[str, str] = ("down", "up")
    counts: list[list[int]]
    accuracy: float


class AccuracyPoint(BaseModel):
    """One trial of a session next to its best baseline and what luck reaches."""

    trial: int
    model: str
    symbol: str
    selection_accuracy: float
    baseline_name: str
    baseline_accuracy: float
    days: int
    tries: int = Field(description="tries on the trial's dataset up to and including it")
    noise_bar: float = Field(description="expected best-of-`tries` coin-flip accuracy")
    noise_bar_95: float


class SessionAccuracy(BaseModel):
    session: str | None
    points: list[AccuracyPoint]


class TrialRow(LedgerRow):
    """A ledger row with its selection statistics and holdout looks as of now."""

    p_value_adjusted: float | None = Field(
        description="Holm over every try on the trial's dataset, whichever session made it"
    )
    tries: int | None = Field(description="tries on the trial's dataset so far")
    return_p_value_adjusted: float | None = Field(
        default=None, description="the return test's p-value, Holm over the same tries"
    )
    holdout_looks: int = Field(default=0, description="times this trial was finalized")
    holdout_look: int | None = Field(
        default=None,
        description="the latest of them, numbered among every look at its dataset's holdout",
    )
    holdout_accuracy: float | None = Field(default=None, description="at that look")
    holdout_excess_sharpe: float | None = Field(
        default=None, description="at that look: the return test's excess Sharpe after costs"
    )
    holdout_return_p_value: float | None = Field(
        default=None, description="at that look: the return test's one-sided p-value"
    )


class LedgerEntry(BaseModel):
    """One row of the Trials table: configuration, data label, selection and holdout numbers."""

    trial: int
    session: str | None
    created_at: str
    target: str = Field(default="direction", description="what the trial predicts")
    symbol: str
    model: str
    data: str = Field(description="REAL, SYNTHETIC or CALLER")
    dataset: str | None
    config: str = Field(description="the resolved configuration, compact")
    selection_accuracy: float
    baseline_accuracy: float
    baseline_name: str
    p_value: float
    p_value_adjusted: float | None
    tries: int | None
    sharpe: float
    buy_hold_sharpe: float
    total_return: float | None
    holdout_accuracy: float | None = None
    holdout_p_value: float | None = None
    holdout_p_value_adjusted: float | None = Field(
        default=None,
        description="the holdout p-value adjusted (Holm) over its look's family as of now",
    )
    holdout_looks: int = 0
    excess_sharpe: float | None = Field(
        default=None, description="the return test's excess Sharpe over the best baseline"
    )
    return_p_value: float | None = None
    return_p_value_adjusted: float | None = None
    holdout_excess_sharpe: float | None = None
    holdout_return_p_value: float | None = None
    holdout_return_p_value_adjusted: float | None = Field(
        default=None,
        description="the holdout return test's p-value adjusted (Holm) over its look's family",
    )


def _recorded(ledger: Ledger, trial: int) -> tuple[dict[str, Any], TrialPredictions]:
    result = ledger.result(trial)
    predictions = ledger.predictions(trial)
    if result is None or predictions is None:
        raise ConfigError(f"no recorded trial '{trial}'; list them with `mltrainer trials list`")
    return result, predictions


def equity_curves(ledger: Ledger, trial: int) -> EquityCurves:
    """Each strategy (long/flat, long/short and buy-and-hold; for rank its portfolios) over
    the trial's selection days, from its stored forecasts and next-day returns at its own cost,
    so the last value of each curve is 1 plus the total return the trial reported."""
    result, predictions = _recorded(ledger, trial)
    cost = float(result["config"]["cost_bps"])
    name = recorded_target(result["config"])
    series = recorded_strategies(get_target(name), predictions, cost)
    labels = strategy_labels(name)
    curves = []
    for strategy, (_, returns) in series.items():
        equity = np.cumprod(1.0 + returns)
        peaks = np.maximum.accumulate(np.concatenate([[1.0], equity]))[1:]
        curves.append(
            Curve(
                strategy=strategy,
                label=labels[strategy],
                equity=equity.tolist(),
                drawdown=(equity / peaks - 1.0).tolist(),
                total_return=float(equity[-1] - 1.0),
            )
        )
    return EquityCurves(
        trial=trial,
        model=result["model"],
        symbol=result["symbol"],
        data_label=result.get("data_label", ""),
        dates=predictions.traded_dates(),
        cost_bps=cost,
        execution=result["backtest"].get("execution", "next_bar"),
        curves=curves,
    )


TREND_DATES = 63


def _trend(values: np.ndarray) -> list[float | None]:
    """The mean of the last `TREND_DATES` known values at each date (None before any)."""
    series = pd.Series(values).rolling(TREND_DATES, min_periods=1).mean()
    return [None if pd.isna(v) else float(v) for v in series]


def _known(values: np.ndarray) -> list[float | None]:
    return [None if not np.isfinite(v) else float(v) for v in values]


def forecast_charts(ledger: Ledger, trial: int) -> ForecastCharts:
    """The IC over time and the returns by fifth of the forecast of a `return` or `rank`
    trial's selection segment, from its record."""
    result, predictions = _recorded(ledger, trial)
    target = recorded_target(result["config"])
    if get_target(target).estimator_type != "regressor":
        raise ConfigError(
            f"trial {trial} predicts {target}: its forecasts are calls, not numbers, so they "
            "have no IC (see its confusion matrix)"
        )
    forecast = np.asarray(predictions.y_pred, dtype=float)
    realised = np.asarray(predictions.y_true, dtype=float)
    following = np.asarray(predictions.next_return, dtype=float)
    if predictions.symbols is not None:
        grid = Grid.of(predictions.dates, predictions.symbols)
        ic = ic_by_date(grid.matrix(forecast), grid.matrix(realised))[1]
        dates, metric = grid.dates, "Rank IC per date"
        quantiles = quantile_returns(grid.matrix(forecast), grid.matrix(following))
    else:
        frame = pd.DataFrame({"f": forecast, "r": realised})
        ic = frame["f"].rolling(TREND_DATES).corr(frame["r"]).to_numpy()
        dates, metric = predictions.dates, f"IC over {TREND_DATES} days"
        quantiles = quantile_returns(forecast[None, :], following[None, :])
    return ForecastCharts(
        trial=trial,
        model=result["model"],
        symbol=result["symbol"],
        metric=metric,
        dates=dates,
        ic=_known(ic),
        ic_trend=_trend(ic) if predictions.symbols is not None else _known(ic),
        mean_ic=float(result.get("selection_accuracy", 0.0)),
        quantile_returns=quantiles,
        survivorship=result.get("survivorship"),
    )


def confusion_matrix(ledger: Ledger, trial: int) -> ConfusionMatrix:
    result, predictions = _recorded(ledger, trial)
    target = recorded_target(result["config"])
    if get_target(target).estimator_type != "classifier":
        raise ConfigError(
            f"trial {trial} predicts {target}: its forecasts are numbers, not calls, so there "
            "is no confusion matrix (see its IC over time)"
        )
    y_true = np.asarray(predictions.y_true)
    y_pred = np.asarray(predictions.y_pred)
    counts = [[int(np.sum((y_true == a) & (y_pred == c))) for c in (0, 1)] for a in (0, 1)]
    return ConfusionMatrix(
        trial=trial, counts=counts, accuracy=float(np.mean(y_true == y_pred)) if y_true.size else 0
    )


def session_accuracy(
    ledger: Ledger, trials: list[int], session: str | None = None
) -> SessionAccuracy:
    """Each trial's selection accuracy, its best baseline, and the best-of-N noise band with N
    the tries on its dataset so far: how high the best of that many coin flips reaches on the
    same number of non-overlapping days."""
    points = []
    tries_by_dataset: dict[str, list[int]] = {}
    for trial in sorted(trials):
        result, predictions = _recorded(ledger, trial)
        dataset = result.get("dataset", {}).get("key")
        if dataset is not None and dataset not in tries_by_dataset:
            tries_by_dataset[dataset] = [t.trial for t in ledger.tries(dataset)]
        tries = sum(1 for t in tries_by_dataset.get(dataset or "", [trial]) if t <= trial)
        target = get_target(recorded_target(result["config"]))
        horizon = int(result["config"].get("horizon", 1))
        noise, noise_95 = target.noise_bar(max(tries, 1), predictions.every(horizon))
        baselines = result["baselines"]
        points.append(
            AccuracyPoint(
                trial=trial,
                model=result["model"],
                symbol=result["symbol"],
                selection_accuracy=float(
                    result.get("selection_accuracy", result.get("test_accuracy", 0.0))
                ),
                baseline_name=baselines["best_name"],
                baseline_accuracy=baselines["best_accuracy"],
                days=len(predictions.dates),
                tries=max(tries, 1),
                noise_bar=noise,
                noise_bar_95=noise_95,
            )
        )
    return SessionAccuracy(session=session, points=points)


def data_short_label(result: dict[str, Any]) -> str:
    label = str(result.get("data_label") or "")
    if result.get("synthetic") or label == "SYNTHETIC DATA":
        return "SYNTHETIC"
    return "CALLER" if label == "CALLER DATA" else "REAL"


def config_text(config: dict[str, Any]) -> str:
    """The resolved configuration in one line: what a person needs to tell trials apart."""

    def shown(value: Any) -> str:
        return ",".join(map(str, value)) if isinstance(value, list) else str(value)

    always = ("train_ratio", "lookback", "horizon", "cost_bps", "execution")
    when_set = ("days", "start", "end", "features", "macro")
    parts = [f"{n}={shown(config[n])}" for n in always if n in config]
    parts += [f"{n}={shown(config[n])}" for n in when_set if config.get(n)]
    parts += [f"{k}={shown(v)}" for k, v in (config.get("params") or {}).items()]
    return ", ".join(parts)


def trial_rows(
    ledger: Ledger, *, limit: int | None = 50, symbol: str | None = None
) -> list[TrialRow]:
    """Recorded trials, newest first, each with its p-values (the return test's and the
    accuracy test's) adjusted (Holm) over every try on its dataset as of now, and the number of
    those tries."""
    rows = ledger.rows(limit=limit, symbol=symbol)
    adjusted: dict[str, dict[int, float]] = {}
    adjusted_returns: dict[str, dict[int, float]] = {}
    for dataset in {r.dataset for r in rows if r.dataset}:
        tries = ledger.tries(dataset)
        adjusted[dataset] = adjusted_p_values(tries)
        adjusted_returns[dataset] = adjusted_return_p_values(tries)
    looks: dict[int, list[Look]] = {}
    for look in ledger.looks():
        looks.setdefault(look.trial, []).append(look)
    return [
        TrialRow(
            **row.model_dump(),
            p_value_adjusted=adjusted.get(row.dataset or "", {}).get(row.trial),
            tries=len(adjusted.get(row.dataset or "", {})) or None,
            return_p_value_adjusted=(
                None
                if row.return_p_value is None
                else adjusted_returns.get(row.dataset or "", {}).get(row.trial)
            ),
            **_latest_look(looks.get(row.trial, [])),
        )
        for row in rows
    ]


def _latest_look(looks: list[Look]) -> dict[str, Any]:
    if not looks:
        return {}
    latest = looks[-1]
    holdout = latest.result.get("holdout", {})
    verdict = holdout.get("return_test") or {}
    return {
        "holdout_looks": len(looks),
        "holdout_look": latest.number,
        "holdout_accuracy": holdout.get("accuracy"),
        "holdout_excess_sharpe": verdict.get("excess_sharpe"),
        "holdout_return_p_value": verdict.get("p_value"),
    }


def ledger_table(ledger: Ledger, *, limit: int | None = None) -> list[LedgerEntry]:
    """Every recorded trial, newest first, with its Holm-adjusted p-value over every try on its
    dataset as of now and its holdout score when it was finalized."""
    looks_by_trial: dict[int, list[Look]] = {}
    for look in ledger.looks():
        looks_by_trial.setdefault(look.trial, []).append(look)
    entries = []
    for row in trial_rows(ledger, limit=limit):
        result = ledger.result(row.trial) or {}
        looks = looks_by_trial.get(row.trial, [])
        holdout = looks[-1].result.get("holdout", {}) if looks else {}
        adjusted = return_adjusted = None
        if looks:
            shown = adjusted_over(
                FinalResult.model_validate(looks[-1].result), looks[-1], ledger.family_of(looks[-1])
            )
            adjusted = shown.reported_p("binomial", shown.holdout.baselines.p_value)
            test = shown.holdout.return_test
            return_adjusted = None if test is None else shown.reported_p("return", test.p_value)
        long_flat = result.get("backtest", {}).get("long_flat", {})
        baselines = result.get("baselines", {})
        entries.append(
            LedgerEntry(
                trial=row.trial,
                session=row.session,
                created_at=row.created_at,
                target=recorded_target(result.get("config", {})),
                symbol=row.symbol,
                model=row.model,
                data=data_short_label(result),
                dataset=row.dataset,
                config=config_text(result.get("config", {})),
                selection_accuracy=row.selection_accuracy,
                baseline_accuracy=row.best_baseline,
                baseline_name=str(baselines.get("best_name", "")),
                p_value=row.p_value,
                p_value_adjusted=row.p_value_adjusted,
                tries=row.tries,
                sharpe=row.sharpe,
                buy_hold_sharpe=row.buy_hold_sharpe,
                total_return=long_flat.get("total_return"),
                holdout_accuracy=holdout.get("accuracy"),
                holdout_p_value=holdout.get("baselines", {}).get("p_value"),
                holdout_p_value_adjusted=adjusted,
                holdout_looks=len(looks),
                excess_sharpe=row.excess_sharpe,
                return_p_value=row.return_p_value,
                return_p_value_adjusted=row.return_p_value_adjusted,
                holdout_excess_sharpe=(holdout.get("return_test") or {}).get("excess_sharpe"),
                holdout_return_p_value=(holdout.get("return_test") or {}).get("p_value"),
                holdout_return_p_value_adjusted=return_adjusted,
            )
        )
    return entries
