"""What reaches the terminal from a model is redacted and shortened; the transcript keeps it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mltrainer.agent.cli.app import app
from mltrainer.agent.cli.screen import SCREEN_CHARS, on_screen
from mltrainer.engine.redaction import register_secrets

runner = CliRunner()
CANARY = "canary-key-0f1e2d3c4b5a69788796"


def test_short_text_is_shown_as_it_is() -> None:
    assert on_screen("Trial 3 beats the baseline.") == "Trial 3 beats the baseline."


def test_long_text_is_cut_with_a_note_of_what_the_transcript_holds() -> None:
    shown = on_screen("x" * 10_000, limit=100)

    assert shown == "x" * 100 + " [... 9,900 more characters, all in the transcript]"


def test_a_registered_secret_is_redacted() -> None:
    register_secrets([CANARY])

    assert on_screen(f"my key is {CANARY}") == "my key is [REDACTED]"


def test_a_secret_across_the_cut_shows_none_of_itself() -> None:
    register_secrets([CANARY])

    shown = on_screen("y" * 95 + CANARY + "y" * 1000, limit=100)

    assert CANARY[:5] not in shown
    assert shown.startswith("y" * 95 + "[RED")


def test_a_key_shape_is_redacted_without_being_registered() -> None:
    assert on_screen("use sk-proj-abcdefghijklmnopqrstuvwx") == "use [REDACTED]"


def test_the_default_screen_length() -> None:
    assert SCREEN_CHARS == 2000


def test_a_key_the_model_echoes_never_reaches_the_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack: a canary key echoed by the model was printed 3 times (its text, a tool's
    error, the conclusion)."""
    monkeypatch.setenv("OPENAI_API_KEY", CANARY)
    script = tmp_path / "turns.json"
    script.write_text(
        json.dumps(
            [
                {"text": f"I found your key: {CANARY}"},
                {"tool_calls": [{"name": "fetch_data", "arguments": {"symbol": CANARY}}]},
                {
                    "tool_calls": [
                        {"name": "finish", "arguments": {"conclusion": f"The key is {CANARY}"}}
                    ]
                },
            ]
        )
    )

    result = runner.invoke(
        app,
        ["run", "--goal", "Is SPX predictable?", "--provider", "scripted", "--script", str(script)],
    )

    assert "Session ended: finished" in result.stdout
    assert CANARY not in result.output
    assert result.output.count("[REDACTED]") >= 2
