"""`mltrainer mcp`: the research tools as an MCP server, over stdio or streamable HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mltrainer.agent.cli.errors import errors, fail, load_cli_settings, run_reported


def mcp(
    http: Annotated[
        bool, typer.Option("--http", help="Serve streamable HTTP on /mcp instead of stdio.")
    ] = False,
    host: Annotated[
        str,
        typer.Option(
            help="Address for --http. Anything but loopback (0.0.0.0, a LAN address) needs a "
            "bearer token: MLTRAINER_MCP_TOKEN, or --token-file; else one is generated and "
            "printed once."
        ),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port for --http.")] = 8000,
    token_file: Annotated[
        Path | None,
        typer.Option(
            help="File of bearer tokens, one per line, each optionally named ('alice TOKEN'); "
            "created with a generated token when absent. Default: MLTRAINER_MCP_TOKEN_FILE."
        ),
    ] = None,
    auth: Annotated[
        bool,
        typer.Option(
            "--auth",
            help="Require the bearer token on a loopback address too (always on beyond loopback).",
        ),
    ] = False,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            help="A Host (NAME or NAME:PORT) callers may use besides loopback, e.g. the "
            "server's DNS name; repeat for more. Default: MLTRAINER_MCP_ALLOWED_HOSTS.",
        ),
    ] = None,
    share_trials: Annotated[
        bool,
        typer.Option(
            "--share-trials",
            help="Let every caller read and finalize any trial in the data home (by default a "
            "caller reaches only its own session's trials).",
        ),
    ] = False,
    call_seconds: Annotated[
        float,
        typer.Option(
            min=1,
            max=24 * 3600,
            help="Deadline of each tool call; a caller may ask for less with _meta "
            '{"mltrainer/timeout_seconds": N}.',
        ),
    ] = 900.0,
) -> None:
    """Serve the research tools (the ones `mltrainer tools` prints) to any MCP client. Results
    carry the short text a model reads and the full JSON payload as structured content; a
    long trial sends progress notifications. With --http, Prometheus metrics are on /metrics.
    Each caller (the stdio client, or each token's caller over HTTP) is a research session of
    its own in the ledger. docs/security.md says what to set before exposing it.

    Example (Claude Desktop, Cursor, any stdio client): mltrainer mcp

    Example (HTTP): mltrainer mcp --http --port 8000   # then http://127.0.0.1:8000/mcp
    """
    import asyncio

    from mltrainer.agent.mcp.auth import allowed_hosts, load_tokens
    from mltrainer.agent.mcp.auth import transport_security as security_for
    from mltrainer.agent.mcp.server import ResearchTools, http_app, serve_http, serve_stdio
    from mltrainer.agent.session.runs import new_session_id
    from mltrainer.agent.session.state import registered_tools
    from mltrainer.engine.binding import is_loopback

    if not http and (auth or token_file or allowed_hosts(allowed_host or [])):
        raise fail("--auth, --token-file and --allowed-host are for --http; stdio has no network")
    settings = load_cli_settings()
    session_id = "mcp-" + new_session_id()
    tools = {tool.name: tool for tool in run_reported(registered_tools)}
    tokens = (
        run_reported(lambda: load_tokens(token_file))
        if http and (auth or not is_loopback(host))
        else None
    )
    research = run_reported(
        lambda: ResearchTools(
            settings,
            tools,
            session_id,
            transport="HTTP" if http else "stdio",
            share_trials=share_trials,
            call_seconds=call_seconds,
        )
    )
    try:
        if not http:
            errors.print(f"mltrainer MCP server on stdio; session {session_id}", highlight=False)
            asyncio.run(serve_stdio(research))
            return
        shown = f"[{host}]" if ":" in host else host
        url = f"http://{shown}:{port}"
        app = http_app(
            research,
            security=security_for(host, allowed_hosts(allowed_host or [])),
            tokens=tokens,
            url=url,
        )
        if tokens is not None and tokens.generated is not None:
            kept = f" (saved in {tokens.written_to})" if tokens.written_to else " (not saved)"
            errors.print(
                f"MCP bearer token, generated and shown this once{kept}: {tokens.generated}",
                highlight=False,
                markup=False,
            )
        guarded = "bearer token required" if tokens is not None else "no token (loopback only)"
        errors.print(
            f"mltrainer MCP server on {url}/mcp ({guarded}; metrics on /metrics); sessions "
            f"{session_id}[-CALLER]",
            highlight=False,
            markup=False,
        )
        asyncio.run(serve_http(app, host, port))
    finally:
        research.close("MCP server stopped")
