"""The seed's Phase 5 system: one natural-language instruction in, one trained trial and a
feedback question out. Safe to call from several threads at once.
"""

from __future__ import annotations

from typing import Any

from mltrainer.agent.bridge import MLAgentBridge
from mltrainer.engine.compliance import ComplianceEngine
from mltrainer.engine.ml_engine import MLEngine
from mltrainer.engine.settings import Settings, load_settings


class MLTrainer:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()
        self.bridge = MLAgentBridge()
        self.ml_engine = MLEngine(self.settings)
        self.compliance = ComplianceEngine(self.settings)

    def process_ai_instruction(self, instruction: str) -> dict[str, Any]:
        """Parse, check, train, and phrase the result as the next question for the AI."""
        parsed = self.bridge.parse_mltrainer_response(instruction)
        config = self.bridge.create_trial_config(parsed)
        source = parsed.get("data_source")
        if not self.compliance.check_data_source(source):
            result: dict[str, Any] = {
                "status": "error",
                "type": "compliance_failed",
                "error": f"data source '{source}' is not allowed; allowed sources are "
                + ", ".join(self.compliance.allowed_sources),
            }
        elif config is None:
            result = {
                "status": "error",
                "type": "no_instruction",
                "error": "no ticker symbol found in the instruction (e.g. 'train a random "
                "forest on MSFT')",
            }
        else:
            result = self.ml_engine.train_model(config)
        return {
            "original_instruction": instruction,
            "parsed_config": config,
            "ml_result": result,
            "feedback_question": self.bridge.format_ml_feedback_as_question(result),
        }
