"""`rank`: labels per stock and date, the record and what is recomputed from it, the naive
rankings and their test, the noise bar, and trials end to end: on the sp20 universe offline,
and on a universe of the caller's own bars with a planted signal the pooled model finds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mltrainer.engine.data.base import BarSet, make_provenance
from mltrainer.engine.data.panel import PanelSet
from mltrainer.engine.errors import ConfigError, InsufficientDataError
from mltrainer.engine.holdout import content_of
from mltrainer.engine.ledger import TrialPredictions
from mltrainer.engine.metrics import recorded_strategies
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import load_settings
from mltrainer.engine.stats import best_of_n_normal
from mltrainer.engine.targets import get_target
from mltrainer.engine.trial import RankingBaselines, RankingMetrics, TrialConfig

RANK = get_target("rank")
MEMBERS = ["AA", "BB", "CC", "DD", "EE", "FF", "GG", "HH", "II", "JJ"]


def test_labels_are_each_dates_returns_as_z_scores_with_the_raw_ones_beside():
    dates = pd.bdate_range("2020-01-01", periods=300)
    closes = pd.DataFrame(
        100 * np.exp(np.cumsum(np.random.default_rng(1).normal(0, 0.01, (300, 5)), axis=0)),
        index=dates,
        columns=MEMBERS[:5],
    )
    config = TrialConfig(target="rank", universe=MEMBERS[:5], horizon=2)

    labels = RANK.labels(closes, config)

    assert labels.index.names == ["date", "symbol"] and len(labels) == 1500
    day = labels.loc[dates[260]]
    forward = closes.shift(-3).iloc[260] / closes.shift(-1).iloc[260] - 1
    np.testing.assert_allclose(day["forward_return"], forward)
    np.testing.assert_allclose(day["target"], (forward - forward.mean()) / forward.std(ddof=0))
    momentum = closes.iloc[260 - 21] / closes.iloc[260 - 252] - 1
    np.testing.assert_allclose(day["momentum_12_1"], momentum)
    assert labels.loc[dates[-1], "target"].isna().all()


def recorded(days: int = 40, members: int = 10, horizon: int = 1) -> TrialPredictions:
    rng = np.random.default_rng(days + members)
    dates = [str(d.date()) for d in pd.bdate_range("2021-01-01", periods=days)]
    rows = days * members
    return TrialPredictions(
        dates=[d for d in dates for _ in range(members)],
        symbols=MEMBERS[:members] * days,
        y_true=rng.normal(0, 0.02, rows).tolist(),
        y_pred=rng.normal(0, 1, rows).tolist(),
        proba_up=None,
        next_return=rng.normal(0, 0.01, rows).tolist(),
        horizon=horizon,
    )


def test_the_noise_bar_is_the_best_of_n_skill_less_rank_ics():
    assert RANK.noise_bar(30, recorded(40, 10)) == best_of_n_normal(30, 1 / np.sqrt(40 * 9))
    assert RANK.noise_bar(30, recorded(40, 10, horizon=5).every(5)) == best_of_n_normal(
        30, 1 / np.sqrt(8 * 9)
    )


def test_every_fifth_date_of_a_ranking_keeps_all_its_stocks_and_each_dates_returns():
    predictions = recorded(40, 10, horizon=5).model_copy(
        update={"strategy_return": [float(d) for d in range(40)]}
    )

    picked = predictions.every(5)

    assert picked.traded_dates() == predictions.traded_dates()[::5]
    assert len(picked.y_pred) == 8 * 10
    assert picked.strategy_return == [0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0]


def test_the_portfolios_are_rebalanced_each_date_from_the_record():
    predictions = recorded(3, 10)

    series = recorded_strategies(RANK, predictions, cost_bps=0.0)
    positions = RANK.positions(predictions)

    assert set(series) == {"long_flat", "long_short", "buy_and_hold"}
    first_day = slice(0, 10)
    forecast = np.asarray(predictions.y_pred[first_day])
    top_two = np.argsort(-forecast)[:2]
    expected = np.mean(np.asarray(predictions.next_return[first_day])[top_two])
    assert series["long_flat"][1][0] == pytest.approx(expected)
    assert positions["long_flat"][first_day][top_two].tolist() == [0.5, 0.5]
    assert series["buy_and_hold"][0].tolist() == [1.0, 0.0, 0.0]


def test_the_metrics_summarise_the_dates_ics():
    predictions = recorded(40, 10)

    metrics = RANK.metrics(predictions)

    assert (metrics.dates, metrics.members, metrics.top_k) == (40, 10, 2)
    assert len(metrics.quantile_returns) == 5
    assert metrics.rank_icir == pytest.approx(metrics.rank_ic / metrics.rank_ic_std)


def test_two_rankings_are_compared_on_the_dates_both_scored():
    same = RANK.paired_test(recorded(40), recorded(40))

    assert (same.days, same.p_value) == (40, 1.0)


def test_a_rank_record_without_stocks_is_refused():
    plain = recorded(5).model_copy(update={"symbols": None})

    with pytest.raises(ValueError, match="a rank record has a symbol per row"):
        RANK.metrics(plain)


def planted_universe(days: int = 1200, strength: float = 0.25, seed: int = 0) -> dict[str, BarSet]:
    """Ten random walks whose next day's return loads on their own last 5-day return: a
    cross-sectional signal the default features (roc_5) carry."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(0, 0.01, (days, len(MEMBERS)))
    returns = np.zeros_like(noise)
    for t in range(days):
        recent = returns[max(t - 5, 0) : t].sum(axis=0)
        returns[t] = noise[t] + strength * 0.2 * (recent - recent.mean())
    closes = 50 * np.exp(np.cumsum(returns, axis=0))
    dates = pd.bdate_range("2010-01-01", periods=days, name="date")
    bars = {}
    for k, symbol in enumerate(MEMBERS):
        frame = pd.DataFrame({"close": closes[:, k]}, index=dates)
        bars[symbol] = BarSet(
            frame, make_provenance(frame, source="caller", kind="real", symbol=symbol)
        )
    return bars


