"""`mltrainer mcp`: beyond loopback it requires a bearer token, generating and printing one
when none is set; the network options are refused on stdio."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

import mltrainer.agent.mcp.server as server
from mltrainer.agent.cli.app import app

runner = CliRunner()
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "probe", "version": "1"},
    },
}
HEADERS = {"accept": "application/json, text/event-stream", "host": "127.0.0.1:8000"}


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The app `mltrainer mcp --http` would serve, kept instead of served."""
    apps: list[Any] = []

    async def keep(app: Any, host: str, port: int) -> None:
        apps.append(app)

    monkeypatch.setattr(server, "serve_http", keep)
    return apps


def test_beyond_loopback_a_token_is_generated_printed_once_and_required(served: list[Any]):
    result = runner.invoke(app, ["mcp", "--http", "--host", "0.0.0.0"])

    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if "generated and shown this once" in x)
    token = line.rsplit(": ", 1)[1]
    assert "bearer token required" in result.output
    with TestClient(served[0], base_url="http://127.0.0.1:8000") as client:
        without = client.post("/mcp", json=INITIALIZE, headers=HEADERS)
        wrong = client.post(
            "/mcp", json=INITIALIZE, headers={**HEADERS, "authorization": "Bearer " + "x" * 40}
        )
        right = client.post(
            "/mcp", json=INITIALIZE, headers={**HEADERS, "authorization": f"Bearer {token}"}
        )
    assert (without.status_code, wrong.status_code, right.status_code) == (401, 401, 200)


def test_the_token_from_the_environment_is_not_printed(
    served: list[Any], monkeypatch: pytest.MonkeyPatch
):
    token = "env-token-0123456789abcdef"
    monkeypatch.setenv("MLTRAINER_MCP_TOKEN", token)

    result = runner.invoke(app, ["mcp", "--http", "--host", "0.0.0.0"])

    assert result.exit_code == 0, result.output
    assert token not in result.output
    assert "bearer token required" in result.output


def test_on_loopback_no_token_is_needed(served: list[Any]):
    result = runner.invoke(app, ["mcp", "--http"])

    assert result.exit_code == 0, result.output
    assert "no token (loopback only)" in result.output


@pytest.mark.parametrize("option", [["--auth"], ["--allowed-host", "mcp.example.org"]])
def test_network_options_are_refused_on_stdio(option: list[str]):
    result = runner.invoke(app, ["mcp", *option])

    assert result.exit_code != 0
    assert "are for --http; stdio has no network" in result.output
