"""The seed's dict API over the real engine (`mltrainer.agent.seed.MLEngine`): the seed's keys
beside the honest ones, trials recorded and saved whole or not at all, expected failures as
`status: "error"` results naming the choices, and `execute_command`, `evaluate`, `finalize`."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import re
import sqlite3
import sys
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mltrainer.agent.seed import MLEngine, get_compliance_gateway
from mltrainer.engine.data.base import content_hash
from mltrainer.engine.data.sample import SampleSource
from mltrainer.engine.data.synthetic import SyntheticSource, synthetic_bars
from mltrainer.engine.features import build_features
from mltrainer.engine.ledger import Ledger
from mltrainer.engine.persistence import load_model
from mltrainer.engine.runner import run_trial
from mltrainer.engine.settings import load_settings
from mltrainer.engine.stats import holm_adjusted
from mltrainer.engine.trial import DatasetInfo, Segment, TrialConfig

# Real data, small enough to train in about a second: the last 1,500 MSFT bars, ten trees.
MSFT = {"symbol": "MSFT", "model": "random_forest", "days": 1500, "n_estimators": 10, "seed": 7}
# A trial whose only job is to leave a row and a model file behind.
QUICK = {"symbol": "MSFT", "model": "naive_bayes", "days": 400, "folds": 2}


def files_under(folder: Path) -> list[str]:
    """Every file and folder, hidden staging files included."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def rebuilt_selection_rows(result: dict[str, Any], dates: list[str]) -> np.ndarray:
    """The selection rows a trial on MSFT sample bars saw, rebuilt from the data and its config."""
    config = result["config"]
    used = result["dataset"]["used"]
    bars = SampleSource().bars("MSFT").frame.loc[used["start"] : used["end"]]
    features = build_features(bars, lookback=config["lookback"])
    return features.loc[pd.DatetimeIndex(dates), result["features"]].to_numpy(dtype=np.float64)


# --- a successful trial ------------------------------------------------------------------------


def test_result_has_the_seed_keys_and_the_honest_ones() -> None:
    result = MLEngine().train_model({**MSFT, "folds": 4})

    assert result["status"] == "success"
    assert result["type"] == "training_complete"
    assert result["model_id"].startswith("MSFT-random_forest-")
    assert 0.0 <= result["test_accuracy"] <= 1.0
    assert 0.0 <= result["train_accuracy"] <= 1.0
    assert result["overfitting_risk"] == result["train_accuracy"] - result["test_accuracy"]
    assert result["synthetic"] is False
    assert result["data_label"] == "REAL DATA"
    assert result["trial"] == 1


def test_result_scores_against_baselines_and_buy_and_hold() -> None:
    result = MLEngine().train_model(MSFT)

    baselines = result["baselines"]
    three = {k: baselines[k] for k in ("majority_class", "always_up", "previous_direction")}
    assert baselines["best_accuracy"] == max(three.values())
    assert baselines["best_name"] == max(three, key=three.__getitem__)
    assert 0.0 <= baselines["p_value"] <= 1.0
    assert set(result["backtest"]) == {
        "cost_bps",
        "execution",
        "long_flat",
        "long_short",
        "buy_and_hold",
        "active_sharpe",
    }
    assert result["backtest"]["execution"] == "next_bar"
    assert 0.0 <= baselines["mcnemar_p_value"] <= 1.0
    assert result["backtest"]["cost_bps"] == 2.0
    assert result["backtest"]["buy_and_hold"]["turnover"] == 0.0


def test_result_has_timings_per_stage() -> None:
    timings = MLEngine().train_model(MSFT)["timings"]

    assert set(timings) == {"data", "features", "fit", "predict", "metrics", "total"}
    assert all(seconds >= 0.0 for seconds in timings.values())
    assert timings["total"] >= timings["fit"] + timings["predict"]