def test_a_pooled_model_finds_a_planted_cross_sectional_signal():
    service = ResearchService(load_settings(), session="planted", data=planted_universe())
    config = TrialConfig(target="rank", universe=MEMBERS, model="ridge", save_model=False)

    result = service.train(config).result

    assert isinstance(result.selection, RankingMetrics)
    assert isinstance(result.baselines, RankingBaselines)
    assert result.selection.rank_ic > 0.1
    assert result.selection.rank_ic_p_value < 0.001
    assert result.selection.quantile_returns[4] > result.selection.quantile_returns[0]
    assert result.backtest.long_short.sharpe > 1.0
    assert result.data_label == "CALLER DATA" and result.survivorship is None
    assert result.dataset.key.startswith("caller:LIST") and result.dataset.key.endswith(":panel")


def test_the_universes_holdout_covers_the_same_final_dates_for_every_member():
    service = ResearchService(load_settings(), session="holdout", data=planted_universe())
    config = TrialConfig(target="rank", universe=MEMBERS, model="ridge", save_model=False)

    result = service.train(config).result
    final = service.finalize(result.trial)

    holdout = result.dataset.holdout
    # 1,200 dates: the last 250 (at least 250, more than a fifth) are locked for all ten.
    assert (str(holdout.start), str(holdout.end), holdout.rows) == ("2013-08-23", "2014-08-07", 250)
    assert final.holdout.period[1] <= holdout.end and final.holdout.period[0] >= holdout.start
    assert isinstance(final.holdout.metrics, RankingMetrics)
    assert final.holdout.metrics.members == 10
    assert final.holdout.accuracy == final.holdout.metrics.rank_ic
    assert final.holdout.return_test is not None
    assert final.holdout.power is not None and final.holdout.power.accuracy_points is None


