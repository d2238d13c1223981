"""What the LLM sees: typed tools over the engine, exportable as OpenAI, Anthropic or JSON."""

from __future__ import annotations

from typing import Any

from mltrainer.tools.base import SchemaFormat, Tool, ToolArgumentError
from mltrainer.tools.research import TOOLS

TOOLS_BY_NAME: dict[str, Tool] = {tool.name: tool for tool in TOOLS}


def get_tool(name: str) -> Tool:
    if name not in TOOLS_BY_NAME:
        raise ToolArgumentError(f"unknown tool '{name}'; tools are {', '.join(TOOLS_BY_NAME)}")
    return TOOLS_BY_NAME[name]


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
