"""`mltrainer ui`: the Streamlit app (Chat, Trials, Sessions), served on 127.0.0.1 by default."""

from __future__ import annotations

import importlib.util
from typing import Annotated

import typer

from mltrainer.agent.cli.errors import fail
from mltrainer.agent.cli.metrics import MetricsHost, MetricsPort, metrics_served


def ui(
    host: Annotated[
        str, typer.Option(help="Address to serve on; 0.0.0.0 exposes it to the network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8501,
    metrics_port: MetricsPort = None,
    metrics_host: MetricsHost = "127.0.0.1",
) -> None:
    """Open the chat, trials and sessions pages in the browser (Streamlit). Sessions run in
    the server; a page reload or a second tab reattaches to the running one. Direct mode (no
    LLM, the bridge reads your words) is the default when no LLM key is set.

    With --metrics-port, the sessions the UI runs are counted on a Prometheus /metrics
    endpoint served by the same process.

    Example: mltrainer ui --port 8502 --metrics-port 9464
    """
    if importlib.util.find_spec("streamlit") is None:
        raise fail("the UI needs Streamlit: pip install 'mltrainer[ui]'")
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
    with metrics_served(metrics_port, metrics_host):
        streamlit_cli.main(arguments, prog_name="mltrainer ui")
