"""`mltrainer ui`: the Streamlit app (Chat, Trials, Sessions), served on 127.0.0.1 by default;
beyond it only with `--allow-remote` and a token visitors must enter (`agent/ui/access.py`)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Annotated

import typer

from mltrainer.agent.cli.errors import fail, run_reported
from mltrainer.agent.cli.metrics import MetricsHost, MetricsPort, metrics_served
from mltrainer.agent.ui.access import (
    ALLOW_REMOTE_ENV,
    LOOPBACK_HOSTS,
    TOKEN_FILE_ENV,
    check_bind,
)
from mltrainer.engine.binding import is_loopback


def ui(
    host: Annotated[
        str,
        typer.Option(
            help="Address to serve on; anything but loopback (0.0.0.0 exposes it to the "
            "network) needs --allow-remote and a token in MLTRAINER_UI_TOKEN."
        ),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8501,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            envvar=ALLOW_REMOTE_ENV,
            help="Mean it: serve on an address beyond loopback. Visitors then enter the token "
            "set in MLTRAINER_UI_TOKEN (or the file named by MLTRAINER_UI_TOKEN_FILE) before "
            "any page shows; without a token the UI does not start.",
        ),
    ] = False,
    token_file: Annotated[
        Path | None,
        typer.Option(
            help="A file whose first line is the token visitors enter (instead of "
            "MLTRAINER_UI_TOKEN; the same as setting MLTRAINER_UI_TOKEN_FILE).",
        ),
    ] = None,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allowed-host",
            help="A host name browsers use to reach the UI, accepted besides localhost, "
            "127.0.0.1 and ::1 on a loopback bind (any Host is accepted beyond loopback unless "
            "this is given). Repeat for several.",
        ),
    ] = None,
    metrics_port: MetricsPort = None,
    metrics_host: MetricsHost = "127.0.0.1",
) -> None:
    """Open the chat, trials and sessions pages in the browser (Streamlit). Sessions run in
    the server; a page reload or a second tab reattaches to the running one. Direct mode (no
    LLM, the bridge reads your words) is the default when no LLM key is set.

    With --metrics-port, the sessions the UI runs are counted on a Prometheus /metrics
    endpoint served by the same process.

    Example: mltrainer ui --port 8502 --metrics-port 9464

    In a container (or to serve a team):
    MLTRAINER_UI_TOKEN=... mltrainer ui --host 0.0.0.0 --port 8501 --allow-remote
    """
    if importlib.util.find_spec("streamlit") is None:
        raise fail("the UI needs Streamlit: pip install 'mltrainer[ui]'")
    if token_file is not None:
        # The app reads the token on every page load, in this process: the environment is
        # how this option reaches it.
        os.environ[TOKEN_FILE_ENV] = str(token_file.expanduser().resolve())
    run_reported(lambda: check_bind(host, allow_remote=allow_remote))
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
    for name in accepted_hosts(host, allowed_host or []):
        arguments += ["--server.allowedHosts", name]
    with metrics_served(metrics_port, metrics_host):
        streamlit_cli.main(arguments, prog_name="mltrainer ui")


def accepted_hosts(host: str, named: list[str]) -> list[str]:
    """The Host names the UI's WebSocket accepts: on loopback this machine's names (so another
    site's page cannot reach the UI by rebinding its DNS name to 127.0.0.1) plus those named;
    beyond loopback those named, or any when none are (the token guards it there)."""
    if is_loopback(host):
        return [*LOOPBACK_HOSTS, *named]
    return named
