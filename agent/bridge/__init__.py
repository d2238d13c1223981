"""The conduit between an LLM's free text and the engine: a reply read from its text alone
(`reading/`: text to a frozen `ParsedReply`, with the vocabulary's word tables as data) becomes
a whole trial configuration with the conversation's memory (`memory.py`), and what it recognises
but cannot honour is said back (`describe`), never replaced. One bridge per session remembers
the last trial, so "switch to SVM" or "continue" is a whole configuration. The seed's dict
methods (`parse_mltrainer_response`, ...) live with the rest of its API in `agent/seed.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mltrainer.agent.bridge.memory import ConversationMemory, Resolution
from mltrainer.agent.bridge.reply import ParsedReply

__all__ = ["MLAgentBridge", "Resolution"]


class MLAgentBridge:
    """Reads an LLM's replies into trial configurations with the conversation so far: the last
    trial this bridge resolved, or saw run (`observe_trial`, `observe_tool_run`)."""

    def __init__(self) -> None:
        self.memory = ConversationMemory()

    def resolve(self, reply: ParsedReply, defaults: Mapping[str, Any] | None = None) -> Resolution:
        """What a reply comes to with the conversation so far (and remember it); `defaults`
        fill in what neither the reply nor the last trial says."""
        return self.memory.resolve(reply, defaults)

    def observe_trial(self, config: Mapping[str, Any]) -> None:
        """A trial that ran from a tool call: replies after it build on its configuration."""
        if isinstance(config, Mapping):
            self.memory.remember(config)

    def observe_tool_run(
        self, name: str, payload: Mapping[str, Any], arguments: Mapping[str, Any] | None
    ) -> None:
        """A tool run the session recorded. A `train_model` run moves the memory: to the
        configuration that ran when it succeeded, or to the arguments it was called with when
        the engine refused them (the conversation's subject is what was last tried). Calls
        whose arguments did not validate leave it alone."""
        if name != "train_model":
            return
        config = payload.get("config") if payload.get("status") == "success" else arguments
        if isinstance(config, Mapping):
            self.memory.remember(config)

    @property
    def last_trial(self) -> dict[str, Any] | None:
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
            text += f"; not carried over to {config['model']}: {', '.join(resolution.dropped)}"
        return text + "."


def _said(name: str, config: Mapping[str, Any], reply: ParsedReply) -> str:
    value = config.get(name)
    if name == "params":
        hyper = {k: v for k, v in reply.parameters.items() if k not in config}
        return ", ".join(f"{k}={v}" for k, v in hyper.items())
    if isinstance(value, list):
        return f"{name}={','.join(map(str, value)) or 'none'}"
    if value is None:
        return f"{name}=unset"
    return f"{name}={value}"
