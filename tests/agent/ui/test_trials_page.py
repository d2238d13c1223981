"""The Trials page through AppTest: the ledger as a table that filters, with percentages and
p-values as recorded, and a selected trial's report (card and figures)."""

from __future__ import annotations

import pytest

from mltrainer.engine.data.registry import resolve_bars
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import load_settings
from mltrainer.engine.trial import TrialConfig
from tests.agent.ui.apptest import metric_values

FAST = {"model": "naive_bayes", "days": 1500, "save_model": False}


@pytest.fixture
def ledger_of_three() -> ResearchService:
    service = ResearchService(load_settings(), session="trials-page")
    for symbol, model in (("SPX", "naive_bayes"), ("IXIC", "naive_bayes"), ("SPX", "logit")):
        service.train(TrialConfig.model_validate({**FAST, "symbol": symbol, "model": model}))
    service.finalize(1)
    return service


def open_trials(app):
    at = app().run()
    return at.switch_page("trials.py").run()


def test_the_table_lists_every_trial_with_its_numbers(app, ledger_of_three):
    at = open_trials(app)

    table = at.dataframe(key="trials-table").value
    assert table["trial"].tolist() == [3, 2, 1]
    first = ledger_of_three.ledger.result(1)
    assert first is not None
    row = table[table["trial"] == 1].iloc[0]
    assert row["selection acc"] == pytest.approx(first["selection_accuracy"] * 100)
    assert row["data"] == "REAL"
    assert row["holdout acc"] == pytest.approx(
        ledger_of_three.ledger.looks()[0].result["holdout"]["accuracy"] * 100
    )
    assert row["tries"] == 2  # two tries on SPX
    assert row["adj. p (Holm)"] >= row["p-value"]
    assert "train_ratio=0.8" in row["config"]


def test_the_table_filters_by_symbol_model_and_finalized(app, ledger_of_three):
    at = open_trials(app)

    at.multiselect(key="filter-symbol").set_value(["IXIC"]).run()
    assert at.dataframe(key="trials-table").value["trial"].tolist() == [2]

    at.multiselect(key="filter-symbol").set_value(["SPX"]).run()
    at.multiselect(key="filter-model").set_value(["logistic_regression"]).run()
    assert at.dataframe(key="trials-table").value["trial"].tolist() == [3]

    at.multiselect(key="filter-model").set_value([]).run()
    at.checkbox(key="filter-final").check().run()
    assert at.dataframe(key="trials-table").value["trial"].tolist() == [1]
    assert any("1 of 3 trials" in c.value for c in at.caption)


def test_opening_a_trial_shows_its_card_and_figures(app, ledger_of_three):
    at = open_trials(app)

    at.selectbox[0].set_value(2).run()

    result = ledger_of_three.ledger.result(2)
    assert result is not None
    assert metric_values(at, "Selection accuracy") == [f"{result['selection_accuracy']:.1%}"]
    assert len(at.image) >= 3  # card curve, equity and drawdown, confusion matrix
    assert not at.exception


def test_an_empty_ledger_says_how_to_get_trials(app):
    at = open_trials(app)

    assert "No trials recorded yet" in at.info[0].value


def open_trial(app, trial: int):
    at = open_trials(app)
    at.selectbox[0].set_value(trial).run()
    return at


def test_finalize_asks_first_and_names_the_one_look_rule(app, ledger_of_three):
    at = open_trial(app, 2)

    at.button(key="finalize-2").click().run()

    [warning] = at.warning
    assert "counted in the ledger for good" in warning.value
    assert "this is its one untouched look" in warning.value
    assert ledger_of_three.ledger.looks(dataset="sample:IXIC:bars") == []


def test_finalize_confirmed_scores_the_holdout_and_shows_it(app, ledger_of_three):
    at = open_trial(app, 2)
    at.button(key="finalize-2").click().run()

    at.button(key="finalize-2-yes").click().run()

    [look] = ledger_of_three.ledger.looks(dataset="sample:IXIC:bars")
    assert look.trial == 2
    assert metric_values(at, "Holdout accuracy") == [f"{look.result['holdout']['accuracy']:.1%}"]


def test_finalize_cancelled_looks_at_nothing(app, ledger_of_three):
    at = open_trial(app, 2)
    at.button(key="finalize-2").click().run()

    at.button(key="finalize-2-no").click().run()

    assert ledger_of_three.ledger.looks(dataset="sample:IXIC:bars") == []
    assert not at.warning


def test_a_second_look_says_it_is_not_untouched(app, ledger_of_three):
    at = open_trial(app, 3)  # SPX's holdout was scored for trial 1

    at.button(key="finalize-3").click().run()

    assert "scored 1 time(s) already, so this look would not be untouched" in at.warning[0].value


def test_a_finalize_the_service_refuses_is_shown_with_its_reason(app):
    """Bars a caller passed in are not stored, so their holdout cannot be scored later."""
    bars = resolve_bars("SPX", "sample", load_settings()).frame
    service = ResearchService(load_settings(), data={"MINE": bars})
    service.train(TrialConfig.model_validate({**FAST, "symbol": "MINE"}))
    at = open_trial(app, 1)
    at.button(key="finalize-1").click().run()

    at.button(key="finalize-1-yes").click().run()

    assert at.error[0].value.startswith(
        "Not finalized: trial 1 ran on bars passed in by the caller"
    )
    assert service.ledger.looks() == []
