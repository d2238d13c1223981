"""One instruction in words, as `mltrainer train` and the seed's `MLTrainer` take it: the
configuration the bridge reads from it (options filling in what it leaves out), or the error
result that says why nothing runs; and the outcome both report, whatever ran the trial.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mltrainer.agent.bridge import Bridge
from mltrainer.engine.trial import TrialConfig
from mltrainer.tools.feedback import config_line, format_feedback

if TYPE_CHECKING:
    from mltrainer.engine.compliance import ComplianceEngine


@dataclass(frozen=True)
class Instruction:
    """What one instruction comes to: a whole configuration to run, or why nothing runs (an
    error result: `type` is compliance_failed, not_done or no_instruction)."""

    text: str
    config: TrialConfig | None
    refusal: dict[str, Any] | None = None


def read_instruction(
    bridge: Bridge,
    compliance: ComplianceEngine,
    text: str,
    defaults: Mapping[str, Any] | None = None,
) -> Instruction:
    """Read `text` with the bridge's memory of the conversation. `defaults` (trial settings,
    e.g. a command's options) fill in what the text leaves out; a text that states one of them
    differently is refused, naming both values, and so is a data source the policy forbids."""
    reply = bridge.read(text)
    if not compliance.check_data_source(reply.source):
        return Instruction(
            text,
            None,
            _refusal(
                "compliance_failed",
                f"data source '{reply.source}' is not allowed; allowed sources are "
                + ", ".join(compliance.allowed_sources),
            ),
        )
    resolution = bridge.resolve(reply, defaults)
    clash = _clash(resolution.config, resolution.read, defaults or {})
    if resolution.not_done or clash:
        return Instruction(text, None, _refusal("not_done", clash or bridge.describe(resolution)))
    if resolution.config is None:
        return Instruction(
            text,
            None,
            _refusal(
                "no_instruction",
                "no ticker symbol found in the instruction (e.g. 'train a random forest on MSFT')",
            ),
        )
    return Instruction(text, resolution.config)


def instruction_outcome(instruction: Instruction, result: Mapping[str, Any]) -> dict[str, Any]:
    """The instruction, the configuration read and the one that ran (in a line), the result,
    and the result phrased as the next question."""
    ran = result.get("config") if result.get("status") == "success" else instruction.config
    parsed = instruction.config
    return {
        "original_instruction": instruction.text,
        "parsed_config": None
        if parsed is None
        else parsed.model_dump(mode="json", exclude_unset=True),
        "configuration": config_line(ran) if isinstance(ran, Mapping | TrialConfig) else None,
        "ml_result": result,
        "feedback_question": format_feedback(result),
    }


def _refusal(kind: str, error: str) -> dict[str, Any]:
    return {"status": "error", "type": kind, "error": error}


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
