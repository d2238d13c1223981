"""A whole research session with recognisable fake keys for every service, against the fake
Polygon/FRED server: fetches and trials that succeed and fail. Afterwards the keys must appear
nowhere: not in the transcript, the database, the logs, the summary or a saved model's path."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from mltrainer.agent.messages import AssistantTurn, ToolCall
from mltrainer.agent.providers import ScriptedProvider
from mltrainer.agent.session.runs import start_session
from mltrainer.engine.settings import load_settings
from tests.engine.data.market_fakes import FRED_KEY, POLYGON_KEY, FakeMarket

OPENAI_KEY = "sk-OPENAIKEY-SECRET-789-abcdefghijklmnop"
ANTHROPIC_KEY = "ANTHROPICKEY-SECRET-000"
KEYS = (POLYGON_KEY, FRED_KEY, OPENAI_KEY, ANTHROPIC_KEY)


def _call(number: int, name: str, **arguments: object) -> AssistantTurn:
    return AssistantTurn(
        text=f"step {number}",
        tool_calls=(ToolCall(f"call_{number}", name, json.dumps(arguments)),),
    )


@pytest.fixture
def market(monkeypatch: pytest.MonkeyPatch) -> FakeMarket:
    server = FakeMarket().start()
    monkeypatch.setenv("POLYGON_API_KEY", POLYGON_KEY)
    monkeypatch.setenv("FRED_API_KEY", FRED_KEY)
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", ANTHROPIC_KEY)
    monkeypatch.setenv("POLYGON_BASE_URL", server.url)
    monkeypatch.setenv("FRED_BASE_URL", server.url)
    monkeypatch.setenv("POLYGON_REQUESTS_PER_MINUTE", "100000")
    monkeypatch.setenv("FRED_REQUESTS_PER_MINUTE", "100000")
    monkeypatch.setenv("MLTRAINER_HTTP_ATTEMPTS", "1")
    yield server
    server.stop()


def test_keys_never_reach_transcript_database_logs_or_summary(
    market: FakeMarket, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    window = {"start": "2012-01-01", "end": "2016-12-31"}
    turns = [
        _call(1, "fetch_data", symbol="MSFT", source="polygon", **window),
        _call(2, "fetch_data", symbol="GDPC1", kind="series"),
        _call(
            3,
            "train_model",
            symbol="MSFT",
            source="polygon",
            model="logistic_regression",
            macro=["GDPC1"],
            **window,
        ),
        AssistantTurn(text=f"my key is {OPENAI_KEY}; train naive bayes on MSFT, 1500 days"),
        _call(
            5, "fetch_data", symbol="AAPL", source="polygon", start="2010-01-01", end="2010-06-30"
        ),
        _call(6, "finish", conclusion="done"),
    ]
    settings = load_settings()

    class RevokingProvider(ScriptedProvider):
        """Revokes the Polygon key before turn 5, so the fetches from then on fail with 401."""

        async def complete(self, **kwargs: Any) -> AssistantTurn:
            turn = await super().complete(**kwargs)
            if turn.text == "step 5":
                market.polygon_key = "revoked"
            return turn

    summary = asyncio.run(
        start_session(RevokingProvider(turns), f"goal with {ANTHROPIC_KEY}", settings=settings)
    )

    transcript = Path(str(summary.transcript)).read_text()
    events = [json.loads(line) for line in transcript.splitlines()]
    runs = {e["call_id"]: e["payload"] for e in events if e["event"] == "tool_run"}
    assert runs["call_3"]["status"] == "success"
    assert runs["call_3"]["macro_provenance"][0]["source"] == "fred"
    assert runs["call_5"]["status"] == "error"
    assert "[REDACTED]" in transcript
    database = b"".join(p.read_bytes() for p in settings.home.glob("mltrainer.db*") if p.is_file())
    saved = " ".join(str(p) for p in settings.models_dir.rglob("*"))
    for key in KEYS:
        assert key not in transcript
        assert key.encode() not in database
        assert key not in caplog.text
        assert key not in repr(summary)
        assert key not in saved
