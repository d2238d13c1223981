"""Which key goes to which server: a provider's key only to that provider's own API host.

A base URL can come from a flag, a transcript, a UI visitor or a colleague's script, so naming
a server must not be enough to receive the operator's OPENAI_API_KEY or ANTHROPIC_API_KEY.
Another server gets no key, unless the user says so for it: its own key from a variable they
name (`--base-url-key-env NAME`), or the provider's key sent on purpose
(`--send-key-to-base-url`, for a gateway that forwards to the provider). A key passed in code
(`OpenAIProvider(api_key=...)`) is the caller's choice and goes where the caller sends it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from mltrainer.agent.providers.base import ProviderConfigError
from mltrainer.engine.redaction import redact_text
from mltrainer.engine.settings import env_secret

_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_DEFAULT_PORTS = {"https": 443, "http": 80}


@dataclass(frozen=True)
class KeyRoute:
    """What the user allowed for a custom base URL: send the provider's own key there
    (`send_provider_key`), or the key in the variable `key_env`. Neither: no key."""

    send_provider_key: bool = False
    key_env: str | None = None

    def __post_init__(self) -> None:
        if self.send_provider_key and self.key_env:
            raise ProviderConfigError(
                "give a custom server either its own key (--base-url-key-env) or yours "
                "(--send-key-to-base-url), not both"
            )
        if self.key_env is not None and not _VARIABLE.fullmatch(self.key_env):
            raise ProviderConfigError(
                f"--base-url-key-env takes the name of an environment variable (letters, "
                f"digits and _), got {self.key_env!r}"
            )

    @property
    def allows_a_key(self) -> bool:
        return self.send_provider_key or self.key_env is not None


NO_KEY_ROUTE = KeyRoute()


def same_server(url: str, home: str) -> bool:
    """Whether `url` reaches the host `home` names: same scheme, host and port (the path may
    differ). `https://api.openai.com.evil.example` and `https://api.openai.com@evil.example`
    are other hosts."""
    try:
        given, own = urlsplit(url.strip()), urlsplit(home)
        given_port = given.port or _DEFAULT_PORTS.get(given.scheme.lower())
    except ValueError:  # an unparseable port is not the provider's host
        return False
    return (
        given.scheme.lower() == own.scheme.lower()
        and (given.hostname or "") == own.hostname
        and given.username is None
        and given_port == (own.port or _DEFAULT_PORTS.get(own.scheme.lower()))
    )


def key_for_server(
    *,
    base_url: str,
    home_url: str,
    key_env: str,
    given: str | None,
    route: KeyRoute = NO_KEY_ROUTE,
) -> str | None:
    """The key to send to `base_url`, or None for no key.

    `home_url` is the provider's own API, which gets the key in `key_env`; `given` is a key
    passed in code, and a variable the route names holds the key for this server (the home
    API's too: a second project key, say). `ProviderConfigError` when the key that would be
    sent is not set."""
    if given:
        return given
    if route.key_env is not None:
        key = _read(route.key_env)
        if key is None:
            raise ProviderConfigError(
                f"--base-url-key-env names {route.key_env}, which is not set (environment or "
                f".env); set it to the key of {redact_text(base_url)}"
            )
        return key
    if same_server(base_url, home_url) or route.send_provider_key:
        key = _read(key_env)
        if key is None:
            raise ProviderConfigError(
                f"{key_env} is not set: put it in the environment or in .env, or work offline "
                "with `mltrainer demo` or `mltrainer run --provider scripted`"
            )
        return key
    return None


def no_key_hint(key_env: str, home_url: str) -> str:
    """What a server that refused a keyless request (401/403) is told about keys."""
    host = urlsplit(home_url).hostname
    return (
        f"mltrainer sent it no key ({key_env} goes only to {host}): give this server its own "
        f"key with --base-url-key-env NAME, or send {key_env} with --send-key-to-base-url"
    )


def _read(variable: str) -> str | None:
    secret = env_secret(variable)
    value = secret.get_secret_value() if secret is not None else ""
    return value or None
