"""What a tool is: a pydantic argument model (the schema an LLM reads) and a handler.

Exported as OpenAI function tools, Anthropic tools, or plain JSON from the same models.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ValidationError

from mltrainer.engine.errors import MLTrainerError

if TYPE_CHECKING:
    from mltrainer.engine.service import ResearchService

SchemaFormat = Literal["openai", "anthropic", "json"]


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
    name: str
    arguments: type[BaseModel]
    handler: Callable[[ToolContext, Any], dict[str, Any]]
    ends_session: bool = False

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
                given = "" if item["type"] == "missing" else f" (got {item['input']!r})"
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


def _example(tool: Tool) -> str:
    required = tool.parameters().get("required", [])
    sample = {name: "..." for name in required}
    return json.dumps(sample)