def test_a_sequence_model_cannot_pool_a_universe():
    service = ResearchService(load_settings(), data=planted_universe(days=700))

    with pytest.raises(ConfigError, match="lstm reads one symbol's bars in sequence"):
        service.train(TrialConfig(target="rank", universe=MEMBERS, model="lstm"))


def test_a_universe_too_short_to_rank_is_refused():
    service = ResearchService(load_settings(), data=planted_universe(days=520))

    with pytest.raises(InsufficientDataError, match=r"usable dates for LIST.* ranking needs"):
        service.train(TrialConfig(target="rank", universe=MEMBERS, model="ridge"))


@pytest.mark.slow
def test_a_rank_trial_on_sp20_offline():
    service = ResearchService(load_settings(), session="sp20")
    config = TrialConfig(target="rank", universe="sp20", model="ridge", days=3000)

    result = service.train(config).result

    assert result.symbol == "SP20" and result.dataset.key == "sp20:SP20:panel"
    assert result.selection.members == 20 and result.selection.top_k == 4
    assert set(result.baselines.rules) == {"momentum_12_1", "reversal_1m"}
    assert len(result.features) == 60
    assert result.survivorship is not None and "hindsight" in result.survivorship
    assert any(note.startswith("survivorship: sp20's members") for note in result.notes)


def test_a_planted_ranking_leads_with_the_top_fifth_against_the_best_portfolio_without_a_model():
    service = ResearchService(
        load_settings(), session="verdict", data=planted_universe(strength=1.0)
    )
    config = TrialConfig(target="rank", universe=MEMBERS, model="ridge", save_model=False)

    result = service.train(config).result

    test = result.return_test
    assert test is not None
    assert test.strategy == "long_flat"
    assert test.baseline in {"buy_and_hold", "cash", "momentum_12_1", "reversal_1m"}
    assert test.days == result.selection.dates
    assert test.p_value < 0.01


def test_the_same_stocks_listed_in_another_order_are_the_same_locked_universe():
    world = planted_universe()
    service = ResearchService(load_settings(), session="order", data=world)
    config = {"target": "rank", "model": "ridge", "save_model": False}

    one = service.train(TrialConfig(**config, universe=MEMBERS)).result
    two = service.train(TrialConfig(**config, universe=MEMBERS[::-1])).result

    assert two.dataset.key == one.dataset.key
    assert two.dataset.holdout == one.dataset.holdout


def test_a_universes_content_is_its_members_closes_in_alphabetical_order():
    world = planted_universe(days=300)
    closes = pd.DataFrame({symbol: bars.frame["close"] for symbol, bars in world.items()})
    provenance = make_provenance(closes, source="caller", kind="real", symbol="LIST")

    listed = content_of(PanelSet(closes, provenance))
    reversed_ = content_of(PanelSet(closes[closes.columns[::-1]], provenance))
    one_member = content_of(world[MEMBERS[0]])

    assert listed.month_keys() == reversed_.month_keys()
    assert listed.series == 10 and one_member.series == 1
    assert listed.agreement(one_member).shared == 0


def test_the_report_shows_a_rankings_ic_per_date_and_its_returns_by_fifth():
    service = ResearchService(load_settings(), session="charts", data=planted_universe())
    config = TrialConfig(target="rank", universe=MEMBERS, model="ridge", save_model=False)
    result = service.train(config).result
    assert result.trial is not None

    charts = service.forecast_charts(result.trial)

    assert charts.metric == "Rank IC per date"
    assert len(charts.dates) == len(charts.ic) == result.selection.dates
    assert charts.mean_ic == pytest.approx(result.selection.rank_ic)
    assert charts.quantile_returns == pytest.approx(result.selection.quantile_returns)
    with pytest.raises(ConfigError, match="its forecasts are numbers, not calls"):
        service.confusion_matrix(result.trial)
