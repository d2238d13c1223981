"""The agent side: providers, the bridge, the loop, transcripts, the CLI and the MCP server.

The public API, by use:

- run a session: `start_session`, `resume_session`, `replay_session`, `Budgets`,
  `SessionSummary`, `SessionControl`;
- bring a model: `Provider` (subclass it), `FunctionProvider` (a function of the conversation),
  `ScriptedProvider` (fixed turns), `register_provider` (buildable by name);
- the messages a provider reads and writes: `AssistantTurn`, `ToolCall`, `ToolSpec`,
  `UserMessage`, `ToolResults`, `ToolResult`, `Usage`;
- add a tool: `Tool`, `ToolContext`, `register_tool`; a model: `ModelSpec`, `ParamBound`,
  `register_model`; a data source: `register_source`; plugins: `load_plugins`;
- the seed's facade: `MLTrainer` (the rest of the seed's dict API is in `mltrainer.agent.seed`).

Names resolve on first use, so `import mltrainer.agent` pulls in no ML library.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mltrainer.agent.messages import (
        AssistantTurn,
        ToolCall,
        ToolResult,
        ToolResults,
        ToolSpec,
        Usage,
        UserMessage,
    )
    from mltrainer.agent.plugins import load_plugins
    from mltrainer.agent.providers import (
        FunctionInfo,
        FunctionProvider,
        Provider,
        ScriptedProvider,
        register_provider,
    )
    from mltrainer.agent.seed import MLTrainer
    from mltrainer.agent.session.loop import SessionSummary
    from mltrainer.agent.session.runs import replay_session, resume_session, start_session
    from mltrainer.agent.session.state import Budgets, SessionControl
    from mltrainer.engine.data.catalog import register_source
    from mltrainer.engine.models import ModelSpec, ParamBound, register_model
    from mltrainer.tools import Tool, ToolContext, register_tool

_WHERE = {
    "start_session": "mltrainer.agent.session.runs",
    "resume_session": "mltrainer.agent.session.runs",
    "replay_session": "mltrainer.agent.session.runs",
    "Budgets": "mltrainer.agent.session.state",
    "SessionControl": "mltrainer.agent.session.state",
    "SessionSummary": "mltrainer.agent.session.loop",
    "Provider": "mltrainer.agent.providers",
    "FunctionProvider": "mltrainer.agent.providers",
    "FunctionInfo": "mltrainer.agent.providers",
    "ScriptedProvider": "mltrainer.agent.providers",
    "register_provider": "mltrainer.agent.providers",
    "AssistantTurn": "mltrainer.agent.messages",
    "ToolCall": "mltrainer.agent.messages",
    "ToolSpec": "mltrainer.agent.messages",
    "UserMessage": "mltrainer.agent.messages",
    "ToolResults": "mltrainer.agent.messages",
    "ToolResult": "mltrainer.agent.messages",
    "Usage": "mltrainer.agent.messages",
    "Tool": "mltrainer.tools",
    "ToolContext": "mltrainer.tools",
    "register_tool": "mltrainer.tools",
    "load_plugins": "mltrainer.agent.plugins",
    "register_model": "mltrainer.engine.models",
    "register_source": "mltrainer.engine.data.catalog",
    "ModelSpec": "mltrainer.engine.models",
    "ParamBound": "mltrainer.engine.models",
    "MLTrainer": "mltrainer.agent.seed",
}

__all__ = [
    "AssistantTurn",
    "Budgets",
    "FunctionInfo",
    "FunctionProvider",
    "MLTrainer",
    "ModelSpec",
    "ParamBound",
    "Provider",
    "ScriptedProvider",
    "SessionControl",
    "SessionSummary",
    "Tool",
    "ToolCall",
    "ToolContext",
    "ToolResult",
    "ToolResults",
    "ToolSpec",
    "Usage",
    "UserMessage",
    "load_plugins",
    "register_model",
    "register_provider",
    "register_source",
    "register_tool",
    "replay_session",
    "resume_session",
    "start_session",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
