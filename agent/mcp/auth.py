"""Who may call the MCP server over HTTP: a bearer token whenever it binds anything but
loopback, and Host and Origin headers from an allow-list on every bind address.

The token comes from `MLTRAINER_MCP_TOKEN` (environment or `.env`) or a token file
(`--token-file PATH` or `MLTRAINER_MCP_TOKEN_FILE`), which may hold several tokens, one per
line, each optionally named (`alice 8mQ...`): each name is a caller with a research session
of its own. With neither, a token is generated and printed once; a token file named but
absent is created with it (mode 0600) so a restart keeps it. The check is the MCP SDK's own
bearer middleware with a verifier that compares in constant time.
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from mcp.server.auth.provider import AccessToken
from mcp.server.transport_security import TransportSecuritySettings

from mltrainer.engine.binding import is_loopback
from mltrainer.engine.errors import MLTrainerError
from mltrainer.engine.redaction import register_secrets
from mltrainer.engine.settings import env_secret

TOKEN_VARIABLE = "MLTRAINER_MCP_TOKEN"
TOKEN_FILE_VARIABLE = "MLTRAINER_MCP_TOKEN_FILE"
ALLOWED_HOSTS_VARIABLE = "MLTRAINER_MCP_ALLOWED_HOSTS"
SHORTEST_TOKEN = 16
DEFAULT_CALLER = "default"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
_CALLER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")


class AuthConfigError(MLTrainerError):
    """The token settings cannot be used: a token too short, a token file unreadable."""


@dataclass(frozen=True)
class Tokens:
    """The accepted tokens, each with the caller it names; `generated` when the server made
    the one token up (to be shown once), `written_to` the file it was saved in, if any."""

    callers: dict[str, str]
    generated: str | None = None
    written_to: Path | None = None


def load_tokens(token_file: Path | None) -> Tokens:
    """The tokens from the variable or the file (`--token-file` first, then its variable);
    one generated when neither holds any."""
    from_variable = env_secret(TOKEN_VARIABLE)
    if from_variable is not None and from_variable.get_secret_value():
        token = _checked(from_variable.get_secret_value(), TOKEN_VARIABLE)
        return _registered(Tokens({token: DEFAULT_CALLER}))
    named = env_secret(TOKEN_FILE_VARIABLE)
    path = token_file or (Path(named.get_secret_value()) if named is not None else None)
    if path is not None and path.exists():
        return _registered(Tokens(_read_file(path)))
    generated = secrets.token_urlsafe(32)
    if path is not None:
        _write_new(path, generated)
    return _registered(Tokens({generated: DEFAULT_CALLER}, generated, path))


def _registered(tokens: Tokens) -> Tokens:
    register_secrets(tokens.callers)  # never in a log line, a transcript or an error
    return tokens


def _checked(token: str, where: str) -> str:
    token = token.strip()
    if len(token) < SHORTEST_TOKEN or any(c.isspace() for c in token):
        raise AuthConfigError(
            f"the MCP token in {where} is {len(token)} characters or holds a space; use at "
            f'least {SHORTEST_TOKEN} characters without spaces (e.g. `python -c "import '
            'secrets; print(secrets.token_urlsafe(32))"`)'
        )
    return token


def _read_file(path: Path) -> dict[str, str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise AuthConfigError(f"cannot read the MCP token file {path}: {error}") from error
    callers: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        where = f"{path} line {number}"
        if len(fields) > 2 or (len(fields) == 2 and not _CALLER_NAME.fullmatch(fields[0])):
            raise AuthConfigError(
                f"{where}: a line is a token, or a caller's name (letters, digits, _ and -) and "
                "a token, separated by a space"
            )
        if len(fields) == 2:
            name = fields[0]
        else:
            name = DEFAULT_CALLER if not callers else f"token{number}"
        token = _checked(fields[-1], where)
        if token in callers or name in callers.values():
            raise AuthConfigError(f"{where}: that caller or token is already in the file")
        callers[token] = name
    if not callers:
        raise AuthConfigError(
            f"the MCP token file {path} holds no token; put one in it, or remove the file and "
            "a token is generated into it"
        )
    return callers


def _write_new(path: Path, token: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(token + "\n")
    except OSError as error:
        raise AuthConfigError(f"cannot create the MCP token file {path}: {error}") from error


class StaticTokens:
    """The SDK's `TokenVerifier` for tokens known up front: each compared in constant time,
    the caller's name as the token's client id."""

    def __init__(self, tokens: Tokens) -> None:
        self._callers = [(token.encode(), name) for token, name in tokens.callers.items()]

    async def verify_token(self, token: str) -> AccessToken | None:
        given = token.encode()
        found = None
        for known, name in self._callers:  # every token compared, so timing tells nothing
            if hmac.compare_digest(given, known):
                found = name
        if found is None:
            return None
        return AccessToken(token=token, client_id=found, scopes=[])


def transport_security(host: str, allowed: list[str]) -> TransportSecuritySettings:
    """Host and Origin allow-lists for a server bound to `host`: loopback names always, the
    bind address itself when it is a single address, and every `allowed` name (`NAME` or
    `NAME:PORT`). A browser page elsewhere (DNS rebinding) sends another Host or Origin and
    is refused."""
    names = list(LOOPBACK_NAMES)
    if host not in ("0.0.0.0", "::", "") and not is_loopback(host):
        names.append(f"[{host}]" if ":" in host else host)
    hosts: list[str] = []
    origins: list[str] = []
    for name in [*names, *allowed]:
        if ":" in name.rsplit("]", 1)[-1]:  # NAME:PORT
            hosts.append(name)
            origins += [f"http://{name}", f"https://{name}"]
        else:
            hosts += [name, f"{name}:*"]
            origins += [
                f"{scheme}://{name}{port}" for scheme in ("http", "https") for port in ("", ":*")
            ]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


def allowed_hosts(given: list[str]) -> list[str]:
    """`--allowed-host` values, else those in `MLTRAINER_MCP_ALLOWED_HOSTS` (comma-separated)."""
    if given:
        return given
    listed = os.environ.get(ALLOWED_HOSTS_VARIABLE, "")
    return [name.strip() for name in listed.split(",") if name.strip()]
