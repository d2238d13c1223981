"""What a tool is: a pydantic argument model (the schema an LLM reads), a handler that returns
a typed result (`results.ToolOutput`), and how that result reads for the model.

Exported as OpenAI function tools, Anthropic tools, or plain JSON from the same models.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import accumulate
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ValidationError

from mltrainer.engine.errors import MLTrainerError
from mltrainer.tools.results import PlainResult, ToolOutput, as_output, dump, error_message, failed

if TYPE_CHECKING:
    from mltrainer.engine.service import ResearchService

SchemaFormat = Literal["openai", "anthropic", "json"]

# Every tool's arguments fit well inside these; a call beyond them is a model's mistake (or an
# attack), refused with the limit stated before any JSON parser recurses into it.
MAX_ARGUMENT_CHARS = 20_000
MAX_ARGUMENT_DEPTH = 8
_SHOWN_INPUT_CHARS = 80
# JSON's escapes pair a backslash with the next character, left to right; a string is then
# quote to quote. Each pattern is one fixed step or one character class, so the regex engine
# neither backtracks nor recurses per character.
_ESCAPE = re.compile(r"\\.", re.DOTALL)
_STRING = re.compile(r'"[^"]*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_NESTING = {"[": 1, "{": 1, "]": -1, "}": -1}


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in JSON `text`, without parsing it: escapes and strings
    are removed, then the brackets left are counted. Linear time and no recursion, so a reply
    nested a million deep, or a multi-megabyte string, is measured before a JSON parser (which
    recurses per level) ever sees it. Text that is not JSON gets a number all the same; the
    parser then says what is wrong with it."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", _ESCAPE.sub("", text)))
    return max(0, max(accumulate(map(_NESTING.__getitem__, brackets)), default=0))


def check_argument_size(name: str, raw: str) -> None:
    """Refuse arguments too large or too deeply nested, naming the limit."""
    if len(raw) > MAX_ARGUMENT_CHARS:
        raise ToolArgumentError(
            f"{name}: arguments are {len(raw)} characters long; the limit is "
            f"{MAX_ARGUMENT_CHARS}. Send only the fields the tool takes"
        )
    depth = json_depth(raw)
    if depth > MAX_ARGUMENT_DEPTH:
        raise ToolArgumentError(
            f"{name}: arguments nest {depth} levels deep; the limit is {MAX_ARGUMENT_DEPTH}. "
            "Send one flat JSON object of the tool's fields"
        )


class TrialNumbers:
    """Marks an argument field that holds trial numbers (one, or a list), as in
    `Annotated[int | None, TRIAL_NUMBERS]`: a replay check, which re-executes a session in a
    scratch data home where its trials get other numbers, translates these fields."""


TRIAL_NUMBERS = TrialNumbers()


def trial_number_fields(arguments: type[BaseModel]) -> tuple[str, ...]:
    """The fields of an argument model marked as holding trial numbers."""
    return tuple(
        name
        for name, field in arguments.model_fields.items()
        if any(isinstance(item, TrialNumbers) for item in field.metadata)
    )


class ToolArgumentError(MLTrainerError):
    """A tool call the model must fix: unknown tool, malformed JSON, wrong type, out of bounds."""


@dataclass(frozen=True)
class ToolContext:
    """What a handler runs with: the engine service (bound to the session, if any), the id of
    the tool call being answered (so a repeated call is recognised, not run twice) and the
    session's deadline (wall-clock `time.time()`, or None)."""

    service: ResearchService
    call_id: str | None = None
    deadline: float | None = None

    @property
    def session(self) -> str | None:
        return self.service.session


