"""`mltrainer ui` as a real server in a subprocess: a free port, Streamlit's health endpoint to
wait on, a stop that must succeed, and a WebSocket handshake as a browser page would open it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_healthy(url: str, server: subprocess.Popen[bytes], seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"mltrainer ui exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"mltrainer ui did not answer on {url} within {seconds:.0f} s")


@contextmanager
def served_ui(arguments: list[str], log: Path, environment: dict[str, str]) -> Iterator[str]:
    """`mltrainer ui ARGUMENTS` until the block ends; yields its URL on 127.0.0.1."""
    port = free_port()
    command = [str(Path(sys.executable).parent / "mltrainer"), "ui", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, *arguments],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_PROXY": "127.0.0.1", **environment},
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(url, process)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)
                raise AssertionError("mltrainer ui did not stop within 30 s of SIGTERM") from None


def websocket_status(url: str, host: str) -> int:
    """The HTTP status of the app's WebSocket handshake sent with `Host: host` (101 when the
    server accepts the connection)."""
    address = url.removeprefix("http://")
    name, port = address.rsplit(":", 1)
    request = (
        "GET /_stcore/stream HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        "Connection: Upgrade\r\n"
        "Upgrade: websocket\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Protocol: streamlit\r\n\r\n"
    )
    with socket.create_connection((name, int(port)), timeout=10) as connection:
        connection.sendall(request.encode())
        status_line = connection.recv(4096).split(b"\r\n", 1)[0].decode()
    return int(status_line.split()[1])
