"""`rank`: on each date, order the stocks of a universe by the `horizon`-bar return a position
taken at that close earns (under the execution), with one model pooled over every stock and
date. The model learns each date's returns as z-scores across its stocks (what matters is the
order, not the market's level), from per-stock features normalised the same way.

Led, as every target, by the verdict: the top fifth long after costs under the execution
against the best portfolio that needs no model (the universe equally weighted, cash, the top
fifth by 12-1 month momentum or by 1-month reversal), with a Newey-West t over dates.

Scored per date, then summarised (Qlib's measures): IC and Rank IC (the Pearson and Spearman
correlation of forecast and realised return across the date's stocks), their information
ratios, and the portfolios the ranking trades, rebalanced every date with costs on every change
of weight: the top fifth long, the top fifth minus the bottom fifth, against the universe
equally weighted. The naive rankings it must beat: 12-1 month momentum and 1-month reversal.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mltrainer.engine.ledger import TrialPredictions
from mltrainer.engine.metrics import strategy_stats
from mltrainer.engine.newey_west import known_mean_test
from mltrainer.engine.panel.portfolio import (
    Grid,
    equal_weights,
    ic_by_date,
    portfolio_returns,
    quantile_returns,
    sides,
    top_k,
)
from mltrainer.engine.stats import best_of_n_normal
from mltrainer.engine.targets.base import (
    LABEL,
    Forecast,
    Headline,
    PairedTest,
    ResearchTarget,
    SegmentScore,
)
from mltrainer.engine.targets.regression import regressor_forecast
from mltrainer.engine.trial import (
    Backtest,
    Execution,
    RankingBaselines,
    RankingMetrics,
    RankRule,
    TrialConfig,
)
from mltrainer.engine.verdict import judge

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

    from mltrainer.engine.design import Design

MONTH = 21
YEAR = 252
RULES = ("momentum_12_1", "reversal_1m")


def _by_date(values: pd.DataFrame) -> pd.DataFrame:
    """Each date's values as z-scores across its stocks (NaN where a value is missing)."""
    mean = values.mean(axis=1)
    std = values.std(axis=1, ddof=0)
    return values.sub(mean, axis=0).div(std.where(std > 0), axis=0)


def _mean(values: np.ndarray) -> float:
    known = values[np.isfinite(values)]
    return float(known.mean()) if known.size else 0.0


def _ratio(values: np.ndarray) -> float | None:
    known = values[np.isfinite(values)]
    if known.size < 2 or float(known.std(ddof=1)) == 0.0:
        return None
    return float(known.mean() / known.std(ddof=1))


