"""The chat form and the operator's keys: a visitor (who entered the token) picks a provider, a
model and, for an OpenAI-compatible server, a base URL; the operator's key goes to no server a
visitor names. The server here is the fake LLM server on 127.0.0.1, speaking the real wire
format, so what the SDK sends is read from the request itself."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.agent.providers.fake_llm_server import FAKE_KEY, FakeLLMServer, chat_completion
from tests.agent.ui.apptest import rerun_until


@pytest.fixture
def visitors_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLMServer]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    server = FakeLLMServer()
    server.always(chat_completion(content="I have nothing to add."))
    yield server
    server.close()


def test_the_providers_with_the_operators_key_offer_no_base_url_field(app, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    monkeypatch.setenv("ANTHROPIC_API_KEY", FAKE_KEY)
    at = app().run()

    fields = {}
    for provider in ("openai", "anthropic"):
        at.sidebar.selectbox(key="provider").select(provider).run()
        fields[provider] = [t.label for t in at.sidebar.text_input]

    assert fields == {"openai": ["Model"], "anthropic": ["Model"]}


def test_a_base_url_a_visitor_types_never_receives_the_operators_key(
    app, monkeypatch, visitors_server
):
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    at = app().run()
    at.sidebar.selectbox(key="provider").select("compatible").run()
    (base_url,) = [t for t in at.sidebar.text_input if t.label == "Base URL"]
    base_url.set_value(f"{visitors_server.url}/v1").run()

    at.chat_input(key="chat-input").set_value("Find an edge in SPX.").run()
    rerun_until(at, lambda _: bool(visitors_server.requests))

    sent = visitors_server.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert all(FAKE_KEY not in value for value in sent.headers.values())
    assert FAKE_KEY not in str(sent.body)
