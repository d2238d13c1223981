"""`mltrainer ui`: its help, a clear error where Streamlit is not installed, the refusal to serve
beyond loopback without the flag and a token, and (on a real server) the Host names its
WebSocket accepts. The app itself is tested through AppTest and a real browser in
tests/agent/ui/."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mltrainer.agent.cli.app import app
from tests.agent.ui.serving import served_ui, websocket_status

runner = CliRunner()


def test_ui_without_streamlit_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "streamlit" else real(name, *a),
    )

    result = runner.invoke(app, ["ui"])

    assert result.exit_code == 1
    assert "the UI needs Streamlit: pip install 'mltrainer[ui]'" in result.output


def test_ui_help_names_host_and_port_and_the_local_default():
    result = runner.invoke(app, ["ui", "--help"])

    assert result.exit_code == 0
    assert "--host" in result.output and "--port" in result.output
    assert "127.0.0.1" in result.output


def test_ui_beyond_loopback_without_the_flag_is_refused_before_streamlit_starts():
    result = runner.invoke(app, ["ui", "--host", "0.0.0.0"])

    assert result.exit_code == 1
    assert "error: --host 0.0.0.0 serves the UI beyond this machine; pass --allow-remote" in (
        result.output
    )


def test_ui_beyond_loopback_with_the_flag_but_no_token_is_refused():
    result = runner.invoke(app, ["ui", "--host", "0.0.0.0", "--allow-remote"])

    assert result.exit_code == 1
    assert "so visitors must enter a token: set MLTRAINER_UI_TOKEN" in result.output


def test_the_allow_remote_variable_is_the_flag(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MLTRAINER_UI_ALLOW_REMOTE", "1")

    result = runner.invoke(app, ["ui", "--host", "0.0.0.0"])

    assert result.exit_code == 1
    assert "so visitors must enter a token" in result.output


def test_ui_with_an_unreadable_token_file_is_refused_on_loopback_too(tmp_path: Path):
    result = runner.invoke(app, ["ui", "--token-file", str(tmp_path / "ui-token")])

    assert result.exit_code == 1
    assert "cannot read the UI token file" in result.output
    assert "No such file or directory" in result.output


@pytest.mark.slow
def test_on_loopback_only_this_machines_host_names_reach_the_app(tmp_path: Path):
    with served_ui([], tmp_path / "ui.log", {}) as url:
        port = url.rsplit(":", 1)[1]
        statuses = {
            host: websocket_status(url, f"{host}:{port}")
            for host in ("127.0.0.1", "localhost", "[::1]", "rebound.example")
        }

    assert statuses == {"127.0.0.1": 101, "localhost": 101, "[::1]": 101, "rebound.example": 403}


@pytest.mark.slow
def test_beyond_loopback_it_serves_with_a_token_and_the_named_hosts(tmp_path: Path):
    token = tmp_path / "ui-token"
    token.write_text("k3R9-vX2q_Lm8PzT4wYb\n", encoding="utf-8")
    arguments = ["--host", "0.0.0.0", "--allow-remote", "--token-file", str(token)]

    with served_ui(
        [*arguments, "--allowed-host", "chat.example.com"], tmp_path / "ui.log", {}
    ) as url:
        statuses = {
            host: websocket_status(url, host) for host in ("chat.example.com", "other.example")
        }

    assert statuses == {"chat.example.com": 101, "other.example": 403}