class Rank(ResearchTarget):
    estimator_type = "regressor"
    headline = Headline(
        metric="Rank IC",
        description="mean over dates of the rank correlation of forecast and realised return "
        "across the universe's stocks",
        percent=False,
        strategies=("top fifth long", "top minus bottom fifth", "equal weight"),
        test="Newey-West on the Rank IC over the best rule",
    )

    def labels(self, bars: pd.DataFrame, config: TrialConfig) -> pd.DataFrame:
        """Per stock and date (rows date by date, stocks in the panel's order): `target`, the
        `horizon`-bar return under the execution as a z-score across the date's stocks;
        `forward_return`, that return itself; `next_return`, the bar a position decided at
        this close earns; and the naive rankings' scores, known at this close."""
        close = bars.astype(float)
        entry = close if config.execution == "close" else close.shift(-1)
        forward = entry.shift(-config.horizon) / entry - 1.0
        columns = {
            LABEL: _by_date(forward),
            "forward_return": forward,
            "next_return": entry.shift(-1) / entry - 1.0,
            "momentum_12_1": close.shift(MONTH) / close.shift(YEAR) - 1.0,
            "reversal_1m": -(close / close.shift(MONTH) - 1.0),
        }
        index = pd.MultiIndex.from_product([close.index, close.columns], names=["date", "symbol"])
        return pd.DataFrame(
            {name: frame.to_numpy().ravel() for name, frame in columns.items()}, index=index
        )

    def forecast(self, pipeline: Pipeline, X: np.ndarray) -> Forecast:
        return regressor_forecast(pipeline, X)

    def fit_score(self, pipeline: Pipeline, design: Design, rows: np.ndarray) -> float:
        """The mean Rank IC over the dates of `rows`, against their z-scored returns."""
        assert design.symbols is not None
        grid = Grid.of(design.day[rows].astype(str), design.symbols[rows])
        forecast = grid.matrix(np.asarray(pipeline.predict(design.X[rows]), dtype=float))
        return _mean(ic_by_date(forecast, grid.matrix(design.y[rows]))[1])

    def score(
        self,
        forecast: Forecast,
        design: Design,
        fit_rows: np.ndarray,
        scored_rows: np.ndarray,
        config: TrialConfig,
    ) -> SegmentScore:
        """Per-date ICs and portfolios from the record, the naive rankings on the same dates,
        and the test of the model's Rank IC against the best of them."""
        assert design.symbols is not None
        dates = [d.date().isoformat() for d in design.dates[scored_rows]]
        symbols = [str(s) for s in design.symbols[scored_rows]]
        grid = Grid.of(dates, symbols)
        next_returns = design.labels["next_return"][scored_rows]
        forecast_matrix = grid.matrix(forecast.values)
        next_matrix = grid.matrix(next_returns)
        series = self._series(forecast_matrix, next_matrix, config.cost_bps)
        predictions = TrialPredictions(
            dates=dates,
            y_true=design.labels["forward_return"][scored_rows].tolist(),
            y_pred=forecast.values.tolist(),
            proba_up=None,
            next_return=next_returns.tolist(),
            strategy_return=series["long_flat"][1].tolist(),
            buy_hold_return=series["buy_and_hold"][1].tolist(),
            symbols=symbols,
            horizon=config.horizon,
        )
        metrics = self.metrics(predictions)
        realised = grid.matrix(predictions.y_true)
        model_rank_ic = ic_by_date(forecast_matrix, realised)[1]
        rules: dict[str, RankRule] = {}
        rank_ics: dict[str, np.ndarray] = {}
        # The portfolios that need no model: the universe equally weighted, cash, and the top
        # fifth by each naive ranking.
        rule_strategies = {
            "buy_and_hold": series["buy_and_hold"][1],
            "cash": np.zeros(len(grid.dates)),
        }
        for name in RULES:
            scores = grid.matrix(design.labels[name][scored_rows])
            ic, rank_ic = ic_by_date(scores, realised)
            rank_ics[name] = rank_ic
            portfolios = self._series(scores, next_matrix, config.cost_bps)
            rule_strategies[name] = portfolios["long_flat"][1]
            traded = portfolios["long_short"][1]
            rules[name] = RankRule(
                ic=_mean(ic),
                rank_ic=_mean(rank_ic),
                long_short_sharpe=strategy_stats(traded, None).sharpe,
            )
        best = max(rules, key=lambda name: rules[name].rank_ic)
        advantage = model_rank_ic - rank_ics[best]
        baselines = RankingBaselines(
            rules=rules,
            best_name=best,
            best_score=rules[best].rank_ic,
            p_value=known_mean_test(advantage, config.horizon).p_value,
            tested_days=int(np.isfinite(advantage).sum()),
        )
        return SegmentScore(
            headline=metrics.rank_ic,
            metrics=metrics,
            baselines=baselines,
            backtest=self._backtest(series, config.cost_bps, config.execution),
            predictions=predictions,
            verdict=judge("long_flat", series["long_flat"][1], rule_strategies, baselines, config),
        )

    @staticmethod
    def _series(
        scores: np.ndarray, next_returns: np.ndarray, cost_bps: float
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Turnover and return after costs per date of the top fifth long, the top fifth minus
        the bottom fifth, and the equally weighted universe."""
        long, short = sides(scores, top_k(scores.shape[1]))
        equal = equal_weights(~np.isnan(next_returns))
        return {
            "long_flat": portfolio_returns(long, next_returns, cost_bps),
            "long_short": portfolio_returns(long - short, next_returns, cost_bps),
            "buy_and_hold": portfolio_returns(equal, next_returns, cost_bps),
        }

    @staticmethod
    def _backtest(
        series: dict[str, tuple[np.ndarray, np.ndarray]], cost_bps: float, execution: Execution
    ) -> Backtest:
        """Each portfolio's statistics; turnover is the mean weight traded per date after the
        first (as a single asset's leaves out its first entry)."""
        stats = {
            name: strategy_stats(returns, None).model_copy(
                update={"turnover": float(turnover[1:].sum() / turnover.size)}
            )
            for name, (turnover, returns) in series.items()
        }
        active = series["long_flat"][1] - series["buy_and_hold"][1]
        return Backtest(
            cost_bps=cost_bps,
            execution=execution,
            active_sharpe=strategy_stats(active, None).sharpe,
            **stats,
        )

    def _grid(self, predictions: TrialPredictions) -> Grid:
        if predictions.symbols is None:
            raise ValueError("a rank record has a symbol per row; this one has none")
        return Grid.of(predictions.dates, predictions.symbols)

    def positions(self, predictions: TrialPredictions) -> dict[str, np.ndarray]:
        """Each strategy's weight in each recorded row's stock on its date."""
        grid = self._grid(predictions)
        scores = grid.matrix(predictions.y_pred)
        long, short = sides(scores, top_k(scores.shape[1]))
        equal = equal_weights(~np.isnan(grid.matrix(predictions.next_return)))
        return {
            name: weights[grid.day, grid.member]
            for name, weights in (
                ("long_flat", long),
                ("long_short", long - short),
                ("buy_and_hold", equal),
            )
        }

    def _traded(
        self, predictions: TrialPredictions, cost_bps: float
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        grid = self._grid(predictions)
        return self._series(
            grid.matrix(predictions.y_pred), grid.matrix(predictions.next_return), cost_bps
        )

    def daily_returns(
        self, predictions: TrialPredictions, cost_bps: float
    ) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
        """The portfolios' turnover and return after costs per date, from the record."""
        return self._traded(predictions, cost_bps)

    def backtest(
        self, predictions: TrialPredictions, cost_bps: float, execution: Execution
    ) -> Backtest | None:
        return self._backtest(self._traded(predictions, cost_bps), cost_bps, execution)

    def metrics(self, predictions: TrialPredictions) -> RankingMetrics:
        grid = self._grid(predictions)
        forecast = grid.matrix(predictions.y_pred)
        ic, rank_ic = ic_by_date(forecast, grid.matrix(predictions.y_true))
        test = known_mean_test(rank_ic, predictions.horizon or 1)
        known_ic, known_rank = ic[np.isfinite(ic)], rank_ic[np.isfinite(rank_ic)]
        return RankingMetrics(
            ic=_mean(ic),
            ic_std=float(known_ic.std(ddof=1)) if known_ic.size > 1 else 0.0,
            icir=_ratio(ic),
            rank_ic=_mean(rank_ic),
            rank_ic_std=float(known_rank.std(ddof=1)) if known_rank.size > 1 else 0.0,
            rank_icir=_ratio(rank_ic),
            rank_ic_t=test.t_stat,
            rank_ic_p_value=test.p_value,
            positive_share=float(np.mean(known_rank > 0)) if known_rank.size else 0.0,
            dates=len(grid.dates),
            members=len(grid.members),
            top_k=top_k(len(grid.members)),
            quantile_returns=quantile_returns(forecast, grid.matrix(predictions.next_return)),
        )

    def noise_bar(self, tries: int, predictions: TrialPredictions) -> tuple[float, float]:
        """The mean Rank IC the best of `tries` skill-less rankings reaches: a date's Rank IC
        over n stocks has standard deviation about 1/sqrt(n - 1), and the mean over the D
        non-overlapping dates given 1/sqrt(D (n - 1))."""
        grid = self._grid(predictions)
        independent = max(len(grid.dates), 1)
        members = max(len(grid.members) - 1, 1)
        return best_of_n_normal(tries, 1.0 / math.sqrt(independent * members))

    def paired_test(self, first: TrialPredictions, second: TrialPredictions) -> PairedTest:
        """Do two rankings' Rank ICs differ on the dates both scored? (Newey-West errors,
        lags = horizon.)"""
        by_date = []
        for predictions in (first, second):
            grid = self._grid(predictions)
            rank_ic = ic_by_date(grid.matrix(predictions.y_pred), grid.matrix(predictions.y_true))[
                1
            ]
            by_date.append(dict(zip(grid.dates, rank_ic, strict=True)))
        shared = [d for d in by_date[0] if d in by_date[1]]
        if not shared:
            return PairedTest(days=0, p_value=None)
        differences = [by_date[0][d] - by_date[1][d] for d in shared]
        lags = max(first.horizon or 1, second.horizon or 1)
        return PairedTest(
            days=len(shared), p_value=known_mean_test(differences, lags).two_sided_p_value
        )
