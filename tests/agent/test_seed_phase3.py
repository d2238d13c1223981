"""The seed plan's Phase 3 functional tests ("Real ML Engine Integration"), ported.

Same inputs and expectations as `test_phase3_ml_engine.py` in the seed; only the imports change
(`MLEngine` replaces `RealMLEngine`). AAPL and TSLA are not in the offline sample data and no
live key is set in tests, so they train on the synthetic source, and the result must say so.
"""

from __future__ import annotations

import pytest

from mltrainer.agent.seed import MLAgentBridge, MLEngine


@pytest.fixture(autouse=True)
def synthetic_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    """The seed's symbols (AAPL, TSLA, ...) are not in the offline sample data and tests have
    no live key. The seed's own switch for this was `use_mock = True`; ours is the explicit
    fallback setting (off by default), so these symbols run on labelled synthetic bars."""
    monkeypatch.setenv("MLTRAINER_ALLOW_SYNTHETIC_FALLBACK", "true")


def test_real_model_training() -> None:
    """Test actual scikit-learn model training"""
    engine = MLEngine()

    params = {
        "id": "test_001",
        "symbol": "AAPL",
        "model": "random_forest",
        "parameters": {"train_ratio": 0.8},
    }

    result = engine.train_model(params)

    assert result["status"] == "success"
    assert "train_accuracy" in result
    assert 0 <= result["train_accuracy"] <= 1
    assert "test_accuracy" in result
    assert "model_id" in result
    assert result["overfitting_risk"] == result["train_accuracy"] - result["test_accuracy"]

    # Verify model is stored
    assert result["model_id"] in engine.trained_models

    # No live key: AAPL ran on the seeded random walk, and the result says so.
    assert result["synthetic"] is True
    assert result["data_label"] == "SYNTHETIC DATA"
    assert result["provenance"]["kind"] == "synthetic"


def test_multiple_models() -> None:
    """Test training different model types"""
    engine = MLEngine()
    bridge = MLAgentBridge()

    test_instructions = [
        "Train random forest on AAPL",
        "Train logistic regression on TSLA",
    ]

    trained = []
    for instruction in test_instructions:
        # Parse instruction
        parsed = bridge.parse_mltrainer_response(instruction)
        config = bridge.create_trial_config(parsed)

        # Train model
        result = engine.train_model(config)

        assert result["status"] == "success"
        assert result["synthetic"] is True
        assert result["data_label"] == "SYNTHETIC DATA"
        trained.append((result["model"], result["symbol"]))

    assert trained == [("random_forest", "AAPL"), ("logistic_regression", "TSLA")]
    assert len(engine.trained_models) == 2
