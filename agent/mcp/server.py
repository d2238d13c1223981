"""The research tools over the Model Context Protocol, so any MCP host (Claude Desktop, Cursor,
pydantic-ai, the OpenAI Agents SDK) can call them: stdio, or streamable HTTP with `/metrics`.

Thin by design: a call goes through the same `LiveExecutor` the agent loop uses (argument
validation, the handler over a `ResearchService`, the short text for a model), and the result
carries that text plus the same JSON payload as structured content. The engine's progress
(fold i of k) becomes the protocol's progress notifications.

Each caller has a research session of its own in the ledger (its trials, its looks at locked
holdouts): the one client of a stdio server, or each caller a token names over HTTP
(`auth.py`). A call that names a recorded trial of any other session (this server's other
callers, a CLI or UI session in the same data home) is refused, unless the server was started
to share trials. Every call has a deadline, the server's or a shorter one the caller asks for
in the request's `_meta`, and is stopped when the client goes away (`LiveExecutor`).
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

import mcp_types as types
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.settings import AuthSettings
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mltrainer.agent.bridge import Bridge
from mltrainer.agent.mcp.auth import DEFAULT_CALLER, StaticTokens, Tokens
from mltrainer.agent.messages import ToolCall
from mltrainer.agent.session.dispatch import LiveExecutor
from mltrainer.agent.session.progress import ProgressHook, ToolEvent, ToolProgress
from mltrainer.engine.errors import ConfigError
from mltrainer.engine.runner import CODE_VERSION
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import Settings
from mltrainer.engine.trial import ErrorResult
from mltrainer.tools import Tool, ToolArgumentError
from mltrainer.tools.results import dump

SERVER_NAME = "mltrainer"
INSTRUCTIONS = (
    "Honest machine-learning research on market data. Start with list_sources, list_models "
    "and fetch_data; train_model scores one configuration out of sample on the selection "
    "segment; compare_trials ranks this session's trials with multiple-testing corrections; "
    "finalize looks once at a dataset's locked holdout. Report holdout numbers, not the best "
    "selection number."
)
# A call's deadline unless the caller asks for a shorter one: `_meta` key and the defaults.
DEADLINE_META = "mltrainer/timeout_seconds"
DEFAULT_CALL_SECONDS = 900.0
# The argument fields through which a tool names recorded trials (evaluate_trial, compare_trials,
# finalize, finish, and any plugin tool that uses the same names).
TRIAL_FIELDS = ("trial", "trials", "model_id", "best_trial")


@dataclass
class CallerSession:
    """One caller's research session: its trials and holdout looks, and the bridge's memory."""

    session_id: str
    service: ResearchService
    bridge: Bridge


class ResearchTools:
    """The tool set, answered the way the agent loop answers it, one research session per
    caller. `share_trials` lets every caller read and finalize any trial in the data home;
    `call_seconds` is a call's deadline, and the longest one a caller may ask for."""

    def __init__(
        self,
        settings: Settings,
        tools: Mapping[str, Tool],
        session_id: str,
        *,
        share_trials: bool = False,
        call_seconds: float = DEFAULT_CALL_SECONDS,
    ) -> None:
        self.settings = settings
        self.tools = dict(tools)
        self.session_id = session_id
        self.share_trials = share_trials
        self.call_seconds = call_seconds
        self._callers: dict[str, CallerSession] = {}
        self._lock = threading.Lock()
        self.caller(DEFAULT_CALLER)  # a data home that cannot be used fails at start-up

    def caller(self, name: str) -> CallerSession:
        """The research session of the caller called `name` (made on its first call)."""
        with self._lock:
            if name not in self._callers:
                session_id = (
                    self.session_id if name == DEFAULT_CALLER else f"{self.session_id}-{name}"
                )
                service = ResearchService(self.settings, session=session_id)
                self._callers[name] = CallerSession(session_id, service, Bridge())
            return self._callers[name]

    def specs(self) -> list[types.Tool]:
        return [
            types.Tool(name=tool.name, description=tool.description, input_schema=tool.parameters())
            for tool in self.tools.values()
        ]

    async def call(
        self,
        name: str,
        arguments: Mapping[str, Any] | None,
        progress: ProgressHook | None = None,
        *,
        caller: str = DEFAULT_CALLER,
        meta: Mapping[str, Any] | None = None,
    ) -> types.CallToolResult:
        """Run one call for `caller` within its deadline; a mistake in it (or a trial of
        another session) comes back as an error result the caller can fix."""
        session = self.caller(caller)
        raw = json.dumps(dict(arguments or {}))
        try:
            seconds = self._seconds(meta)
            self._check_trials_named(session, name, raw)
        except ToolArgumentError as error:
            return _refused(name, "invalid_call", str(error))
        except NotYourTrial as error:
            return _refused(name, "not_this_sessions_trial", str(error))
        call = ToolCall(id=f"mcp-{secrets.token_hex(6)}", name=name, arguments=raw)
        executor = LiveExecutor(session.service, progress=progress, tools=self.tools)
        run = (await executor.execute([call], deadline=time.time() + seconds)).runs[0]
        session.bridge.observe_tool_run(run.output, run.arguments)
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=run.result.content)],
            structured_content=dump(run.output),
            is_error=run.result.is_error,
        )

    def _seconds(self, meta: Mapping[str, Any] | None) -> float:
        """The call's deadline in seconds: the server's, or a shorter one from `_meta`."""
        asked = (meta or {}).get(DEADLINE_META)
        if asked is None:
            return self.call_seconds
        if (
            isinstance(asked, bool)
            or not isinstance(asked, int | float)
            or not math.isfinite(asked)
            or not 0 < asked <= self.call_seconds
        ):
            raise ToolArgumentError(
                f"_meta {DEADLINE_META} must be a number of seconds above 0 and at most "
                f"{self.call_seconds:g} (this server's limit), got {asked!r}"
            )
        return float(asked)

    def _check_trials_named(self, session: CallerSession, name: str, raw: str) -> None:
        """`NotYourTrial` when the call names a recorded trial of another session; a call
        that does not parse is left to the executor, which says what to fix."""
        tool = self.tools.get(name)
        if self.share_trials or tool is None:
            return
        try:
            parsed = tool.parse(raw)
        except ToolArgumentError:
            return
        for key in trials_named(parsed):
            try:
                owner = session.service.trial_session(key)
            except ConfigError:
                continue  # no such trial: the tool itself says so
            if owner != session.session_id:
                raise NotYourTrial(
                    f"trial {key!r} was recorded by another research session, and this server "
                    "keeps each caller to its own trials (its operator can start it with "
                    "--share-trials). Use a trial this session trained"
                )


