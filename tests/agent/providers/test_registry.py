"""The provider registry: the built-ins are registered through `register_provider` with what
the surfaces read (label, key variable, default model, what each needs), a taken name is
refused unless replaced, and an entry refuses to build without what it needs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mltrainer.agent.providers import FunctionProvider, ProviderConfigError, ScriptedProvider
from mltrainer.agent.providers.direct import DirectProvider
from mltrainer.agent.providers.registry import (
    PROVIDERS,
    provider_entries,
    provider_entry,
    provider_keys,
    register_provider,
    speaks_for_a_person,
)


@pytest.fixture
def registry() -> Iterator[None]:
    saved = dict(PROVIDERS)
    yield
    PROVIDERS.clear()
    PROVIDERS.update(saved)


def echo(*, model: str, base_url: str | None = None) -> FunctionProvider:
    return FunctionProvider(lambda messages, info: "hello", model=model)


def test_the_built_ins_carry_what_the_surfaces_read():
    built_in = [
        (e.name, e.label, e.key_env, e.default_model, e.needs)
        for e in provider_entries()
        if e.name in ("direct", "openai", "anthropic", "compatible", "scripted", "replay")
    ]

    assert built_in == [
        ("direct", "Direct (no LLM)", None, "person", "person"),
        ("openai", "OpenAI", "OPENAI_API_KEY", "gpt-4.1-mini", None),
        ("anthropic", "Anthropic", "ANTHROPIC_API_KEY", "claude-haiku-4-5", None),
        ("compatible", "OpenAI-compatible server", None, "qwen2.5", "base_url"),
        ("scripted", "Scripted: a turns file", None, "scripted", "script"),
        ("replay", "Replay: a transcript", None, None, "transcript"),
    ]
    assert provider_entry("compatible").default_base_url == "http://127.0.0.1:11434/v1"


def test_a_built_in_name_is_taken_like_any_other(registry: None):
    with pytest.raises(ValueError, match="a provider called 'openai' is already registered"):
        register_provider("openai", echo)


def test_replace_swaps_a_registered_provider(registry: None):
    register_provider("echo", echo, default_model="echo-1")
    register_provider("echo", echo, default_model="echo-2", replace=True)

    assert provider_entry("echo").build().model == "echo-2"


def test_a_registered_provider_gets_a_label_and_builds_with_the_model_asked_for(registry: None):
    register_provider("echo", echo)

    entry = provider_entry("echo")

    assert (entry.label, entry.needs, entry.chooses_model) == ("echo", None, True)
    assert entry.build(model="echo-7").model == "echo-7"


def test_a_provider_that_chooses_a_model_refuses_to_build_without_one(registry: None):
    register_provider("echo", echo)

    with pytest.raises(ProviderConfigError, match="name a model for the echo provider"):
        provider_entry("echo").build()


def test_an_unknown_need_is_refused_naming_the_known_ones(registry: None):
    with pytest.raises(ValueError, match="needs='gpu' is not one of: script, transcript"):
        register_provider("echo", echo, needs="gpu")  # type: ignore[arg-type]


def test_an_entry_refuses_to_build_without_what_it_needs():
    with pytest.raises(ProviderConfigError, match=r"compatible provider needs the base URL"):
        provider_entry("compatible").build(model="qwen2.5")


def test_a_scripted_entry_gets_its_script(tmp_path: Path):
    script = tmp_path / "turns.yaml"
    script.write_text("- Train a random forest on SPX.\n", encoding="utf-8")

    provider = provider_entry("scripted").build(script=script)

    assert isinstance(provider, ScriptedProvider)
    assert (provider.model, len(provider.turns)) == ("scripted", 1)


def test_the_direct_entry_builds_a_person_s_provider():
    provider = provider_entry("direct").build()

    assert isinstance(provider, DirectProvider)
    assert provider.model == "person"
    assert speaks_for_a_person("direct") is True
    assert speaks_for_a_person("openai") is False
    assert speaks_for_a_person("a-provider-nobody-installed") is False


def test_an_unknown_name_lists_what_a_command_can_start():
    with pytest.raises(ProviderConfigError) as refused:
        provider_entry("gemini")

    assert str(refused.value) == (
        "unknown provider 'gemini'; choose one of: openai, anthropic, compatible, scripted, replay"
    )


def test_the_keys_of_registered_providers_are_known_for_redaction(
    registry: None, monkeypatch: pytest.MonkeyPatch
):
    register_provider("echo", echo, key_env="ECHO_API_KEY")
    monkeypatch.setenv("ECHO_API_KEY", "echo-secret-123")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "anthropic-secret-456")

    assert sorted(provider_keys()) == ["anthropic-secret-456", "echo-secret-123"]


def test_a_key_in_dot_env_counts(registry: None, tmp_path: Path):
    register_provider("echo", echo, key_env="ECHO_API_KEY")
    (tmp_path / ".env").write_text("ECHO_API_KEY=from-dot-env\n", encoding="utf-8")

    assert provider_entry("echo").key() == "from-dot-env"
