"""`--send-key-to-base-url` and `--base-url-key-env`: what a custom `--base-url` may receive.
By default it receives no key; the provider's own API alone gets the provider's key."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from mltrainer.agent.cli.errors import run_reported

if TYPE_CHECKING:
    from mltrainer.agent.providers.keys import KeyRoute

SendKeyOption = Annotated[
    bool,
    typer.Option(
        "--send-key-to-base-url",
        help="Send the provider's own key (OPENAI_API_KEY, ANTHROPIC_API_KEY) to --base-url, "
        "e.g. a gateway that forwards to the provider. Without this (or --base-url-key-env) "
        "a custom server gets no key.",
    ),
]
KeyEnvOption = Annotated[
    str | None,
    typer.Option(
        "--base-url-key-env",
        metavar="NAME",
        help="The environment variable (or .env entry) holding the key for --base-url: the "
        "server gets that key, its own, and never the provider's.",
    ),
]


def key_route(send_provider_key: bool, key_env: str | None) -> KeyRoute:
    """The options as a `KeyRoute`; a contradiction is a one-line error."""
    from mltrainer.agent.providers.keys import KeyRoute

    return run_reported(lambda: KeyRoute(send_provider_key=send_provider_key, key_env=key_env))
