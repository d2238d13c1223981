"""The fake LLM server, started once per test and shut down after it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.agent.providers.fake_llm_server import FakeLLMServer


@pytest.fixture
def fake_llm(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLMServer]:
    # A proxy configured on the machine must not capture requests to the local server.
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    server = FakeLLMServer()
    yield server
    server.close()
