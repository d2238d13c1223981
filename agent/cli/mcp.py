"""`mltrainer mcp`: the research tools as an MCP server, over stdio or streamable HTTP."""

from __future__ import annotations

from typing import Annotated

import typer

from mltrainer.agent.cli.errors import errors, load_cli_settings, run_reported


def mcp(
    http: Annotated[
        bool, typer.Option("--http", help="Serve streamable HTTP on /mcp instead of stdio.")
    ] = False,
    host: Annotated[
        str, typer.Option(help="Address for --http; 0.0.0.0 exposes it to the network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port for --http.")] = 8000,
) -> None:
    """Serve the research tools (the ones `mltrainer tools` prints) to any MCP client. Results
    carry the short text a model reads and the full JSON payload as structured content; a
    long trial sends progress notifications. With --http, Prometheus metrics are on /metrics.
    The server process is one research session in the ledger.

    Example (Claude Desktop, Cursor, any stdio client): mltrainer mcp

    Example (HTTP): mltrainer mcp --http --port 8000   # then http://127.0.0.1:8000/mcp
    """
    import asyncio

    from mltrainer.agent.mcp.server import ResearchTools, serve_http, serve_stdio
    from mltrainer.agent.session.runs import new_session_id
    from mltrainer.agent.session.state import registered_tools

    settings = load_cli_settings()
    session_id = "mcp-" + new_session_id()
    tools = {tool.name: tool for tool in run_reported(registered_tools)}
    transport = "HTTP" if http else "stdio"
    research = run_reported(lambda: ResearchTools(settings, tools, session_id, transport=transport))
    where = f"http://{host}:{port}/mcp (metrics on /metrics)" if http else "stdio"
    errors.print(f"mltrainer MCP server on {where}; session {session_id}", highlight=False)
    try:
        if http:
            asyncio.run(serve_http(research, host, port))
        else:
            asyncio.run(serve_stdio(research))
    finally:
        research.close("MCP server stopped")