def test_result_has_walk_forward_folds_in_time_order() -> None:
    result = MLEngine().train_model({**MSFT, "folds": 4})

    folds = result["walk_forward"]
    assert [f["fold"] for f in folds] == [1, 2, 3, 4]
    assert all(a["test_end"] < b["test_start"] for a, b in itertools.pairwise(folds))
    assert folds[-1]["test_end"] <= result["train_period"][1]
    assert result["train_period"][1] < result["selection_period"][0]


def test_result_carries_provenance_of_the_sample_data() -> None:
    provenance = MLEngine().train_model(MSFT)["provenance"]

    assert (provenance["source"], provenance["kind"], provenance["symbol"]) == (
        "sample",
        "real",
        "MSFT",
    )
    assert len(provenance["content_hash"]) == 16


def test_same_config_twice_gives_identical_metrics_and_model_id() -> None:
    engine = MLEngine()

    first = engine.train_model(MSFT)
    second = engine.train_model(MSFT)

    same = (
        "model_id",
        "train_accuracy",
        "selection_accuracy",
        "selection",
        "walk_forward",
        "baselines",
    )
    assert {k: first[k] for k in same} == {k: second[k] for k in same}
    assert first["backtest"] == second["backtest"]
    assert (first["trial"], second["trial"]) == (1, 2)


def test_different_seed_changes_the_model_id() -> None:
    engine = MLEngine()

    first = engine.train_model(MSFT)
    second = engine.train_model({**MSFT, "seed": 8})

    assert first["model_id"] != second["model_id"]


def test_alias_and_canonical_name_are_the_same_trial() -> None:
    engine = MLEngine()

    by_alias = engine.train_model({**MSFT, "model": "RF"})
    by_name = engine.train_model(MSFT)

    assert by_alias["model"] == "random_forest"
    assert by_alias["model_id"] == by_name["model_id"]


def test_every_trial_is_recorded_in_the_ledger() -> None:
    engine = MLEngine()

    first = engine.train_model(MSFT)
    second = engine.train_model({**MSFT, "seed": 8})

    assert engine.ledger.count() == 2
    assert engine.ledger.result(1)["model_id"] == first["model_id"]
    assert engine.ledger.result(second["model_id"])["trial"] == 2
    stored = engine.ledger.result(second["model_id"])
    assert stored["selection_accuracy"] == second["test_accuracy"]
    assert stored["seed"] == 8
    assert [row.trial for row in engine.ledger.rows()] == [2, 1]


def test_ledger_is_shared_through_the_data_home() -> None:
    result = MLEngine().train_model(MSFT)

    ledger = Ledger(load_settings().db_path)

    assert ledger.count(symbol="MSFT") == 1
    assert ledger.result(result["trial"])["model_id"] == result["model_id"]


@pytest.mark.parametrize(
    ("model", "params"),
    [
        ("lightgbm", {"n_estimators": 20}),
        ("logistic_regression", {}),
        pytest.param("random_forest", {"n_estimators": 10}),
        pytest.param("knn", {}),
        pytest.param("mlp", {"epochs": 20}),
    ],
)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_saved_model_loads_and_reproduces_the_recorded_predictions(
    model: str, params: dict[str, Any]
) -> None:
    engine = MLEngine()
    result = engine.train_model({"symbol": "MSFT", "model": model, "days": 800, **params})
    assert result["status"] == "success"
    path = Path(result["model_path"])
    assert path.parent == load_settings().models_dir

    loaded = load_model(path, sha256=result["model_sha256"])

    recorded = engine.ledger.predictions(result["model_id"])
    X_test = rebuilt_selection_rows(result, recorded.dates)
    assert loaded.predict(X_test).tolist() == recorded.y_pred
    in_memory = engine.trained_models[result["model_id"]]
    np.testing.assert_array_equal(loaded.predict(X_test), in_memory.predict(X_test))


def test_save_model_false_writes_no_file_but_records_the_trial() -> None:
    engine = MLEngine()

    result = engine.train_model({**MSFT, "save_model": False})

    assert result["model_path"] is None
    assert files_under(load_settings().models_dir) == []
    assert engine.ledger.count() == 1


