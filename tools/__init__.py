"""What the LLM sees: typed tools over the engine, exportable as OpenAI, Anthropic or JSON.

`TOOLS_BY_NAME` is the one tool registry (`tools/registry.py`); importing this package
registers the built-in research tools (`tools/research.py`) through `register_tool`, the door a
plugin's tools use too.
"""

from __future__ import annotations

from mltrainer.tools.base import SchemaFormat, Tool, ToolArgumentError, ToolContext
from mltrainer.tools.registry import (
    TOOLS_BY_NAME,
    export_schemas,
    get_tool,
    register_tool,
)
from mltrainer.tools.research import TOOLS

__all__ = [
    "TOOLS",
    "TOOLS_BY_NAME",
    "SchemaFormat",
    "Tool",
    "ToolArgumentError",
    "ToolContext",
    "export_schemas",
    "get_tool",
    "register_tool",
]
