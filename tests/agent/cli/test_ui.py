"""`mltrainer ui`: its help, and a clear error where Streamlit is not installed. The app itself is
tested through AppTest and a real browser in tests/agent/ui/."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from mltrainer.agent.cli.app import app

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