def test_seed_style_config_with_nested_parameters() -> None:
    result = MLEngine().train_model(
        {
            "id": "test_001",
            "symbol": "MSFT",
            "model": "random_forest",
            "parameters": {"train_ratio": 0.7, "days": 1500, "n_estimators": 10},
        }
    )

    assert result["status"] == "success"
    assert result["config"]["train_ratio"] == 0.7
    assert result["config"]["params"]["n_estimators"] == 10


def test_trains_on_a_caller_frame() -> None:
    frame = synthetic_bars("OWN", n_bars=1000, seed=3)

    result = MLEngine().train_model(
        {"symbol": "OWN", "model": "logit", "save_model": False}, data=frame
    )

    assert result["status"] == "success"
    assert result["provenance"]["source"] == "caller"
    assert (result["data_label"], result["synthetic"]) == ("CALLER DATA", False)


def test_caller_frame_in_microseconds_with_macro_features() -> None:
    frame = synthetic_bars("OWN", n_bars=1000, seed=3)
    frame.index = pd.bdate_range(end="2017-12-29", periods=1000, unit="us")

    result = MLEngine().train_model(
        {"symbol": "OWN", "model": "logit", "macro": ["CPILFESL"], "save_model": False},
        data=frame,
    )

    assert result["status"] == "success"


# --- bad input ---------------------------------------------------------------------------------

BAD_INPUTS = [
    pytest.param(
        {"symbol": "MSFT", "model": "deep_forest"},
        "unknown model 'deep_forest'; available models are random_forest, extra_trees",
        id="unknown-model",
    ),
    pytest.param(
        {"symbol": "MSFT", "source": "yahoo"},
        "source: Input should be 'auto', 'sample', 'synthetic', 'polygon', 'sp20' or 'csv' "
        "(got 'yahoo')",
        id="unknown-source",
    ),
    pytest.param(
        {"symbol": "MS FT!"},
        "not a valid ticker; use 1-10 letters, digits, '.' or '-'",
        id="invalid-symbol",
    ),
    pytest.param(
        {"symbol": "ZZZZ", "source": "sample"},
        "sample data has no bars for 'ZZZZ'; sample symbols are IXIC, MSFT, SPX",
        id="unknown-sample-symbol",
    ),
    pytest.param(
        {"symbol": "MSFT", "n_estimators": 2001},
        "random_forest.n_estimators=2001 is out of bounds; allowed 1 to 2000",
        id="param-out-of-bounds",
    ),
    pytest.param(
        {"symbol": "MSFT", "learning_rate": 0.1},
        "random_forest has no parameter 'learning_rate'; its parameters are max_depth",
        id="unknown-param",
    ),
    pytest.param(
        {"symbol": "MSFT", "days": 100, "folds": 10},
        "49 usable rows for MSFT after warm-up (days=100, lookback=20, horizon=1); "
        "random_forest needs at least 120",
        id="too-little-data",
    ),
    pytest.param(
        {"symbol": "MSFT", "days": 300, "folds": 10},
        "n_splits=10 .* leaves 17 train rows in the first fold; .* fewer folds",
        id="too-many-folds",
    ),
    pytest.param(
        {"symbol": "MSFT", "features": ["moon_phase"]},
        "unknown features ['moon_phase']; available features are returns",
        id="unknown-feature",
    ),
    pytest.param(
        {"symbol": "MSFT", "train_ratio": 0.99},
        "train_ratio: Input should be less than or equal to 0.95",
        id="train-ratio-out-of-bounds",
    ),
]


@pytest.mark.parametrize(("config", "message"), BAD_INPUTS)
def test_bad_input_is_an_error_result_naming_the_choices(
    config: dict[str, Any], message: str
) -> None:
    result = MLEngine().train_model(config)

    assert result["status"] == "error"
    assert result["type"] == "training_failed"
    if ".*" in message:
        assert re.search(message, result["error"]), result["error"]
    else:
        assert message in result["error"]


