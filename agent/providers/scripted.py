"""A provider that plays assistant turns from a script: for tests, demos and offline runs.

A script file (YAML, or JSON when the name ends in `.json`) is a list of turns. A turn has
free `text`, `tool_calls`, or both; a bare string is a text-only turn. A tool call has a
`name` and `arguments`: a mapping (sent as JSON) or a string sent verbatim, so a script can
feed the agent malformed JSON on purpose. Call ids are `call_1`, `call_2`, ... in order.

    - text: "Let me see what data there is."
      tool_calls:
        - name: list_symbols
          arguments: {source: sample}
    - tool_calls:
        - name: train_model
          arguments: {symbol: SP500, model: random_forest, train_ratio: 0.8}
        - name: train_model
          arguments: '{"symbol": "SP500", "model": '     # malformed on purpose
    - "Train a logistic regression on SP500 with an 80/20 split."
    - tool_calls:
        - name: finish
          arguments: {conclusion: "Nothing beats the baseline out of sample."}

The conversation is not read: turn N is the script's Nth entry whatever the agent sent.
When the script runs out, `complete` raises `ScriptFinished` and the session ends as
"script finished" (a normal end; a script that calls `finish` ends as "finished").
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from mltrainer.agent.messages import AssistantTurn, Message, ToolCall, ToolSpec
from mltrainer.agent.providers.base import Provider, ProviderConfigError, ScriptFinished

_TURN_KEYS = {"text", "tool_calls"}
_CALL_KEYS = {"name", "arguments"}


class ScriptedProvider(Provider):
    """Returns the given turns one per call, in order."""

    name = "scripted"
    offline = True

    def __init__(self, turns: Sequence[AssistantTurn], *, model: str = "scripted") -> None:
        self.model = model
        self.turns = tuple(turns)
        self._next = 0

    @classmethod
    def from_file(cls, path: Path, *, model: str = "scripted") -> ScriptedProvider:
        """Read a YAML or JSON script; `ProviderConfigError` names the file and the problem."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ProviderConfigError(
                f"cannot read script {path}: {error.strerror or error}"
            ) from error
        data = _parse(path, text)
        if not isinstance(data, list) or not data:
            raise ProviderConfigError(
                f"script {path} must be a non-empty list of turns, got {_kind(data)}"
            )
        call_numbers = itertools.count(1)
        turns = [
            _turn(path, number, entry, call_numbers, model)
            for number, entry in enumerate(data, start=1)
        ]
        return cls(turns, model=model)

    def resumed_after(self, assistant_turns: int) -> ScriptedProvider:
        return ScriptedProvider(self.turns[assistant_turns:], model=self.model)

    async def complete(
        self,
        *,
        system: str,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        timeout: float | None = None,
    ) -> AssistantTurn:
        if self._next >= len(self.turns):
            raise ScriptFinished("script finished")
        turn = self.turns[self._next]
        self._next += 1
        return turn


def _parse(path: Path, text: str) -> Any:
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise ProviderConfigError(
                f"script {path} is not valid JSON: line {error.lineno}, column {error.colno}: "
                f"{error.msg}"
            ) from error
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        where = ""
        mark = getattr(error, "problem_mark", None)
        if mark is not None:
            where = f"line {mark.line + 1}, column {mark.column + 1}: "
        problem = getattr(error, "problem", None) or str(error)
        raise ProviderConfigError(f"script {path} is not valid YAML: {where}{problem}") from error


def _turn(
    path: Path, number: int, entry: Any, call_numbers: Iterator[int], model: str
) -> AssistantTurn:
    where = f"script {path}, turn {number}"
    if isinstance(entry, str):
        return AssistantTurn(text=entry, model=model)
    if not isinstance(entry, dict):
        raise ProviderConfigError(
            f"{where}: expected a mapping with text and/or tool_calls, got {_kind(entry)}"
        )
    unknown = sorted(set(map(str, entry)) - _TURN_KEYS)
    if unknown:
        raise ProviderConfigError(
            f"{where}: unknown key {unknown[0]!r} (a turn has 'text' and/or 'tool_calls')"
        )
    if not entry:
        raise ProviderConfigError(f"{where}: a turn needs 'text', 'tool_calls' or both")
    text = entry.get("text", "")
    if not isinstance(text, str):
        raise ProviderConfigError(f"{where}: 'text' must be a string, got {_kind(text)}")
    raw_calls = entry.get("tool_calls") or []
    if not isinstance(raw_calls, list):
        raise ProviderConfigError(f"{where}: 'tool_calls' must be a list, got {_kind(raw_calls)}")
    calls = tuple(
        _call(f"{where}, tool call {index}", raw, f"call_{next(call_numbers)}")
        for index, raw in enumerate(raw_calls, start=1)
    )
    return AssistantTurn(
        text=text,
        tool_calls=calls,
        stop_reason="tool_use" if calls else "end_turn",
        model=model,
    )


def _call(where: str, raw: Any, call_id: str) -> ToolCall:
    if not isinstance(raw, dict):
        raise ProviderConfigError(f"{where}: expected a mapping with 'name', got {_kind(raw)}")
    unknown = sorted(set(map(str, raw)) - _CALL_KEYS)
    if unknown:
        raise ProviderConfigError(
            f"{where}: unknown key {unknown[0]!r} (a tool call has 'name' and 'arguments')"
        )
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ProviderConfigError(f"{where}: 'name' is missing or not a string")
    arguments = raw.get("arguments", {})
    if isinstance(arguments, dict):
        # YAML reads an unquoted 2015-01-02 as a date; JSON carries it as the same text.
        return ToolCall(id=call_id, name=name, arguments=json.dumps(arguments, default=str))
    if isinstance(arguments, str):
        return ToolCall(id=call_id, name=name, arguments=arguments)
    raise ProviderConfigError(
        f"{where}: 'arguments' must be a mapping or a string, got {_kind(arguments)}"
    )


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__
