"""The conduit between an LLM's free text and the engine: a reply read from its text alone
(`reading/`: text to a frozen `ParsedReply`, with the vocabulary's word tables as data) becomes
a whole trial configuration with the conversation's memory (`memory.py`), and what it recognises
but cannot honour is said back (`describe`), never replaced. One bridge per session remembers
the last trial, so "switch to SVM" or "continue" is a whole configuration. The seed's dict
methods (`parse_mltrainer_response`, ...) live with the rest of its API in `agent/seed.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from pydantic import BaseModel

from mltrainer.agent import metrics
from mltrainer.agent.bridge.memory import ConversationMemory, Resolution
from mltrainer.agent.bridge.reading import read_reply
from mltrainer.agent.bridge.reply import ParsedReply
from mltrainer.engine.trial import TrialConfig, TrialResult
from mltrainer.tools.research import TrainModel
from mltrainer.tools.results import ToolOutput, failed

__all__ = ["Bridge", "Resolution"]


class Bridge:
    """Reads an LLM's replies into trial configurations with the conversation so far: the last
    trial this bridge resolved, or saw run (`observe_trial`, `observe_tool_run`).

    `known_symbols` gives the tickers free text may name in lower case ("lgbm spx 70/30"),
    asked for once, at the first reply; by default the tickers the data sources of the data
    home in the environment list (a session passes its service's `known_symbols`, which adds
    the ledger's). The symbol of the last trial always counts."""

    def __init__(self, known_symbols: Callable[[], Collection[str]] | None = None) -> None:
        self.memory = ConversationMemory()
        self._symbol_source = known_symbols or _listed_symbols
        self._known: frozenset[str] | None = None

    @metrics.PARSING_DURATION.time()
    def read(self, text: str) -> ParsedReply:
        """What one text asks for, alone (the conversation so far is `resolve`'s part)."""
        return read_reply(text, self.known_symbols())

    def known_symbols(self) -> frozenset[str]:
        if self._known is None:
            self._known = frozenset(s.upper() for s in self._symbol_source())
        last = self.memory.last
        return self._known | {last.symbol} if last is not None else self._known

    def resolve(self, reply: ParsedReply, defaults: Mapping[str, Any] | None = None) -> Resolution:
        """What a reply comes to with the conversation so far (and remember it); `defaults`
        fill in what neither the reply nor the last trial says."""
        return self.memory.resolve(reply, defaults)

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


def _listed_symbols() -> frozenset[str]:
    from mltrainer.engine.data.registry import listed_symbols
    from mltrainer.engine.settings import load_settings

    return listed_symbols(load_settings())


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