@pytest.mark.parametrize(("config", "message"), BAD_INPUTS)
def test_bad_input_writes_nothing(config: dict[str, Any], message: str) -> None:
    engine = MLEngine()
    assert engine.train_model(QUICK)["status"] == "success"
    models_before = files_under(load_settings().models_dir)

    engine.train_model(config)

    assert engine.ledger.count() == 1
    assert files_under(load_settings().models_dir) == models_before


def test_strict_mode_refuses_the_synthetic_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLTRAINER_STRICT", "true")
    engine = MLEngine()

    result = engine.train_model({"symbol": "TSLA", "model": "random_forest"})

    assert result["status"] == "error"
    assert "no real bars for 'TSLA'" in result["error"]
    assert "sample symbols that work offline: SPX, IXIC, MSFT" in result["error"]
    assert "offline stocks: AAPL, AMD, BAC" in result["error"]
    assert engine.ledger.count() == 0
    assert files_under(load_settings().models_dir) == []


def test_strict_mode_refuses_explicit_synthetic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLTRAINER_STRICT", "true")

    result = MLEngine().train_model({"symbol": "MSFT", "source": "synthetic"})

    assert result["status"] == "error"
    assert result["error"].startswith("strict mode refuses synthetic data; use a real source")


def test_strict_mode_still_trains_on_real_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLTRAINER_STRICT", "true")

    result = MLEngine().train_model(MSFT)

    assert result["status"] == "success"
    assert result["data_label"] == "REAL DATA"


def test_lstm_without_torch_is_an_error_result(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)
    engine = MLEngine()

    result = engine.train_model({"symbol": "MSFT", "model": "LSTM", "days": 300, "folds": 2})

    assert result["status"] == "error"
    assert result["error_type"] == "ModelUnavailableError"
    assert "pip install 'mltrainer[deep]'" in result["error"]
    assert engine.ledger.count() == 0


