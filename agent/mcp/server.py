"""The research tools over the Model Context Protocol, so any MCP host (Claude Desktop, Cursor,
pydantic-ai, the OpenAI Agents SDK) can call them: stdio, or streamable HTTP with `/metrics`.

Thin by design: a call goes through the same `LiveExecutor` the agent loop uses (argument
validation, the handler over a `ResearchService`, the short text for a model), and the result
carries that text plus the same JSON payload as structured content. The engine's progress
(fold i of k) becomes the protocol's progress notifications. One server process is one
research session in the ledger (its trials, its looks at locked holdouts).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any

import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from mltrainer.agent.bridge import Bridge
from mltrainer.agent.messages import ToolCall
from mltrainer.agent.session.dispatch import LiveExecutor
from mltrainer.agent.session.progress import ProgressHook, ToolEvent, ToolProgress
from mltrainer.engine.runner import CODE_VERSION
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import Settings
from mltrainer.tools import Tool
from mltrainer.tools.results import dump

SERVER_NAME = "mltrainer"
INSTRUCTIONS = (
    "Honest machine-learning research on market data. Start with list_sources, list_models "
    "and fetch_data; train_model scores one configuration out of sample on the selection "
    "segment; compare_trials ranks this session's trials with multiple-testing corrections; "
    "finalize looks once at a dataset's locked holdout. Report holdout numbers, not the best "
    "selection number."
)


class ResearchTools:
    """The tool set of one research session, answered the way the agent loop answers it."""

    def __init__(self, settings: Settings, tools: Mapping[str, Tool], session_id: str) -> None:
        self.service = ResearchService(settings, session=session_id)
        self.bridge = Bridge()
        self.tools = dict(tools)
        self.session_id = session_id

    def specs(self) -> list[types.Tool]:
        return [
            types.Tool(name=tool.name, description=tool.description, input_schema=tool.parameters())
            for tool in self.tools.values()
        ]

    async def call(
        self, name: str, arguments: Mapping[str, Any] | None, progress: ProgressHook | None = None
    ) -> types.CallToolResult:
        """Run one call; a mistake in it comes back as an error result the caller can fix."""
        call = ToolCall(
            id=f"mcp-{secrets.token_hex(6)}",
            name=name,
            arguments=json.dumps(dict(arguments or {})),
        )
        executor = LiveExecutor(self.service, progress=progress, tools=self.tools)
        run = (await executor.execute([call])).runs[0]
        self.bridge.observe_tool_run(run.output, run.arguments)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=run.result.content)],
            structured_content=dump(run.output),
            is_error=run.result.is_error,
        )


def progress_notifier(
    ctx: ServerRequestContext[Any], loop: asyncio.AbstractEventLoop, sent: list[Future[None]]
) -> ProgressHook:
    """Engine progress (reported from the worker thread a tool runs in) as MCP progress
    notifications for this request; a count of steps so the value only grows, as the protocol
    requires, and the stage in the message ("walk-forward fold 2 of 5")."""
    steps = 0

    def hook(event: ToolEvent) -> None:
        nonlocal steps
        if not isinstance(event, ToolProgress):
            return
        steps += 1
        message = f"{event.name}: {event.stage} {event.done} of {event.total}"
        sent.append(
            asyncio.run_coroutine_threadsafe(
                ctx.session.report_progress(steps, None, message), loop
            )
        )

    return hook


def build_server(research: ResearchTools) -> Server[Any]:
    async def list_tools(
        ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        return types.ListToolsResult(tools=research.specs())

    async def call_tool(
        ctx: ServerRequestContext[Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        sent: list[Future[None]] = []
        hook = progress_notifier(ctx, asyncio.get_running_loop(), sent)
        result = await research.call(params.name, params.arguments, hook)
        # Every notification goes out before the result that ends the request.
        for future in sent:
            await asyncio.wrap_future(future)
        return result

    return Server(
        SERVER_NAME,
        version=CODE_VERSION,
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


async def serve_stdio(research: ResearchTools) -> None:
    server = build_server(research)
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


class _MetricsEndpoint:
    """prometheus-client's ASGI app at exactly `/metrics` (a class, so Starlette routes to it
    as an ASGI app; mounted, `/metrics` would answer with a redirect to `/metrics/`)."""

    def __init__(self) -> None:
        from prometheus_client import make_asgi_app

        self.app = make_asgi_app()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def http_app(research: ResearchTools, host: str) -> Starlette:
    """Streamable HTTP on `/mcp` and Prometheus metrics (the default registry) on `/metrics`.
    On a loopback host the SDK also checks Host and Origin headers (DNS-rebinding defence)."""
    server = build_server(research)
    return server.streamable_http_app(
        host=host, custom_starlette_routes=[Route("/metrics", endpoint=_MetricsEndpoint())]
    )


async def serve_http(research: ResearchTools, host: str, port: int) -> None:
    import uvicorn

    config = uvicorn.Config(http_app(research, host), host=host, port=port, log_level="warning")
    await uvicorn.Server(config).serve()
