"""The check `make image-test` runs against the container's MCP server, run here against
`mltrainer mcp --http` on this machine: it passes when the server requires its token (as on any
address beyond loopback, and with --auth), and fails, saying so, when the server answers a
caller without one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.agent.ui.serving import free_port

CHECK = Path(__file__).resolve().parents[2] / "deploy" / "container" / "mcp_check.py"
TOKEN = "q7Zt-2mWx_9LpR4vKc8NbY3s"

pytestmark = pytest.mark.slow


@contextmanager
def served_mcp(arguments: list[str], log: Path) -> Iterator[str]:
    """`mltrainer mcp --http ARGUMENTS` on a free loopback port until the block ends."""
    port = free_port()
    command = [str(Path(sys.executable).parent / "mltrainer"), "mcp", "--http", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, *arguments],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "NO_PROXY": "127.0.0.1"},
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None, log.read_text()
                try:
                    urllib.request.urlopen(f"{url}/metrics", timeout=2).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, "mltrainer mcp did not answer in 60 s"
                    time.sleep(0.3)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=30)


def run_check(url: str, token_file: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECK), url, "--token-file", str(token_file)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_PROXY": "127.0.0.1"},
    )


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "mcp-token"
    path.write_text(f"# the image test's caller\n{TOKEN}\n", encoding="utf-8")
    return path


def test_the_mcp_check_passes_a_server_that_requires_its_token(
    isolated_home: Path, tmp_path: Path, token_file: Path
):
    with served_mcp(["--auth", "--token-file", str(token_file)], tmp_path / "mcp.log") as url:
        checked = run_check(url, token_file)

    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.splitlines() == [
        f"mcp: {url}/metrics answers without a token",
        f"mcp: {url}/mcp refuses an initialize request with no token (401)",
        f"mcp: {url}/mcp refuses an initialize request with a wrong token (401)",
        f"mcp: {url}/mcp answers an initialize request with the token (200)",
    ]
    assert TOKEN not in (tmp_path / "mcp.log").read_text()


def test_the_mcp_check_fails_a_server_that_answers_without_a_token(
    isolated_home: Path, tmp_path: Path, token_file: Path
):
    with served_mcp([], tmp_path / "mcp.log") as url:
        checked = run_check(url, token_file)

    assert checked.returncode == 1
    assert checked.stderr == (
        f"mcp check failed: {url}/mcp answered 200 to an initialize request with no token, "
        "not 401: it does not require its bearer token\n"
    )
