"""Reading one reply into a frozen `ParsedReply`: numbers in words, percentages and ratios, dates
and days, negation, things that are recognised but not available, features and macro series."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mltrainer.agent.bridge.reading.values as reading_values
from mltrainer.agent.bridge.reading import numbers_as_digits, read_reply
from mltrainer.agent.bridge.reply import NotDone, ParsedReply


def test_a_parsed_reply_is_frozen():
    reply = read_reply("RF on SPX")

    with pytest.raises(dataclasses.FrozenInstanceError):
        reply.symbol = "IXIC"  # type: ignore[misc]
    with pytest.raises(TypeError):
        reply.parameters["lookback"] = 5  # type: ignore[index]


def test_a_parsed_reply_survives_its_dict_form():
    reply = read_reply(
        "LSTM on SPX since 2010 until 2015-06-30, only rsi and momentum, add VIXCLS as a macro "
        "feature, drop UNRATE, 70/30 split, train a transformer, do not use IXIC"
    )

    assert ParsedReply.from_dict(reply.to_dict(), reply.text) == reply


@pytest.mark.parametrize(
    ("written", "digits"),
    [
        ("eighty percent", "80 percent"),
        ("two hundred and fifty trees", "250 trees"),
        ("a seventy-five percent split", "a 75 percent split"),
        ("one thousand five hundred days", "1500 days"),
        ("a hundred epochs", "100 epochs"),
        ("1,000 days and 20,000 bars", "1000 days and 20000 bars"),
        ("someone, anyone, no one else", "someone, anyone, no 1 else"),
        ("0.5, 1.25 and 10", "0.5, 1.25 and 10"),
    ],
)
def test_numbers_in_words_become_digits(written: str, digits: str):
    assert numbers_as_digits(written) == digits


@pytest.mark.parametrize(
    ("text", "ratio"),
    [
        ("train ratio 0.8", 0.8),
        ("train ratio 80%", 0.8),
        ("eighty percent training data", 0.8),
        ("0.8 train ratio", 0.8),
        ("an 80/20 split", 0.8),
        ("test size 0.25", 0.75),
        ("hold out the last 30% for testing", 0.7),
        ("retrain with 90%", 0.9),
        ("retrain with a 0.9 ratio", 0.9),
        ("train ratio 1.5", 1.5),
        ("train ratio 80", 80),
    ],
)
def test_a_share_is_read_as_written_and_percent_means_hundredths(text: str, ratio: float):
    assert read_reply(text).parameters["train_ratio"] == pytest.approx(ratio)


def test_a_value_keeps_how_it_was_written_for_messages():
    reply = read_reply("Random forest on SPX with train ratio 1.5 and lookback -3")

    assert dict(reply.said) == {"train_ratio": "train ratio 1.5", "lookback": "lookback -3"}
    assert dict(reply.parameters) == {"train_ratio": 1.5, "lookback": -3}


def test_percentages_of_costs_are_basis_points_and_no_costs_is_zero():
    assert read_reply("costs of 0.1%").parameters["cost_bps"] == pytest.approx(10.0)
    assert read_reply("ignore transaction costs").parameters["cost_bps"] == 0.0
    assert read_reply("what about zero costs?").parameters["cost_bps"] == 0.0


@pytest.mark.parametrize(
    ("text", "start", "end", "days"),
    [
        ("from 2005-01-01 to 2012-12-31", date(2005, 1, 1), date(2012, 12, 31), None),
        ("since 2010", date(2010, 1, 1), None, None),
        ("after 2010", date(2011, 1, 1), None, None),
        ("before 2016", None, date(2015, 12, 31), None),
        ("up to June 2015", None, date(2015, 6, 30), None),
        ("between 2008 and 2015", date(2008, 1, 1), date(2015, 12, 31), None),
        ("2010-2018 data", date(2010, 1, 1), date(2018, 12, 31), None),
        ("starting 3 March 2009", date(2009, 3, 3), None, None),
        ('"start": "2006-01-01", "end": "2015-12-31"', date(2006, 1, 1), date(2015, 12, 31), None),
        ("on the last 1000 days", None, None, 1000),
        ("over the past 5 years", None, None, 1260),
        ("1500 days of data", None, None, 1500),
        ("set n_estimators to 2000 and increase from 2000 trees", None, None, None),
        ("a lookback of the last 60 days", None, None, None),
    ],
)
def test_dates_and_days(text: str, start: date | None, end: date | None, days: int | None):
    reply = read_reply(text)

    assert (reply.start, reply.end, reply.parameters.get("days")) == (start, end, days)


def test_an_impossible_date_is_not_done():
    reply = read_reply("from 2015-02-30 to 2016-01-01")

    assert reply.start is None
    assert reply.not_done == (NotDone("date '2015-02-30'", "not a calendar date"),)


def test_a_start_after_the_end_is_not_done():
    reply = read_reply("from 2016-01-01 until 2015-01-01")

    assert [item.why for item in reply.not_done] == [
        "the start (2016-01-01) is after the end (2015-01-01)"
    ]


@pytest.mark.parametrize(
    ("text", "symbol", "excluded"),
    [
        ("do not train on SPX", None, ("SPX",)),
        ("Do not train on SPX; use IXIC", "IXIC", ("SPX",)),
        ("Instead of SPX, try IXIC", "IXIC", ("SPX",)),
        ("Move from AAPL to MSFT", "MSFT", ("AAPL",)),
        ("Avoid MSFT; train LightGBM on AAPL", "AAPL", ("MSFT",)),
        ("Use a 3% stop loss on SPX", "SPX", ()),
    ],
)
def test_a_symbol_after_a_negation_is_excluded_never_chosen(
    text: str, symbol: str | None, excluded: tuple[str, ...]
):
    reply = read_reply(text)

    assert (reply.symbol, reply.excluded_symbols) == (symbol, excluded)


def test_a_second_symbol_for_the_same_trial_is_kept_to_be_refused():
    assert read_reply("Train random forests on SPX, IXIC and MSFT").other_symbols == (
        "IXIC",
        "MSFT",
    )
    assert read_reply("RF on SPX. Then an LSTM on IXIC.").other_symbols == ("IXIC",)


def test_a_symbol_in_a_sentence_that_only_reports_a_result_ranks_last():
    reply = read_reply(
        "The random forest on SPX reached 51%. Let's try logistic regression on IXIC."
    )

    assert (reply.symbol, reply.other_symbols) == ("IXIC", ())


@pytest.mark.parametrize(
    ("text", "reported_only"),
    [
        ("The random forest reached 52% selection accuracy, below the baseline.", True),
        ("The LSTM on SPX overfit.", True),
        ("The random forest reached 52%. Try LightGBM.", False),
        ("The random forest reached 52%, so retrain it with a 0.9 ratio.", False),
        ("Random forest on SPX", False),
        ("Interesting.", False),
    ],
)
def test_a_reply_that_only_reports_results_asks_for_nothing(text: str, reported_only: bool):
    reply = read_reply(text)

    assert reply.reported_only is reported_only
    assert (reply.action is None) is (reported_only or not reply.changes_anything())


def test_a_model_after_a_negation_is_excluded():
    reply = read_reply("Don't use an LSTM, train extra trees instead")

    assert (reply.model, reply.excluded_models) == ("extra_trees", ("lstm",))


@pytest.mark.parametrize(
    ("text", "written", "why"),
    [
        ("train a transformer on SPX", "transformer", "there is no transformer model"),
        ("use XGBoost", "XGBoost", "xgboost is not installed (it is not a dependency)"),
        ("switch from RF to CatBoost", "CatBoost", "catboost is not installed"),
    ],
)
def test_a_model_mltrainer_lacks_is_not_done_with_the_models_it_has(
    text: str, written: str, why: str
):
    reply = read_reply(text)

    assert reply.model is None
    assert reply.not_done[0].what == f"model '{written}'"
    assert reply.not_done[0].why == why
    assert reply.not_done[0].allowed.startswith("random_forest, extra_trees, decision_tree")


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("Use a 2% stop loss", ["stop loss"]),
        ("stop_loss: 0.02", ["stop loss"]),
        ("use k-fold cross validation", ["shuffled validation"]),
        ("validation: kfold", ["shuffled validation"]),
        ("with hourly bars", ["intraday bars"]),
        ("Nothing is shuffled and there is no stop loss.", []),
        ("Shuffling would leak the future, so we keep time order.", []),
        ("use 5-fold walk-forward validation", []),
    ],
)
def test_settings_trials_lack_are_not_done_when_asked_for_not_when_mentioned(
    text: str, refused: list[str]
):
    assert [item.what.split(" (")[0] for item in read_reply(text).not_done] == refused


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("using only rsi and momentum", {"features": ("rsi", "momentum")}),
        ("features: [returns, sma_20]", {"features": ("returns", "sma_20")}),
        ("add volatility as a feature", {"features_added": ("volatility",)}),
        ("drop the volume ratio", {"features_removed": ("volume_ratio",)}),
        ("add the VIX as a macro feature", {"macro_added": ("VIXCLS",)}),
        ("macro: [UNRATE, DGS10]", {"macro": ("UNRATE", "DGS10")}),
        ("no macro features", {"macro": ()}),
        ("using only 500 trees", {}),
        ("train on just SPX", {}),
    ],
)
def test_features_and_macro_series_are_set_added_or_removed(text: str, fields: dict[str, Any]):
    reply = read_reply(text)
    empty = ParsedReply()

    for name in ("features", "features_added", "features_removed", "macro", "macro_added"):
        assert getattr(reply, name) == fields.get(name, getattr(empty, name)), name


def test_an_indicator_the_feature_builder_lacks_is_not_done():
    reply = read_reply("add MACD and rsi as features")

    assert reply.features_added == ("rsi",)
    assert [(item.what, item.why) for item in reply.not_done] == [
        ("feature 'MACD'", "the feature builder does not compute it")
    ]


@pytest.mark.parametrize(
    ("text", "continues"),
    [
        ("continue", True),
        ("OK, let's continue.", True),
        ("Same again please", True),
        ("Keep everything else the same", True),
        ("Should we continue?", False),
        ("Markets continue to be noisy.", False),
    ],
)
def test_continue_is_read_at_the_start_of_a_sentence(text: str, continues: bool):
    reply = read_reply(text)

    assert reply.continues is continues
    assert (reply.action == "train") is continues


def test_start_over_asks_for_the_defaults():
    assert read_reply("Start over with a random forest on SPX").reset is True
    assert read_reply("Random forest on SPX").reset is False


def test_only_the_first_fifty_thousand_characters_are_read():
    reply = read_reply("x " * 30_000 + "random forest on SPX")

    assert reply.symbol is None


PARAMETER_WORDS = [
    "80%",
    "80/20",
    "split",
    "train",
    "training",
    "test",
    "60",
    "day",
    "lookback",
    "window",
    "of",
    "horizon",
    "ahead",
    "5-fold",
    "bps",
    "costs",
    "seed",
    "epochs",
    "lr=0.01",
    "learning rate",
    "300",
    "trees",
    "depth",
    "k=15",
    "neighbours",
    "hidden",
    "units",
    "layers",
    "batch",
    "dropout",
    "leaves",
    "embargo",
    "rbf kernel",
    "distance weights",
    "C=0.5",
    "min samples leaf",
    "0.7",
    "-3",
    "%",
    "percent",
    "retrain with",
    "since 2010",
    "last",
    "1000 days",
]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PARAMETER_WORDS), max_size=30).map(" ".join))
def test_parameter_hints_only_skip_patterns_that_cannot_match(text: str):
    hinted = reading_values.read_values(text)
    original = reading_values._PARAM_HINTS
    reading_values._PARAM_HINTS = {name: ("",) for name in original}
    try:
        everything = reading_values.read_values(text)
    finally:
        reading_values._PARAM_HINTS = original

    assert everything.parameters == hinted.parameters


# --- symbols in lower case, contradictory values ------------------------------------------------

KNOWN = frozenset({"SPX", "IXIC", "MSFT", "SPY", "ALL", "IT", "ON"})


@pytest.mark.parametrize(
    ("text", "symbol"),
    [("lgbm spx 70/30", "SPX"), ("go with extra trees on msft", "MSFT"), ("Rf on Ixic", "IXIC")],
)
def test_a_known_symbol_reads_in_lower_case(text: str, symbol: str):
    assert read_reply(text, KNOWN).symbol == symbol


def test_an_unknown_lower_case_word_is_never_a_symbol():
    assert read_reply("lgbm tsla 70/30", KNOWN).symbol is None


def test_a_known_symbol_that_is_also_a_common_word_is_not_read_in_lower_case():
    assert read_reply("train it all on rf", KNOWN).symbol is None


def test_lower_case_symbols_are_read_only_when_known():
    assert read_reply("lgbm spx 70/30").symbol is None


def test_two_values_for_one_setting_are_refused_naming_both():
    reply = read_reply("Random forest on SPX, 80/20 split and 70/30 split")

    assert "train_ratio" not in reply.parameters
    assert [item.text() for item in reply.not_done] == [
        "train_ratio ('80/20 split' and '70/30 split'): the text asks for two values, 0.8 and "
        "0.7; say which one"
    ]


def test_two_values_for_one_key_are_refused_naming_both():
    reply = read_reply("symbol: SPX\nlookback: 20\nlookback: 30")

    assert [item.what for item in reply.not_done] == [
        "lookback ('lookback: 20' and 'lookback: 30')"
    ]


def test_the_same_value_twice_is_no_contradiction():
    reply = read_reply("rf on SPX, 80% train ratio, that is an 80/20 split")

    assert (reply.parameters["train_ratio"], reply.not_done) == (0.8, ())


@pytest.mark.parametrize(
    "text",
    [
        "Switch from an 80/20 split to a 70/30 split on SPX",
        "Instead of 80/20, use a 70/30 split on SPX",
        "The 80/20 split reached 51%. Try a 70/30 split on SPX.",
    ],
)
def test_a_value_turned_away_from_or_only_reported_gives_way(text: str):
    reply = read_reply(text)

    assert (reply.parameters["train_ratio"], reply.not_done) == (0.7, ())


# --- finalize and compare, with trial numbers -------------------------------------------------


@pytest.mark.parametrize(
    ("text", "action", "trials", "rank_by"),
    [
        ("finalize the best trial", "finalize", (), None),
        ("Finalize trial 3", "finalize", (3,), None),
        ("finalize the best by Sharpe", "finalize", (), "sharpe"),
        ("Score the best SPX trial once on the locked holdout", "finalize", (), None),
        ("compare the trials", "compare", (), None),
        ("compare trials 2 and 5", "compare", (2, 5), None),
        ("compare #2, #4", "compare", (2, 4), None),
    ],
)
def test_finalize_and_compare_read_with_the_trials_they_name(
    text: str, action: str, trials: tuple[int, ...], rank_by: str | None
):
    reply = read_reply(text)

    assert (reply.action, reply.trials, reply.rank_by) == (action, trials, rank_by)


@pytest.mark.parametrize(
    "text",
    ["don't finalize yet", "Before we finalize, let's see more trials.", "not time to finalize"],
)
def test_a_finalize_put_off_asks_for_none(text: str):
    assert read_reply(text).action != "finalize"
