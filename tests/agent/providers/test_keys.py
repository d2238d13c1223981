"""A provider's key goes only to its own API host, or where the user sends it on purpose."""

from __future__ import annotations

import pytest

from mltrainer.agent.providers.base import ProviderConfigError
from mltrainer.agent.providers.keys import KeyRoute, key_for_server, same_server

HOME = "https://api.openai.com/v1"


@pytest.mark.parametrize(
    ("url", "same"),
    [
        ("https://api.openai.com/v1", True),
        ("https://API.openai.com/v1/", True),
        ("https://api.openai.com:443/v2", True),
        ("http://api.openai.com/v1", False),
        ("https://api.openai.com:8443/v1", False),
        ("https://api.openai.com.evil.example/v1", False),
        ("https://api.openai.com@evil.example/v1", False),
        ("https://user@api.openai.com/v1", False),
        ("https://evil.example/api.openai.com/v1", False),
        ("https://api.openai.com:notaport/v1", False),
        ("http://127.0.0.1:11434/v1", False),
    ],
)
def test_only_the_providers_own_host_is_its_server(url: str, same: bool) -> None:
    assert same_server(url, HOME) is same


def test_the_home_api_gets_the_providers_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-home-0000000000")

    key = key_for_server(base_url=HOME, home_url=HOME, key_env="OPENAI_API_KEY", given=None)

    assert key == "sk-home-0000000000"


def test_another_server_gets_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-home-0000000000")

    key = key_for_server(
        base_url="https://api.openai.com.evil.example/v1",
        home_url=HOME,
        key_env="OPENAI_API_KEY",
        given=None,
    )

    assert key is None


def test_a_variable_the_user_names_must_be_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEWAY_KEY", raising=False)

    with pytest.raises(ProviderConfigError, match="names GATEWAY_KEY, which is not set"):
        key_for_server(
            base_url="https://gateway.example/v1",
            home_url=HOME,
            key_env="OPENAI_API_KEY",
            given=None,
            route=KeyRoute(key_env="GATEWAY_KEY"),
        )


def test_sending_the_providers_key_needs_it_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)

    with pytest.raises(ProviderConfigError, match="OPENAI_API_KEY is not set"):
        key_for_server(
            base_url="https://gateway.example/v1",
            home_url=HOME,
            key_env="OPENAI_API_KEY",
            given=None,
            route=KeyRoute(send_provider_key=True),
        )


def test_a_route_is_one_key_or_the_other() -> None:
    with pytest.raises(ProviderConfigError, match="not both"):
        KeyRoute(send_provider_key=True, key_env="GATEWAY_KEY")


def test_a_key_variable_must_be_a_variable_name() -> None:
    with pytest.raises(ProviderConfigError, match=r"name of an environment variable .* got '\$X'"):
        KeyRoute(key_env="$X")
