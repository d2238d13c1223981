"""The Trials page through AppTest: the ledger as a table that filters, with percentages and
p-values as recorded, and a selected trial's report (card and figures)."""

from __future__ import annotations

import pytest

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
