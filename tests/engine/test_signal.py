"""A saved model's signal on the newest bars: built as the trial built its rows (so on a past
day it repeats the trial's recorded call), with its provenance, and refused with the reason when
the model file fails its check or the features cannot be built."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from mltrainer.engine.data.base import content_hash
from mltrainer.engine.data.registry import resolve_bars
from mltrainer.engine.errors import ConfigError, InsufficientDataError
from mltrainer.engine.persistence import UntrustedModelError
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import Settings
from mltrainer.engine.trial import TrialConfig


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> ResearchService:
    """Trial 1: gradient boosting on SPX; trial 2: naive Bayes without a model file; trial 3:
    logistic regression on SPX with the WTI oil price as a macro feature."""
    home = tmp_path_factory.mktemp("signal") / "home"
    service = ResearchService(Settings(MLTRAINER_HOME=home), session="signals")
    base = {"symbol": "SPX", "days": 1500}
    service.train(TrialConfig.model_validate({**base, "model": "gradient_boosting"}))
    service.train(TrialConfig.model_validate({**base, "model": "nb", "save_model": False}))
    service.train(TrialConfig.model_validate({**base, "model": "logit", "macro": ["DCOILWTICO"]}))
    return service


@pytest.mark.parametrize("trial", [1, 3])
def test_on_a_past_selection_day_the_signal_repeats_the_trials_recorded_call(
    service: ResearchService, trial: int
):
    recorded = service.ledger.predictions(trial)
    assert recorded is not None and recorded.proba_up is not None

    for day in (0, len(recorded.dates) // 2, -1):
        signal = service.predict(trial, as_of=date.fromisoformat(recorded.dates[day]))

        assert signal.bar_date.isoformat() == recorded.dates[day]
        assert signal.forecast == recorded.y_pred[day]
        assert signal.probability == pytest.approx(recorded.proba_up[day], abs=1e-12)


def test_the_signal_is_on_the_newest_bar_with_the_datas_hash(service: ResearchService):
    signal = service.predict(1)

    bars = resolve_bars("SPX", "sample", service.settings).frame
    assert signal.bar_date == bars.index[-1].date() == date(2018, 12, 31)
    assert signal.data_hash == content_hash(bars)
    assert (signal.data.source, signal.data.rows) == ("sample", len(bars))


def test_the_signal_carries_the_models_provenance(service: ResearchService):
    signal = service.predict(1)

    recorded = service.recorded(1)
    assert (signal.trial, signal.model_id, signal.model) == (
        1,
        recorded.model_id,
        "gradient_boosting",
    )
    assert signal.fitted_on == recorded.train_period
    assert signal.model_sha256 == recorded.model_sha256
    assert signal.config == recorded.config
    assert signal.target == "direction"


def test_a_newest_bar_in_the_locked_holdout_is_said_to_be_no_look(service: ResearchService):
    signal = service.predict(1)

    assert any("lies in the dataset's locked holdout" in note for note in signal.notes)


def test_a_signal_is_no_try_and_no_look(service: ResearchService):
    before = (service.ledger.count(), len(service.ledger.looks()))

    service.predict(1)

    assert (service.ledger.count(), len(service.ledger.looks())) == before


def test_a_model_file_that_changed_is_refused(service: ResearchService):
    path = service.recorded(1).model_path
    assert path is not None
    model_file = Path(path)
    original = model_file.read_bytes()
    try:
        model_file.write_bytes(original + b"tampered")

        with pytest.raises(UntrustedModelError, match="is not the model file that was saved"):
            service.predict(1)
    finally:
        model_file.write_bytes(original)


def test_a_trial_without_a_model_file_is_refused(service: ResearchService):
    with pytest.raises(ConfigError, match="trial 2 was trained with save_model=false"):
        service.predict(2)


def test_features_that_cannot_be_built_are_refused_with_the_reason(service: ResearchService):
    """SPX's sample bars start in 1999: a month of them is shorter than the warm-up."""
    with pytest.raises(
        InsufficientDataError,
        match=r"cannot be built from the \d+ bars sample has: 0 rows survive warm-up",
    ):
        service.predict(1, as_of=date(1999, 2, 5))


def test_an_unknown_trial_is_refused(service: ResearchService):
    with pytest.raises(ConfigError, match="no recorded trial '99'"):
        service.predict(99)