class NotYourTrial(Exception):
    """A call names a recorded trial of another research session."""


def trials_named(arguments: BaseModel) -> list[int | str]:
    """The recorded trials a call's validated arguments point at (`TRIAL_FIELDS`)."""
    named: list[int | str] = []
    for field in TRIAL_FIELDS:
        value = getattr(arguments, field, None)
        if isinstance(value, list):
            named.extend(item for item in value if isinstance(item, int | str))
        elif isinstance(value, int | str) and not isinstance(value, bool):
            named.append(value)
    return named


def _refused(name: str, kind: str, message: str) -> types.CallToolResult:
    error = ErrorResult(type=kind, error=message)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=f"ERROR from {name}: {message}")],
        structured_content=dump(error),
        is_error=True,
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


def caller_of(ctx: ServerRequestContext[Any]) -> str:
    """The caller a request comes from: the name its bearer token has, or the one caller of a
    server without tokens (stdio, a loopback bind)."""
    user = ctx.request.scope.get("user") if isinstance(ctx.request, Request) else None
    if isinstance(user, AuthenticatedUser):
        return user.access_token.client_id
    token = get_access_token()
    return token.client_id if token is not None else DEFAULT_CALLER


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
        meta = (
            params.meta.model_dump(by_alias=True)
            if isinstance(params.meta, BaseModel)
            else params.meta
        )
        result = await research.call(
            params.name, params.arguments, hook, caller=caller_of(ctx), meta=meta
        )
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


class _HostAndOrigin:
    """The Host and Origin checks on every path (`/metrics` too), before anything answers."""

    def __init__(self, app: ASGIApp, security: TransportSecuritySettings) -> None:
        self.app = app
        self.check = TransportSecurityMiddleware(security)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refused = await self.check.validate_request(Request(scope, receive))
            if refused is not None:
                await refused(scope, receive, send)
                return
        await self.app(scope, receive, send)


def http_app(
    research: ResearchTools,
    *,
    security: TransportSecuritySettings,
    tokens: Tokens | None,
    url: str,
) -> ASGIApp:
    """Streamable HTTP on `/mcp` and Prometheus metrics (the default registry) on `/metrics`,
    Host and Origin checked on both; with `tokens`, `/mcp` answers only a bearer token's
    caller (the SDK's bearer middleware; `url` stands as the issuer, since the server issues
    its tokens itself and runs no OAuth routes)."""
    server = build_server(research)
    auth = AuthSettings(issuer_url=url, resource_server_url=None) if tokens else None  # type: ignore[arg-type]
    app: Starlette = server.streamable_http_app(
        host="0.0.0.0",  # the SDK's loopback guess is replaced by `security`, on every address
        transport_security=security,
        auth=auth,
        token_verifier=StaticTokens(tokens) if tokens else None,
        custom_starlette_routes=[Route("/metrics", endpoint=_MetricsEndpoint())],
    )
    return _HostAndOrigin(app, security)


async def serve_http(app: ASGIApp, host: str, port: int) -> None:
    import uvicorn

    config = uvicorn.Config(app, host=host, port=port, log_level="warning")
    await uvicorn.Server(config).serve()