def test_failed_ledger_write_removes_the_saved_model(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = MLEngine()

    def disk_full(*args: object, **kwargs: object) -> int:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(engine.ledger, "record", disk_full)

    with pytest.raises(sqlite3.OperationalError, match="disk is full"):
        engine.train_model(MSFT)

    assert files_under(load_settings().models_dir) == []
    assert engine.trained_models == {}


# --- execute_command ---------------------------------------------------------------------------


def test_execute_command_train_model() -> None:
    result = MLEngine().execute_command({"action": "train_model", "params": MSFT})

    assert result["status"] == "success"
    assert result["type"] == "training_complete"


def test_execute_command_fetch_data_sample() -> None:
    result = MLEngine().execute_command({"action": "fetch_data", "params": {"symbol": "msft"}})

    assert result["status"] == "success"
    assert result["type"] == "bars"
    assert result["data_label"] == "REAL DATA"
    assert result["provenance"]["symbol"] == "MSFT"
    assert result["provenance"]["start"] == "1986-03-13"
    assert result["provenance"]["end"] == "2017-11-10"


def test_execute_command_fetch_data_describes_only_bars_before_the_holdout() -> None:
    result = MLEngine().execute_command({"action": "fetch_data", "params": {"symbol": "MSFT"}})
    holdout = result["dataset"]["holdout"]

    assert result["dataset"]["used"]["end"] < holdout["start"]
    assert holdout["end"] == "2017-11-10"
    assert "last_close" not in result
    assert result["last_close_before_holdout"] > 0


def test_execute_command_fetch_data_of_a_symbol_with_no_data_names_what_works() -> None:
    result = MLEngine().execute_command({"action": "fetch_data", "params": {"symbol": "TSLA"}})

    assert result["status"] == "error"
    assert "no real bars for 'TSLA'" in result["error"]
    assert "POLYGON_API_KEY" in result["error"]
    assert "sample symbols that work offline: SPX, IXIC, MSFT" in result["error"]


def test_execute_command_fetch_data_labels_synthetic_asked_for_by_name() -> None:
    result = MLEngine().execute_command(
        {"action": "fetch_data", "params": {"symbol": "AAPL", "source": "synthetic"}}
    )

    assert result["data_label"] == "SYNTHETIC DATA"
    assert result["provenance"]["kind"] == "synthetic"


def test_execute_command_fetch_data_unknown_source_names_allowed_ones() -> None:
    result = MLEngine().execute_command(
        {"action": "fetch_data", "params": {"symbol": "MSFT", "source": "yahoo"}}
    )

    assert result["status"] == "error"
    assert result["type"] == "fetch_failed"
    assert "allowed sources are sample, synthetic, polygon, fred, sp20, csv" in result["error"]


def test_execute_command_evaluate_reproduces_the_recorded_scores() -> None:
    engine = MLEngine()
    trained = engine.train_model(MSFT)

    result = engine.execute_command({"action": "evaluate", "params": {"trial": 1}})

    assert result["status"] == "success"
    assert result["type"] == "evaluation"
    assert result["model_id"] == trained["model_id"]
    assert result["selection"] == trained["selection"]
    assert result["backtest"] == trained["backtest"]
    assert result["data_label"] == "REAL DATA"


def test_execute_command_unknown_action_lists_actions() -> None:
    result = MLEngine().execute_command({"action": "dance", "params": {}})

    assert result == {
        "status": "error",
        "type": "unknown_action",
        "error": "unknown action 'dance'; actions are train_model, fetch_data, evaluate",
        "error_type": "ConfigError",
    }


def test_evaluate_at_higher_cost_lowers_the_long_flat_return() -> None:
    engine = MLEngine()
    trained = engine.train_model(MSFT)
    assert trained["backtest"]["long_flat"]["turnover"] > 0.0

    free = engine.evaluate({"model_id": trained["model_id"], "cost_bps": 0})
    costly = engine.evaluate({"model_id": trained["model_id"], "cost_bps": 50})

    assert costly["backtest"]["cost_bps"] == 50.0
    assert (
        costly["backtest"]["long_flat"]["annual_return"]
        < free["backtest"]["long_flat"]["annual_return"]
    )
    assert costly["selection"] == free["selection"]


def test_evaluate_unknown_trial_is_an_error_result() -> None:
    result = MLEngine().evaluate({"model_id": "MSFT-random_forest-0000000000"})

    assert result["status"] == "error"
    assert "no recorded trial 'MSFT-random_forest-0000000000'" in result["error"]


def test_evaluate_cost_out_of_bounds_is_an_error_result() -> None:
    engine = MLEngine()
    engine.train_model(MSFT)

    result = engine.evaluate({"trial": 1, "cost_bps": 101})

    assert result["status"] == "error"
    assert "cost_bps must be a number from 0 to 100, got 101" in result["error"]


def test_evaluate_non_numeric_cost_is_an_error_result() -> None:
    engine = MLEngine()
    engine.train_model(MSFT)

    result = engine.execute_command(
        {"action": "evaluate", "params": {"trial": 1, "cost_bps": "cheap"}}
    )

    assert result["status"] == "error"


# --- several processes -------------------------------------------------------------------------

WRITERS = 3
TRIALS_PER_WRITER = 10


def record_trials(
    home: str,
    session: str,
    result_json: str,
    predictions_json: str,
    start: Any,
    errors: Any,
) -> None:
    """One writer process: open the ledger in the shared home (all at once) and record trials."""
    from mltrainer.engine.ledger import TrialPredictions
    from mltrainer.engine.trial import TrialResult

    os.environ["MLTRAINER_HOME"] = home
    result = TrialResult.model_validate_json(result_json)
    predictions = TrialPredictions.model_validate_json(predictions_json)
    start.wait()
    try:
        ledger = Ledger(load_settings().db_path)
        for _ in range(TRIALS_PER_WRITER):
            ledger.record(result, predictions, session=session)
    except Exception as error:
        errors.put(f"{session}: {error!r}")


def test_concurrent_writers_record_every_trial(isolated_home: Path) -> None:
    bars = SyntheticSource(n_bars=400, seed=1).bars("CONC")
    frame = bars.frame
    dataset = DatasetInfo(
        key="synthetic:CONC:bars",
        holdout=Segment(start=date(2025, 1, 2), end=date(2025, 12, 31), rows=250),
        used=Segment(start=frame.index[0].date(), end=frame.index[-1].date(), rows=len(frame)),
        used_hash=content_hash(frame),
    )
    outcome = run_trial(
        TrialConfig(symbol="CONC", source="synthetic", model="naive_bayes", folds=2),
        bars,
        dataset=dataset,
    )
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(WRITERS)
    errors = context.Queue()
    writers = [
        context.Process(
            target=record_trials,
            args=(
                str(isolated_home),
                f"writer-{number}",
                outcome.result.model_dump_json(),
                outcome.predictions.model_dump_json(),
                start,
                errors,
            ),
        )
        for number in range(WRITERS)
    ]

    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=180)

    assert [w.exitcode for w in writers] == [0] * WRITERS
    reported = []
    while not errors.empty():
        reported.append(errors.get())
    assert reported == []
    ledger = Ledger(load_settings().db_path)
    assert ledger.count() == WRITERS * TRIALS_PER_WRITER
    for number in range(WRITERS):
        assert ledger.count(session=f"writer-{number}") == TRIALS_PER_WRITER
    trials = sorted(row.trial for row in ledger.rows(limit=1000))
    assert trials == list(range(1, WRITERS * TRIALS_PER_WRITER + 1))


