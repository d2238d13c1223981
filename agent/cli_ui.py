"""`mltrainer ui`: the Streamlit app (Chat, Trials, Sessions), served on 127.0.0.1 by default."""

from __future__ import annotations

import importlib.util
from typing import Annotated

import typer

from mltrainer.agent.cli import _fail


def ui(
    host: Annotated[
        str, typer.Option(help="Address to serve on; 0.0.0.0 exposes it to the network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8501,
) -> None:
    """Open the chat, trials and sessions pages in the browser (Streamlit). Sessions run in
    the server; a page reload or a second tab reattaches to the running one. Direct mode (no
    LLM, the bridge reads your words) is the default when no LLM key is set.

    Example: mltrainer ui --port 8502
    """
    if importlib.util.find_spec("streamlit") is None:
        raise _fail("the UI needs Streamlit: pip install 'mltrainer[ui]'")
    from importlib import resources

    from streamlit.web import cli as streamlit_cli

    app = resources.files("mltrainer.agent.ui").joinpath("app.py")
    arguments = [
        "run",
        str(app),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "minimal",
    ]
    streamlit_cli.main(arguments, prog_name="mltrainer ui")
