"""The seed plan's Phase 3 functional tests ("Real ML Engine Integration"), ported.

Same inputs and expectations as `test_phase3_ml_engine.py` in the seed; only the imports change
(`MLEngine` replaces `RealMLEngine`). They run offline with no key and no synthetic fallback:
AAPL is one of the sp20 stocks whose adjusted closes ship with mltrainer, so it trains on real
bars, and the result says where they came from. TSLA ships in no package: it is refused with
the symbols that work offline (the seed's mock trained on anything; nothing is made up here).
"""

from __future__ import annotations

import pytest

from mltrainer.agent.seed import MLAgentBridge, MLEngine


@pytest.fixture(autouse=True)
def no_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    """No synthetic stand-in, whatever the environment says."""
    monkeypatch.setenv("MLTRAINER_ALLOW_SYNTHETIC_FALLBACK", "false")


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

    # Offline, no key, no fallback: AAPL's real adjusted closes, and the result says so.
    assert result["synthetic"] is False
    assert result["data_label"] == "REAL DATA"
    assert (result["provenance"]["source"], result["provenance"]["kind"]) == ("sp20", "real")
    assert "volume_ratio" not in result["features"]
    assert any("go without volume_ratio (needs volume)" in note for note in result["notes"])
    assert "chosen in hindsight" in result["survivorship"]


def test_multiple_models() -> None:
    """Test training different model types"""
    engine = MLEngine()
    bridge = MLAgentBridge()

    test_instructions = [
        "Train random forest on AAPL",
        "Train logistic regression on TSLA",
    ]

    outcomes = []
    for instruction in test_instructions:
        # Parse instruction
        parsed = bridge.parse_mltrainer_response(instruction)
        config = bridge.create_trial_config(parsed)

        # Train model
        outcomes.append(engine.train_model(config))

    trained, refused = outcomes
    assert trained["status"] == "success"
    assert trained["data_label"] == "REAL DATA"
    assert (trained["model"], trained["symbol"]) == ("random_forest", "AAPL")
    # TSLA is in no shipped package and there is no key: refused, naming what works offline.
    assert refused["status"] == "error"
    assert "no real bars for 'TSLA'" in refused["error"]
    assert "offline stocks: AAPL, AMD, BAC" in refused["error"]
    assert len(engine.trained_models) == 1
