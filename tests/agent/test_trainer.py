"""`MLTrainer`: the seed's Phase 5 system and its Phase 6 load test, ported to the real engine.

Seed Phase 5 `test_complete_system` and Phase 6 `test_system_under_load` keep their inputs and
assertions; `MLTrainerSystem` became `mltrainer.agent.MLTrainer`. AAPL and MSFT ship offline
(AAPL's adjusted closes in the sp20 universe, MSFT's bars in pmdarima) and run on real data;
symbols no shipped package has (TSLA, GOOGL, AMZN) run on seeded synthetic bars because these
tests switch the synthetic fallback on (it is off by default), and the feedback says so. The
Phase 6 test runs with each executor: trials in threads, in worker processes, and on a Dask cluster.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from mltrainer.agent import MLTrainer
from mltrainer.engine.executors import close_executors
from mltrainer.engine.ledger import Ledger
from mltrainer.engine.settings import load_settings


@pytest.fixture(autouse=True)
def synthetic_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Some of the seed's symbols (TSLA, GOOGL, AMZN) ship in no package and tests have no
    live key."""
    monkeypatch.setenv("MLTRAINER_ALLOW_SYNTHETIC_FALLBACK", "true")


@contextmanager
def lstm_ready() -> Iterator[None]:
    """Skip without PyTorch. On a loaded two-core machine torch's intra-op threads compete with
    everything else and train several times slower than on one thread, so use one."""
    torch = pytest.importorskip("torch", reason="the lstm model needs PyTorch (mltrainer[deep])")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# --- seed Phase 5: test_complete_system ---------------------------------------------------------


@pytest.mark.parametrize(
    ("instruction", "model", "symbol", "data"),
    [
        (
            "Train a random forest model on AAPL with 80% training data",
            "random_forest",
            "AAPL",
            "REAL DATA",
        ),
        (
            "Use LSTM on TSLA with 60 day lookback for momentum trading",
            "lstm",
            "TSLA",
            "SYNTHETIC DATA",
        ),
        (
            "Analyze MSFT with logistic regression, focus on 30-day patterns",
            "logistic_regression",
            "MSFT",
            "REAL DATA",
        ),
    ],
    ids=["random-forest-AAPL", "lstm-TSLA", "logistic-MSFT"],
)
def test_complete_system(instruction: str, model: str, symbol: str, data: str):
    """Test the complete integrated system"""
    system = MLTrainer()

    if model == "lstm":
        with lstm_ready():
            result = system.process_ai_instruction(instruction)
    else:
        result = system.process_ai_instruction(instruction)

    assert "ml_result" in result
    assert result["ml_result"]["status"] == "success"
    assert result["original_instruction"] == instruction
    assert result["parsed_config"]["model"] == model
    assert result["parsed_config"]["symbol"] == symbol
    assert result["ml_result"]["model"] == model
    assert result["ml_result"]["symbol"] == symbol
    assert 0.0 <= result["ml_result"]["test_accuracy"] <= 1.0
    assert result["ml_result"]["data_label"] == data
    assert ("SYNTHETIC DATA" in result["feedback_question"]) == (data == "SYNTHETIC DATA")
    assert result["feedback_question"].endswith("continue, retrain, or switch?")


def test_instruction_settings_reach_the_trial():
    result = MLTrainer().process_ai_instruction(
        "Train logistic regression on SPX with 75% training data and a 30 day lookback"
    )

    assert result["parsed_config"]["train_ratio"] == 0.75
    assert result["ml_result"]["config"]["train_ratio"] == 0.75
    assert result["ml_result"]["config"]["lookback"] == 30


def test_synthetic_data_is_flagged_in_the_feedback():
    result = MLTrainer().process_ai_instruction("Train logistic regression on TSLA")

    assert result["ml_result"]["synthetic"] is True
    # The configuration that ran comes first, then the label, before any number.
    assert result["feedback_question"].startswith(f"Ran {result['configuration']}. SYNTHETIC DATA:")


def test_without_the_fallback_a_symbol_with_no_data_is_refused_and_not_recorded(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("MLTRAINER_ALLOW_SYNTHETIC_FALLBACK", "false")

    result = MLTrainer().process_ai_instruction("Train logistic regression on TSLA")

    assert result["ml_result"]["status"] == "error"
    assert "no real bars for 'TSLA'" in result["ml_result"]["error"]
    assert "POLYGON_API_KEY" in result["ml_result"]["error"]
    assert "sample symbols that work offline: SPX, IXIC, MSFT" in result["ml_result"]["error"]
    assert Ledger(load_settings().db_path).count() == 0


def test_real_data_is_not_flagged_in_the_feedback():
    result = MLTrainer().process_ai_instruction("Train logistic regression on SPX")

    assert result["ml_result"]["synthetic"] is False
    assert "SYNTHETIC" not in result["feedback_question"]


def test_instruction_without_a_symbol_is_an_error_result():
    result = MLTrainer().process_ai_instruction("hello there")

    assert result["parsed_config"] is None
    assert result["ml_result"] == {
        "status": "error",
        "type": "no_instruction",
        "error": "no ticker symbol found in the instruction (e.g. 'train a random forest on MSFT')",
    }
    assert result["feedback_question"].startswith("The trial failed: no ticker symbol found")


def test_instruction_naming_a_disallowed_source_is_refused():
    result = MLTrainer().process_ai_instruction("Train random forest on MSFT, use data from yahoo")

    assert result["ml_result"]["status"] == "error"
    assert result["ml_result"]["type"] == "compliance_failed"
    assert result["ml_result"]["error"] == (
        "data source 'yahoo' is not allowed; allowed sources are sample, synthetic, polygon, "
        "fred, sp20, csv"
    )
    assert Ledger(load_settings().db_path).count() == 0


def test_successful_instructions_are_recorded_in_the_ledger():
    result = MLTrainer().process_ai_instruction("Train logistic regression on SPX")

    rows = Ledger(load_settings().db_path).rows()
    assert [(r.trial, r.model_id) for r in rows] == [(1, result["ml_result"]["model_id"])]


# --- seed Phase 6: test_system_under_load -------------------------------------------------------


@pytest.fixture(
    params=[
        "local",
        pytest.param("process", marks=pytest.mark.slow),
        pytest.param("dask", marks=pytest.mark.slow),
    ]
)
def trial_executor(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Where the trials run: threads here, spawned worker processes, or a Dask cluster's workers
    (its scheduler reached by address, as a remote one would be)."""
    monkeypatch.setenv("MLTRAINER_EXECUTOR", request.param)
    if request.param == "dask":
        monkeypatch.setenv("MLTRAINER_SCHEDULER", request.getfixturevalue("dask_scheduler"))
    try:
        yield request.param
    finally:
        close_executors()


def test_system_under_load(trial_executor: str):
    """Test system can handle multiple concurrent requests"""
    system = MLTrainer()
    assert system.ml_engine.service.executor.kind == trial_executor

    instructions = [
        f"Train model on {symbol}" for symbol in ["AAPL", "GOOGL", "MSFT", "TSLA", "AMZN"]
    ]

    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as executor:
        futures = [executor.submit(system.process_ai_instruction, inst) for inst in instructions]

        results = [f.result() for f in futures]

    assert all(r["ml_result"]["status"] == "success" for r in results)
    assert [r["ml_result"]["symbol"] for r in results] == ["AAPL", "GOOGL", "MSFT", "TSLA", "AMZN"]
    assert sorted(r["ml_result"]["trial"] for r in results) == [1, 2, 3, 4, 5]
    assert Ledger(load_settings().db_path).count() == 5
