"""Hyper-parameter limits that keep one trial to about a minute on two cores: each
configuration's cost is estimated before it runs, and one over the limit is refused with the
limit, what drives the estimate and what to lower."""

from __future__ import annotations

import pytest

from mltrainer.engine.compliance import ComplianceEngine
from mltrainer.engine.costs import REFERENCE_ROWS, TRIAL_SECONDS_LIMIT
from mltrainer.engine.errors import ComplianceError, ConfigError
from mltrainer.engine.models import MODELS, largest_allowed, resolve_model
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import load_settings
from mltrainer.engine.trial import TrialConfig


def test_the_issues_forest_is_refused_with_the_limit() -> None:
    config = TrialConfig(
        symbol="SPX", model="rf", params={"n_estimators": 2000, "max_depth": 64}, folds=20
    )

    with pytest.raises(ComplianceError) as refused:
        ResearchService(load_settings()).train(config)

    message = str(refused.value)
    assert message.startswith("random_forest with these settings is estimated at ")
    formula = "n_estimators x (min(max_depth, 16) x max_features + 5)"
    assert f"({formula} = 26000 per fit, 21 fits for 20 folds" in message
    assert f"the limit is {TRIAL_SECONDS_LIMIT:.0f} s per trial" in message
    assert message.endswith("Lower n_estimators, max_depth, max_features, folds or days")


def test_with_days_the_gate_refuses_before_touching_data() -> None:
    config = TrialConfig(
        symbol="ZZZZ",
        model="random_forest",
        params={"n_estimators": 2000, "max_depth": 64},
        folds=20,
        days=5000,
    )

    with pytest.raises(ComplianceError, match=r"5000 rows\); the limit is 60 s per trial"):
        ComplianceEngine().check_trial(config)


def test_the_estimate_uses_the_rows_the_trial_gets() -> None:
    config = TrialConfig(symbol="X", model="lstm", params={"epochs": 100}, train_ratio=0.7)

    ComplianceEngine().check_trial_cost(config, rows=2520)
    with pytest.raises(ComplianceError, match="8000 rows"):
        ComplianceEngine().check_trial_cost(config, rows=REFERENCE_ROWS)


@pytest.mark.parametrize("model", list(MODELS))
def test_every_model_at_its_defaults_is_well_inside_the_limit(model: str) -> None:
    spec = MODELS[model]
    assert spec.cost is not None
    inputs = spec.cost_inputs(spec.validate_params({}), lookback=20)

    seconds = spec.cost.seconds(inputs, fits=6, rows=REFERENCE_ROWS)

    assert seconds < TRIAL_SECONDS_LIMIT / 2


@pytest.mark.parametrize("model", ["random_forest", "gradient_boosting", "lightgbm", "mlp"])
def test_the_largest_allowed_is_allowed_and_one_more_is_not(model: str) -> None:
    params, folds = largest_allowed(model)
    spec = resolve_model(model)
    knob = spec.cost.knobs[0] if spec.cost else ""

    spec.check_cost(params, folds=folds, rows=REFERENCE_ROWS, lookback=20)
    if params[knob] < spec.params[knob].high:
        with pytest.raises(ConfigError, match="the limit is"):
            spec.check_cost(
                {**params, knob: params[knob] + 1}, folds=folds, rows=REFERENCE_ROWS, lookback=20
            )


def test_fewer_rows_allow_more_work() -> None:
    params = {"n_estimators": 500, "max_depth": 16, "max_features": 1.0}
    forest = resolve_model("random_forest")

    with pytest.raises(ConfigError):
        forest.check_cost(params, folds=5, rows=REFERENCE_ROWS, lookback=20)
    forest.check_cost(params, folds=5, rows=1000, lookback=20)


def test_the_lstm_window_counts() -> None:
    lstm = resolve_model("lstm")
    params = {"hidden_size": 128, "epochs": 100}

    lstm.check_cost(params, folds=2, rows=2000, lookback=5)
    with pytest.raises(ConfigError, match="epochs x lookback"):
        lstm.check_cost(params, folds=2, rows=2000, lookback=250)


def test_a_refused_trial_names_the_limit_and_records_nothing() -> None:
    config = TrialConfig(
        symbol="MSFT", model="gbm", params={"n_estimators": 2000, "max_depth": 16}, folds=20
    )
    service = ResearchService(load_settings())

    with pytest.raises(ComplianceError, match="the limit is 60 s per trial"):
        service.train(config)
    assert service.ledger.count() == 0


def test_the_lstm_batch_size_counts() -> None:
    """The attack: an LSTM with batch_size 1 was estimated at 1.2 s and took 57 s for 5
    epochs; its gradient steps, 8,000 an epoch, now count."""
    lstm = resolve_model("lstm")
    params = {"hidden_size": 32, "epochs": 5}

    lstm.check_cost({**params, "batch_size": 256}, folds=5, rows=REFERENCE_ROWS, lookback=20)
    with pytest.raises(ConfigError, match=r"estimated at 171 s .* batch_size"):
        lstm.check_cost({**params, "batch_size": 1}, folds=5, rows=REFERENCE_ROWS, lookback=20)


def test_a_sweep_of_slow_lstms_is_refused_and_records_nothing() -> None:
    """The attack: a 16-configuration sweep of the slow LSTM validated and ran."""
    configs = [
        TrialConfig(
            symbol="MSFT",
            model="lstm",
            params={"batch_size": 1, "epochs": 1000, "hidden_size": size},
            folds=2,
        )
        for size in range(1, 17)
    ]
    service = ResearchService(load_settings())

    outcomes = service.sweep(configs)

    assert [type(outcome) for outcome in outcomes] == [ComplianceError] * 16
    assert all("the limit is 60 s per trial" in str(outcome) for outcome in outcomes)
    assert service.ledger.count() == 0
