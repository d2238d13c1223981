"""The seed's Phase 5 system: one natural-language instruction in, one trained trial and a
feedback question out. Safe to call from several threads at once; like a session, each
instruction builds on the last one ("now switch to SVM").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mltrainer.agent.bridge import MLAgentBridge, config_line
from mltrainer.agent.metrics import record_trial
from mltrainer.engine.compliance import ComplianceEngine
from mltrainer.engine.ml_engine import MLEngine
from mltrainer.engine.settings import Settings, load_settings
from mltrainer.engine.trial import TrialConfig, TrialResult


class MLTrainer:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or load_settings()
        self.bridge = MLAgentBridge()
        self.ml_engine = MLEngine(self.settings)
        self.compliance = ComplianceEngine(self.settings)

    def process_ai_instruction(
        self, instruction: str, *, defaults: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Parse, check, train, and phrase the result as the next question for the AI.

        `defaults` (trial settings, e.g. from the CLI's flags) fill in what the instruction
        leaves out; an instruction that says otherwise is refused, naming both values.
        """
        parsed = self.bridge.parse_mltrainer_response(instruction)
        source = parsed.get("data_source")
        config: dict[str, Any] | None = None
        if not self.compliance.check_data_source(source):
            result: dict[str, Any] = {
                "status": "error",
                "type": "compliance_failed",
                "error": f"data source '{source}' is not allowed; allowed sources are "
                + ", ".join(self.compliance.allowed_sources),
            }
        else:
            resolution = self.bridge.resolve(parsed, defaults)
            clash = _clash(resolution.config, resolution.read, defaults or {})
            if resolution.not_done or clash:
                result = {
                    "status": "error",
                    "type": "not_done",
                    "error": clash or self.bridge.describe(resolution),
                }
            elif resolution.config is None:
                result = {
                    "status": "error",
                    "type": "no_instruction",
                    "error": "no ticker symbol found in the instruction (e.g. 'train a random "
                    "forest on MSFT')",
                }
            else:
                config = resolution.config.model_dump(mode="json", exclude_unset=True)
                result = self.ml_engine.train_model(resolution.config)
                if result["status"] == "success":
                    record_trial(TrialResult.model_validate(result))
        ran = result.get("config") if result.get("status") == "success" else config
        return {
            "original_instruction": instruction,
            "parsed_config": config,
            "configuration": config_line(ran) if isinstance(ran, Mapping) else None,
            "ml_result": result,
            "feedback_question": self.bridge.format_ml_feedback_as_question(result),
        }


def _clash(
    config: TrialConfig | None, read: tuple[str, ...], defaults: Mapping[str, Any]
) -> str | None:
    """A setting the instruction states differently from a default the caller gave."""
    if config is None:
        return None
    said = config.model_dump(mode="json")
    for name, value in defaults.items():
        given = value.isoformat() if hasattr(value, "isoformat") else value
        if name in read and said.get(name) != given:
            return f"the instruction says {name}={said.get(name)} but the option says {given}"
    return None
