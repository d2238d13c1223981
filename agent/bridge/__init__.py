"""The conduit between an LLM's free text and the engine, in both directions, under the seed's
names: `parse_mltrainer_response`, `create_trial_config`, `format_ml_feedback_as_question`.

It is a facade over three parts: the vocabulary (`vocabulary.py`, word tables as data), reading
(`reading.py`: text to a frozen `ParsedReply`) and feedback (`feedback.py`: result to question),
plus the conversation's memory (`conversation.py`). One bridge per session remembers the last
trial, so "switch to SVM" or "continue" is a whole configuration; what it recognises but cannot
honour is said back (`describe`), never replaced.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from mltrainer.agent import metrics
from mltrainer.agent.bridge.memory import ConversationMemory, Resolution
from mltrainer.agent.bridge.reading import read_reply
from mltrainer.agent.bridge.reply import ParsedReply
from mltrainer.engine.trial import TrialConfig, TrialResult
from mltrainer.tools.feedback import config_line, format_feedback
from mltrainer.tools.research import TrainModel
from mltrainer.tools.results import ToolOutput, failed

__all__ = ["MLAgentBridge", "Resolution", "config_line"]


class MLAgentBridge:
    """Reads an LLM's replies into trial configurations and writes engine results back as text.

    `parse_mltrainer_response` says what one text asks for, alone; `create_trial_config` fills
    in the rest from the last trial this bridge produced (or saw run, via `observe_trial`).
    """

    def __init__(self) -> None:
        self.memory = ConversationMemory()

    @metrics.PARSING_DURATION.time()
    def read(self, text: str) -> ParsedReply:
        """What one text asks for, alone (the conversation so far is `resolve`'s part)."""
        return read_reply(text)

    def parse_mltrainer_response(self, text: str) -> dict[str, Any]:
        """Everything the text asks for, under `extracted_params`; nothing found is None/empty."""
        reply = self.read(text)
        return {
            "extracted_params": reply.to_dict(),
            "data_source": reply.source,
            "original_text": reply.text,
            "has_instruction": bool(
                reply.action or reply.continues or reply.changes_anything() or reply.not_done
            ),
        }

    def resolve(
        self,
        parsed: Mapping[str, Any] | ParsedReply,
        defaults: Mapping[str, Any] | None = None,
    ) -> Resolution:
        """What a parsed reply comes to with the conversation so far (and remember it);
        `defaults` fill in what neither the reply nor the last trial says."""
        reply = parsed if isinstance(parsed, ParsedReply) else _reply_of(parsed)
        return self.memory.resolve(reply, defaults)

    def create_trial_config(self, parsed: Mapping[str, Any]) -> dict[str, Any] | None:
        """Keyword arguments for `TrialConfig` (the settings the replies gave) plus an `id`, or
        None when the reply asks for nothing runnable: no symbol here or before, or something
        that cannot be done (`resolve(...).not_done` says what)."""
        config = self.resolve(parsed).config if isinstance(parsed, Mapping) else None
        if config is None:
            return None
        return {
            "id": f"trial_{uuid.uuid4().hex[:8]}",
            **config.model_dump(mode="json", exclude_unset=True),
        }

    def observe_trial(self, config: TrialConfig) -> None:
        """A trial that ran from a tool call: replies after it build on its configuration."""
        self.memory.remember(config)

    def observe_tool_run(self, output: ToolOutput, arguments: BaseModel | None) -> None:
        """A tool run the session recorded. A trial moves the memory: to the configuration
        that ran, or, when the engine refused a `train_model` call, to the arguments it was
        called with (the conversation's subject is what was last tried). Calls whose arguments
        did not validate leave it alone."""
        if isinstance(output, TrialResult):
            self.memory.remember(output.config)
        elif failed(output) and isinstance(arguments, TrainModel):
            self.memory.remember(arguments)

    @property
    def last_trial(self) -> TrialConfig | None:
        return self.memory.last

    def describe(self, resolution: Resolution) -> str:
        """What was read from the text and carried over, or what was not done and why."""
        if resolution.not_done:
            problems = "; ".join(item.text() for item in resolution.not_done)
            return f"Not done, nothing was run: {problems}."
        if resolution.config is None:
            return f"Nothing was run: {resolution.missing or 'the text asks for no trial'}."
        config = resolution.config
        said = [_said(name, config, resolution.reply) for name in resolution.read]
        if said:
            text = "Read from your text: " + ", ".join(said)
            text += "; the rest as in the last trial" if resolution.carried else ""
        else:
            text = "Read from your text: nothing new, so the last trial's configuration again"
        if resolution.dropped:
            text += f"; not carried over to {config.model}: {', '.join(resolution.dropped)}"
        return text + "."

    def format_ml_feedback_as_question(self, result: Any) -> str:
        """A short, complete account of a result, ending in the question for the next turn."""
        return format_feedback(result)


def _said(name: str, config: TrialConfig, reply: ParsedReply) -> str:
    value = getattr(config, name)
    if name == "params":
        hyper = {k: v for k, v in reply.parameters.items() if k not in TrialConfig.model_fields}
        return ", ".join(f"{k}={v}" for k, v in hyper.items())
    if isinstance(value, list):
        return f"{name}={','.join(map(str, value)) or 'none'}"
    if value is None:
        return f"{name}=unset"
    return f"{name}={value}"


def _reply_of(parsed: Mapping[str, Any]) -> ParsedReply:
    extracted = parsed.get("extracted_params", parsed)
    if not isinstance(extracted, Mapping):
        return ParsedReply()
    text = parsed.get("original_text")
    return ParsedReply.from_dict(extracted, text if isinstance(text, str) else "")
