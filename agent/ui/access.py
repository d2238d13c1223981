"""Who may reach the UI. Bound to loopback, only this machine can; bound beyond it, only a
visitor who enters the operator's token, and only when the operator asked for that bind.

No Streamlit here: `mltrainer ui` applies the same rule before it starts Streamlit, and the app
entry (`login.py`) applies it again on every page load, so `streamlit run` on the app file
cannot skip it.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from mltrainer.engine.binding import is_loopback
from mltrainer.engine.errors import MLTrainerError

TOKEN_ENV = "MLTRAINER_UI_TOKEN"
TOKEN_FILE_ENV = "MLTRAINER_UI_TOKEN_FILE"
ALLOW_REMOTE_ENV = "MLTRAINER_UI_ALLOW_REMOTE"
# 16 characters of `secrets.token_urlsafe` are 96 bits: out of reach of guessing, even with
# many browser tabs trying at once.
MIN_TOKEN_LENGTH = 16
MAKE_A_TOKEN = "python3 -c 'import secrets; print(secrets.token_urlsafe(24))'"
# The names a browser on this machine uses for a loopback server; a Host header naming
# anything else is another site's page (DNS rebinding) and is refused.
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


class UIAccessError(MLTrainerError):
    """The UI cannot be served as asked: a bind beyond loopback without the flag or a token,
    or a token that is unreadable or too short."""


def ui_token() -> SecretStr | None:
    """The token the operator set for the UI: `MLTRAINER_UI_TOKEN`, or the first line of the
    file named by `MLTRAINER_UI_TOKEN_FILE` (either from the environment or `.env`, as the MCP
    server reads its own); None when neither is set."""
    configured = _token_settings()()
    if configured.token is not None and configured.token_file is not None:
        raise UIAccessError(f"set {TOKEN_ENV} or {TOKEN_FILE_ENV}, not both")
    if configured.token_file is not None:
        try:
            text = configured.token_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
            raise UIAccessError(
                f"cannot read the UI token file {configured.token_file} ({TOKEN_FILE_ENV}): "
                f"{reason or error}"
            ) from error
        first_line = text.splitlines()[0] if text.strip() else ""
        where, token = f"the file {configured.token_file} ({TOKEN_FILE_ENV})", first_line.strip()
    elif configured.token is not None:
        where, token = TOKEN_ENV, configured.token.get_secret_value().strip()
    else:
        return None
    if len(token) < MIN_TOKEN_LENGTH:
        raise UIAccessError(
            f"the UI token in {where} has {len(token)} characters; use at least "
            f"{MIN_TOKEN_LENGTH} (make one with: {MAKE_A_TOKEN})"
        )
    return SecretStr(token)


@cache
def _token_settings() -> Any:
    """The settings class reading the token, built on first use: pydantic-settings is not
    imported for `mltrainer --help`."""
    from pydantic import Field
    from pydantic_settings import BaseSettings, SettingsConfigDict

    class TokenSettings(BaseSettings):
        # An empty variable (`-e MLTRAINER_UI_TOKEN=`) is no token, not one of length 0.
        model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)

        token: SecretStr | None = Field(default=None, validation_alias=TOKEN_ENV)
        token_file: Path | None = Field(default=None, validation_alias=TOKEN_FILE_ENV)

    return TokenSettings


def token_digest(token: SecretStr) -> str:
    """What a browser session keeps to remember it was let in: a changed token (a rewritten
    token file) lets no one in on the old one."""
    return hashlib.sha256(token.get_secret_value().encode()).hexdigest()


def token_matches(given: str, token: SecretStr) -> bool:
    """Whether `given` is the token, compared in constant time over equal-length digests so
    neither the content nor the length of the token leaks through timing."""
    given_digest = hashlib.sha256(given.strip().encode()).digest()
    expected = hashlib.sha256(token.get_secret_value().encode()).digest()
    return hmac.compare_digest(given_digest, expected)


def check_bind(host: str, *, allow_remote: bool) -> SecretStr | None:
    """The token for serving on `host`, or `UIAccessError` saying what is missing: beyond
    loopback the operator must pass the flag and set a token; on loopback a token is optional
    (when set, this machine's visitors enter it too)."""
    token = ui_token()
    if is_loopback(host):
        return token
    if not allow_remote:
        raise UIAccessError(
            f"--host {host} serves the UI beyond this machine; pass --allow-remote (or set "
            f"{ALLOW_REMOTE_ENV}=1) to mean it, with a token in {TOKEN_ENV} or "
            f"{TOKEN_FILE_ENV}; or keep the default --host 127.0.0.1"
        )
    if token is None:
        raise UIAccessError(
            f"--host {host} serves the UI beyond this machine, so visitors must enter a token: "
            f"set {TOKEN_ENV} (or {TOKEN_FILE_ENV}, a file holding it) to at least "
            f"{MIN_TOKEN_LENGTH} characters (make one with: {MAKE_A_TOKEN})"
        )
    return token
