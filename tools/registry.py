"""The one tool registry: the built-in research tools (registered by `tools/research.py`) and
whatever `register_tool` adds (a caller, or an installed plugin's entry point), in the order
they were registered. A session takes its tool set from here unless it is given one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from mltrainer.tools.base import SchemaFormat, Tool, ToolArgumentError

TOOLS_BY_NAME: dict[str, Tool] = {}
# What both LLM APIs accept as a function name.
_TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def register_tool(tool: Tool, *, replace: bool = False) -> Tool:
    """Add `tool` to the registry (returned, so this works as a one-liner). A name already
    taken is refused unless `replace` is set: two tools under one name would be ambiguous
    to a model."""
    if not isinstance(tool, Tool):
        raise TypeError(f"register_tool takes a mltrainer.tools.Tool, got {type(tool).__name__}")
    if not _TOOL_NAME.fullmatch(tool.name):
        raise ValueError(
            f"tool name {tool.name!r} is not 1 to 64 letters, digits, '_' or '-' (what the LLM "
            "APIs accept)"
        )
    if tool.name in TOOLS_BY_NAME and not replace and TOOLS_BY_NAME[tool.name] != tool:
        raise ValueError(
            f"a tool called {tool.name!r} is already registered; choose another name or pass "
            "replace=True"
        )
    TOOLS_BY_NAME[tool.name] = tool
    return tool


def get_tool(name: str, tools: Mapping[str, Tool] = TOOLS_BY_NAME) -> Tool:
    """The tool called `name`; an unknown name is an error the model can fix."""
    if name not in tools:
        raise ToolArgumentError(f"unknown tool '{name}'; tools are {', '.join(tools)}")
    return tools[name]


def export_schemas(
    fmt: SchemaFormat, tools: Mapping[str, Tool] = TOOLS_BY_NAME
) -> list[dict[str, Any]]:
    return [tool.schema(fmt) for tool in tools.values()]
