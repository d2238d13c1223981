"""The ledger: what it tells the selection statistics about each try on a dataset, and a
ledger written by earlier code opening with its trials, datasets and looks."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from mltrainer.engine.data.sample import SampleSource
from mltrainer.engine.data.synthetic import synthetic_bars
from mltrainer.engine.errors import ConfigError
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import load_settings
from mltrainer.engine.trial import TrialConfig

QUICK = {"symbol": "OWN", "model": "naive_bayes", "folds": 2, "save_model": False}


def test_a_trial_recorded_before_there_were_targets_reads_as_a_direction_trial():
    service = ResearchService(
        load_settings(), session="old", data={"OWN": synthetic_bars("OWN", n_bars=1500, seed=3)}
    )
    trained = service.train(TrialConfig.model_validate(QUICK)).result
    # As a ledger written before `target` existed holds it: neither config names a target.
    with sqlite3.connect(service.settings.db_path) as connection:
        config, result = connection.execute(
            "SELECT config, result FROM trials WHERE trial = ?", (trained.trial,)
        ).fetchone()
        old_config = {k: v for k, v in json.loads(config).items() if k != "target"}
        old_result = json.loads(result)
        old_result["config"] = old_config
        connection.execute(
            "UPDATE trials SET config = ?, result = ? WHERE trial = ?",
            (json.dumps(old_config), json.dumps(old_result), trained.trial),
        )

    [row] = service.ledger.tries(trained.dataset.key)
    recorded = service.recorded(trained.trial)

    assert row.target == "direction"
    assert recorded.config.target == "direction"
    assert recorded.selection_accuracy == trained.selection_accuracy
    assert service.finalize(trained.trial).config.target == "direction"


# --- a ledger written before holdouts were bound to their bars ------------------------------

FIXTURE = Path(__file__).parents[1] / "fixtures" / "ledger_v1" / "mltrainer.db"


def main_ledger() -> ResearchService:
    """The ledger `tests/fixtures/ledger_v1/make_ledger.py` wrote with main's code: trials 1
    and 2 on the sample's SPX in session `old`, SPX's holdout looked at once (trial 1), trial 3
    on caller bars named OWN."""
    settings = load_settings()
    settings.ensure_home()
    shutil.copyfile(FIXTURE, settings.db_path)
    return ResearchService(settings, session="new")


def test_a_ledger_written_before_content_binding_opens_with_its_trials_and_looks():
    service = main_ledger()

    assert service.ledger.count() == 3
    assert [(look.look, look.trial, look.session) for look in service.ledger.looks()] == [
        (1, 1, "old")
    ]
    assert service.recorded(2).tries == 2


def test_its_datasets_keep_their_boundary_tries_and_looks_under_their_name():
    service = main_ledger()

    result = service.train(TrialConfig.model_validate(QUICK | {"symbol": "SPX"})).result

    assert result.dataset.key == "sample:SPX:bars"
    assert str(result.dataset.holdout.start) == "2014-12-31"
    assert (result.tries, result.dataset.holdout_looks) == (3, 1)
    with pytest.raises(
        ConfigError, match=r"sample:SPX:bars was already scored: look 1, trial 1 \(session old\)"
    ):
        service.finalize(result.trial)


def test_its_datasets_learn_their_content_when_used_again_under_their_name():
    service = main_ledger()
    spx = SampleSource().bars("SPX").frame
    service.train(TrialConfig.model_validate(QUICK | {"symbol": "SPX"}))
    renamed = ResearchService(service.settings, session="other", data={"MINE": spx})

    result = renamed.train(TrialConfig.model_validate(QUICK | {"symbol": "MINE"})).result

    assert (result.dataset.key, result.tries) == ("sample:SPX:bars", 4)
