"""What the LLM sees: typed tools over the engine, exportable as OpenAI, Anthropic or JSON."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mltrainer.tools.base import SchemaFormat, Tool, ToolArgumentError
from mltrainer.tools.research import TOOLS

TOOLS_BY_NAME: dict[str, Tool] = {tool.name: tool for tool in TOOLS}


def get_tool(name: str, tools: Mapping[str, Tool] = TOOLS_BY_NAME) -> Tool:
    """The tool called `name`; an unknown name is an error the model can fix."""
    if name not in tools:
        raise ToolArgumentError(f"unknown tool '{name}'; tools are {', '.join(tools)}")
    return tools[name]


def export_schemas(fmt: SchemaFormat) -> list[dict[str, Any]]:
    return [tool.schema(fmt) for tool in TOOLS]


__all__ = [
    "TOOLS",
    "TOOLS_BY_NAME",
    "SchemaFormat",
    "Tool",
    "ToolArgumentError",
    "export_schemas",
    "get_tool",
]
