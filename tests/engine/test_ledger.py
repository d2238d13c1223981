"""The ledger: what it tells the selection statistics about each try on a dataset."""

from __future__ import annotations

import json
import sqlite3

from mltrainer.engine.data.synthetic import synthetic_bars
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
