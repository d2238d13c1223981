"""The MCP server's bearer tokens (environment, file, generated) and Host/Origin allow-lists."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from mltrainer.agent.mcp.auth import (
    AuthConfigError,
    StaticTokens,
    Tokens,
    is_loopback,
    load_tokens,
    transport_security,
)

TOKEN = "tok-0123456789abcdef-XYZ"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("mcp.example.org", False),
    ],
)
def test_only_loopback_addresses_keep_the_server_on_this_machine(host: str, loopback: bool):
    assert is_loopback(host) is loopback


def test_the_token_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MLTRAINER_MCP_TOKEN", TOKEN)

    assert load_tokens(None) == Tokens({TOKEN: "default"})


def test_a_short_token_is_refused_with_how_to_make_one(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MLTRAINER_MCP_TOKEN", "secret")

    with pytest.raises(AuthConfigError, match=r"is 6 characters .* use at least 16"):
        load_tokens(None)


def test_a_token_file_names_its_callers(tmp_path: Path):
    path = tmp_path / "tokens"
    path.write_text(f"# who may call\nalice {TOKEN}-a\n\nbob {TOKEN}-b\n")

    assert load_tokens(path).callers == {f"{TOKEN}-a": "alice", f"{TOKEN}-b": "bob"}


def test_the_token_file_can_come_from_its_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "tokens"
    path.write_text(TOKEN + "\n")
    monkeypatch.setenv("MLTRAINER_MCP_TOKEN_FILE", str(path))

    assert load_tokens(None).callers == {TOKEN: "default"}


def test_a_named_file_that_is_absent_is_created_with_a_generated_token(tmp_path: Path):
    path = tmp_path / "secrets" / "mcp-token"

    tokens = load_tokens(path)

    assert tokens.generated is not None and len(tokens.generated) >= 32
    assert tokens.written_to == path
    assert path.read_text() == tokens.generated + "\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_tokens(path).callers == {tokens.generated: "default"}  # kept for a restart


def test_without_any_token_one_is_generated_and_not_saved():
    tokens = load_tokens(None)

    assert tokens.generated is not None
    assert tokens.written_to is None
    assert tokens.callers == {tokens.generated: "default"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "holds no token"),
        ("a b c\n", "a line is a token, or a caller's name"),
        (f"al/ice {TOKEN}\n", "a line is a token, or a caller's name"),
        (f"alice {TOKEN}\nbob {TOKEN}\n", "already in the file"),
        ("alice short\n", "line 1 is 5 characters"),
    ],
)
def test_a_bad_token_file_says_what_is_wrong(tmp_path: Path, content: str, message: str):
    path = tmp_path / "tokens"
    path.write_text(content)

    with pytest.raises(AuthConfigError, match=message):
        load_tokens(path)


async def test_a_token_is_its_callers_and_any_other_is_none():
    verifier = StaticTokens(Tokens({f"{TOKEN}-a": "alice", f"{TOKEN}-b": "bob"}))

    alice = await verifier.verify_token(f"{TOKEN}-a")

    assert alice is not None and alice.client_id == "alice"
    assert await verifier.verify_token(f"{TOKEN}-c") is None
    assert await verifier.verify_token("") is None


def test_every_bind_address_checks_host_and_origin():
    security = transport_security("0.0.0.0", ["mcp.example.org"])

    assert security.enable_dns_rebinding_protection
    assert "127.0.0.1:*" in security.allowed_hosts
    assert "mcp.example.org" in security.allowed_hosts
    assert "mcp.example.org:*" in security.allowed_hosts
    assert "0.0.0.0" not in " ".join(security.allowed_hosts)
    assert "https://mcp.example.org" in security.allowed_origins


def test_a_single_bind_address_is_allowed_as_its_own_host():
    security = transport_security("10.0.0.5", [])

    assert "10.0.0.5:*" in security.allowed_hosts
