"""Who may reach the UI: what counts as loopback, where the token comes from and what a bad one
says, the constant-time comparison, and the bind rule `mltrainer ui` and the app entry share."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from mltrainer.agent.ui.access import (
    UIAccessError,
    check_bind,
    is_loopback,
    token_digest,
    token_matches,
    ui_token,
)

TOKEN = "k3R9-vX2q_Lm8PzT4wYb"


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "LocalHost", " 127.0.0.1 "]
)
def test_loopback_addresses_and_localhost_are_loopback(host):
    assert is_loopback(host) is True


@pytest.mark.parametrize(
    "host",
    [None, "", "0.0.0.0", "::", "192.168.1.20", "10.0.0.5", "example.com", "localhost.example.com"],
)
def test_every_interface_other_addresses_and_host_names_are_beyond_loopback(host):
    assert is_loopback(host) is False


def test_no_token_is_none():
    assert ui_token() is None


def test_the_token_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("MLTRAINER_UI_TOKEN", TOKEN)

    assert ui_token() == SecretStr(TOKEN)


def test_the_token_comes_from_dotenv_in_the_working_directory():
    Path(".env").write_text(f"MLTRAINER_UI_TOKEN={TOKEN}\n", encoding="utf-8")

    assert ui_token() == SecretStr(TOKEN)


def test_the_token_file_gives_its_first_line(monkeypatch, tmp_path):
    held = tmp_path / "ui-token"
    held.write_text(f"  {TOKEN}  \nsecond line\n", encoding="utf-8")
    monkeypatch.setenv("MLTRAINER_UI_TOKEN_FILE", str(held))

    assert ui_token() == SecretStr(TOKEN)


def test_an_empty_token_variable_is_no_token(monkeypatch):
    monkeypatch.setenv("MLTRAINER_UI_TOKEN", "")

    assert ui_token() is None


def test_a_token_and_a_token_file_together_are_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("MLTRAINER_UI_TOKEN", TOKEN)
    monkeypatch.setenv("MLTRAINER_UI_TOKEN_FILE", str(tmp_path / "ui-token"))

    with pytest.raises(
        UIAccessError, match="set MLTRAINER_UI_TOKEN or MLTRAINER_UI_TOKEN_FILE, not both"
    ):
        ui_token()


def test_a_missing_token_file_names_the_file_and_the_reason(monkeypatch, tmp_path):
    missing = tmp_path / "nowhere" / "ui-token"
    monkeypatch.setenv("MLTRAINER_UI_TOKEN_FILE", str(missing))

    with pytest.raises(
        UIAccessError,
        match=rf"cannot read the UI token file {missing} \(MLTRAINER_UI_TOKEN_FILE\): "
        "No such file or directory",
    ):
        ui_token()


def test_a_short_token_is_refused_without_showing_it(monkeypatch):
    monkeypatch.setenv("MLTRAINER_UI_TOKEN", "hunter2hunter2")

    with pytest.raises(
        UIAccessError,
        match=r"the UI token in MLTRAINER_UI_TOKEN has 14 characters; use at least 16 "
        r"\(make one with: python3 -c 'import secrets; print\(secrets.token_urlsafe\(24\)\)'\)",
    ) as raised:
        ui_token()
    assert "hunter2" not in str(raised.value)


def test_the_right_token_matches():
    assert token_matches(TOKEN, SecretStr(TOKEN)) is True


def test_surrounding_spaces_of_a_pasted_token_do_not_matter():
    assert token_matches(f" {TOKEN}\n", SecretStr(TOKEN)) is True


@pytest.mark.parametrize("given", ["", TOKEN[:-1], TOKEN + "x", TOKEN.upper(), "wrong"])
def test_anything_else_does_not_match(given):
    assert token_matches(given, SecretStr(TOKEN)) is False


def test_a_new_token_has_a_new_digest():
    assert token_digest(SecretStr(TOKEN)) != token_digest(SecretStr(TOKEN + "2"))
    assert TOKEN not in token_digest(SecretStr(TOKEN))


def test_loopback_needs_no_token():
    assert check_bind("127.0.0.1", allow_remote=False) is None


def test_a_token_set_for_loopback_is_used_there_too(monkeypatch):
    monkeypatch.setenv("MLTRAINER_UI_TOKEN", TOKEN)

    assert check_bind("127.0.0.1", allow_remote=False) == SecretStr(TOKEN)


def test_beyond_loopback_without_the_flag_is_refused_even_with_a_token(monkeypatch):
    monkeypatch.setenv("MLTRAINER_UI_TOKEN", TOKEN)

    with pytest.raises(
        UIAccessError,
        match=r"--host 0.0.0.0 serves the UI beyond this machine; pass --allow-remote \(or set "
        r"MLTRAINER_UI_ALLOW_REMOTE=1\) to mean it",
    ):
        check_bind("0.0.0.0", allow_remote=False)


def test_beyond_loopback_with_the_flag_but_no_token_is_refused():
    with pytest.raises(
        UIAccessError,
        match=r"--host 192\.168\.1\.20 serves the UI beyond this machine, so visitors must "
        "enter a token: set MLTRAINER_UI_TOKEN",
    ):
        check_bind("192.168.1.20", allow_remote=True)


def test_beyond_loopback_with_the_flag_and_a_token_serves_with_it(monkeypatch):
    monkeypatch.setenv("MLTRAINER_UI_TOKEN", TOKEN)

    assert check_bind("0.0.0.0", allow_remote=True) == SecretStr(TOKEN)