@dataclass(frozen=True)
class Tool:
    """One tool: its name, its argument model (whose docstring and field descriptions are what
    the model reads), its handler, whether a successful call ends the session (its result is
    the conclusion: `conclusion`, optional `best_trial`), how its result reads for the
    model (`render`; compact JSON without timings when None), and how a running call reads
    for a person watching (`starting`, from the call's arguments).

    The handler returns a result model, or a JSON-ready dict (a plugin's simplest way), which
    travels as a `PlainResult`; `render` gets what the handler returned."""

    name: str
    arguments: type[BaseModel]
    handler: Callable[[ToolContext, Any], ToolOutput | Mapping[str, Any]]
    ends_session: bool = False
    render: Callable[[Any], str] | None = None
    starting: Callable[[Any], str] | None = None

    def start_label(self, arguments: BaseModel | None) -> str:
        """What a progress line shows while this tool runs ("training lightgbm on SPX")."""
        if self.starting is not None and arguments is not None:
            return self.starting(arguments)
        return f"running {self.name}"

    def run(self, context: ToolContext, arguments: BaseModel) -> ToolOutput:
        """The handler's result for validated `arguments`, typed."""
        return as_output(self.handler(context, arguments))

    def read(self, output: ToolOutput) -> str:
        """The short text the model gets for `output`; an error names the tool."""
        if failed(output):
            return f"ERROR from {self.name}: {error_message(output)}"
        if self.render is not None:
            return self.render(output.data if isinstance(output, PlainResult) else output)
        return compact_json(dump(output))

    @property
    def description(self) -> str:
        return " ".join((self.arguments.__doc__ or "").split())

    def parameters(self) -> dict[str, Any]:
        schema = self.arguments.model_json_schema()
        schema.pop("title", None)
        schema.pop("description", None)
        for field in schema.get("properties", {}).values():
            field.pop("title", None)
        return schema

    def parse(self, raw: str) -> BaseModel:
        """Validate raw JSON arguments; every problem comes back as one actionable message."""
        if not isinstance(raw, str):
            raise ToolArgumentError(
                f"{self.name}: arguments must be JSON text, got {type(raw).__name__}"
            )
        check_argument_size(self.name, raw)
        try:
            data = json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError as error:
            raise ToolArgumentError(
                f"{self.name}: arguments are not valid JSON ({error.msg} at position {error.pos}); "
                "send one JSON object, e.g. " + _example(self)
            ) from error
        if not isinstance(data, dict):
            raise ToolArgumentError(
                f"{self.name}: arguments must be a JSON object, e.g. {_example(self)}"
            )
        try:
            return self.arguments.model_validate(data)
        except ValidationError as error:
            problems = []
            for item in error.errors():
                where = ".".join(str(p) for p in item["loc"]) or "arguments"
                given = "" if item["type"] == "missing" else f" (got {_shown(item['input'])})"
                problems.append(f"{where}: {item['msg']}{given}")
            raise ToolArgumentError(f"{self.name}: " + "; ".join(problems)) from error

    def schema(self, fmt: SchemaFormat) -> dict[str, Any]:
        match fmt:
            case "openai":
                return {
                    "type": "function",
                    "function": {
                        "name": self.name,
                        "description": self.description,
                        "parameters": self.parameters(),
                    },
                }
            case "anthropic":
                return {
                    "name": self.name,
                    "description": self.description,
                    "input_schema": self.parameters(),
                }
            case "json":
                return {
                    "name": self.name,
                    "description": self.description,
                    "inputSchema": self.parameters(),
                }


def compact_json(payload: dict[str, Any]) -> str:
    """A payload as one line of JSON for a model: floats at four decimals, no timings or paths
    (plenty for reading results, and fewer tokens)."""
    return json.dumps(_rounded(payload), separators=(",", ":"), default=str)


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items() if k not in ("timings", "model_path")}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _shown(value: Any) -> str:
    """The offending value as the model sent it, clipped: an error must not echo 20 kB back."""
    text = repr(value)
    return text if len(text) <= _SHOWN_INPUT_CHARS else text[:_SHOWN_INPUT_CHARS] + "..."


def _example(tool: Tool) -> str:
    """The required fields, or (when a field is needed only sometimes, like train_model's
    symbol) the first one."""
    schema = tool.parameters()
    required = schema.get("required") or list(schema.get("properties", {}))[:1]
    return json.dumps({name: "..." for name in required})