def test_every_try_is_counted_and_the_p_value_adjusted_for_it() -> None:
    engine = MLEngine(session="tries")
    first = engine.train_model({**QUICK, "save_model": False})
    second = engine.train_model({**QUICK, "model": "logit", "save_model": False})

    holm = holm_adjusted([first["baselines"]["p_value"], second["baselines"]["p_value"]])

    assert (first["tries"], second["tries"]) == (1, 2)
    assert first["p_value_adjusted"] == pytest.approx(first["baselines"]["p_value"])
    assert second["p_value_adjusted"] == pytest.approx(holm[1])
    # Shown again later, the first trial's p-value is adjusted for both tries.
    assert engine.service.recorded(1).p_value_adjusted == pytest.approx(holm[0])


def test_the_same_config_twice_saves_two_model_files() -> None:
    engine = MLEngine()
    first = engine.train_model(QUICK)
    second = engine.train_model(QUICK)

    assert first["model_id"] == second["model_id"]
    assert first["model_path"] != second["model_path"]
    assert Path(first["model_path"]).exists() and Path(second["model_path"]).exists()


def test_macro_series_that_are_not_point_in_time_are_noted() -> None:
    result = MLEngine().train_model(
        {"symbol": "SPX", "model": "logit", "macro": ["GDPC1"], "days": 1500, "save_model": False}
    )

    assert result["status"] == "success"
    assert any(note.startswith("macro GDPC1 is not point in time") for note in result["notes"])


def test_the_compliance_gateway_is_a_singleton() -> None:
    assert get_compliance_gateway() is get_compliance_gateway()


def test_finalize_refuses_a_second_look_as_an_error_result_and_gives_it_with_again() -> None:
    engine = MLEngine(session="seed")
    engine.train_model(QUICK)
    first = engine.finalize(1)

    refused = MLEngine(session="other").finalize(1)
    again = MLEngine(session="other").finalize(1, again=True)

    assert (first["status"], first["look"]) == ("success", 1)
    assert refused["status"] == "error"
    assert refused["type"] == "finalize_failed"
    assert "holdout of sample:MSFT:bars was already scored: look 1, trial 1" in refused["error"]
    assert (again["status"], again["look"], again["family"]) == ("success", 2, 2)
