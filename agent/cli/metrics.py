"""The `--metrics-port`, `--metrics-host` and `--metrics-linger` options of the commands that run
sessions, and the Prometheus endpoint they open for as long as the command runs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer

from mltrainer.agent.cli.errors import errors, fail

MetricsPort = Annotated[
    int | None,
    typer.Option(
        min=1,
        max=65535,
        help="Serve Prometheus metrics on http://HOST:PORT/metrics while this runs.",
    ),
]
MetricsHost = Annotated[
    str, typer.Option(help="Address for --metrics-port; 0.0.0.0 exposes it to the network.")
]
MetricsLinger = Annotated[
    float,
    typer.Option(
        min=0,
        max=3600,
        help="Keep /metrics up this many seconds after the session ends, so a scraper "
        "(Prometheus scrapes every 15 s by default) reads its final values; Ctrl-C ends it.",
    ),
]


@contextmanager
def metrics_served(port: int | None, host: str, linger: float = 0.0) -> Iterator[None]:
    """/metrics on `host:port` for the block's life (nothing when `port` is None), then
    `linger` seconds more. A taken port is a one-line error before any work starts."""
    if port is None:
        yield
        return
    from mltrainer.agent.metrics import serve, stop_serving

    try:
        url = serve(port, host)
    except OSError as error:
        raise fail(f"cannot serve metrics on {host}:{port}: {error.strerror or error}") from error
    errors.print(f"Prometheus metrics on {url}", highlight=False)
    try:
        yield
    finally:
        try:
            if linger > 0:
                errors.print(f"Metrics stay up for {linger:g} s (Ctrl-C ends it now).")
                time.sleep(linger)
        except KeyboardInterrupt:
            pass  # Ctrl-C here only cuts the linger short; the session is already over
        finally:
            stop_serving(port, host)
