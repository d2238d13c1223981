"""Checks, from outside, that a served MCP server answers only its bearer token's holder:
`make image-test` runs it on the host against the image's default command, and
tests/deploy/test_mcp_check.py against `mltrainer mcp --http` on this machine.

An MCP `initialize` request is sent to URL/mcp three times: with no Authorization header and with
a wrong token it must be refused (401), with the token from --token-file it must be answered
(200, with the server's protocol version). `/metrics` must answer without a token, since
Prometheus scrapes it. Only the standard library, so the host's python3 runs it.

    python3 deploy/container/mcp_check.py http://127.0.0.1:8000 --token-file TOKEN_FILE
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "mltrainer-mcp-check", "version": "1"},
    },
}
WRONG_TOKEN = "not-the-token-0123456789abcdef"


class CheckFailed(Exception):
    """What the server did that it should not have; the check's one line of output."""


def post_initialize(url: str, token: str | None) -> tuple[int, str]:
    """The status and body of an `initialize` request to URL/mcp, sent with `token`."""
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
    }
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        f"{url}/mcp", data=json.dumps(INITIALIZE).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode(errors="replace")


def check(url: str, token: str) -> list[str]:
    """What was checked, one line each; `CheckFailed` at the first thing that is wrong."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        if response.status != 200:
            raise CheckFailed(f"{url}/metrics answered {response.status}, not 200")
    found = [f"mcp: {url}/metrics answers without a token"]
    for shown, sent in (("no token", None), ("a wrong token", WRONG_TOKEN)):
        status, body = post_initialize(url, sent)
        if status != 401:
            raise CheckFailed(
                f"{url}/mcp answered {status} to an initialize request with {shown}, not 401: "
                "it does not require its bearer token"
            )
        found.append(f"mcp: {url}/mcp refuses an initialize request with {shown} (401)")
    status, body = post_initialize(url, token)
    if status != 200 or "protocolVersion" not in body:
        raise CheckFailed(
            f"{url}/mcp answered {status} to an initialize request with the token, not 200 "
            f"with a protocol version: {body[:300]}"
        )
    found.append(f"mcp: {url}/mcp answers an initialize request with the token (200)")
    return found


def token_from(path: Path) -> str:
    """The first token in a token file: its first line that is not blank or a comment, the
    token being its last field (a line may name its caller first)."""
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if fields and not fields[0].startswith("#"):
            return fields[-1]
    raise CheckFailed(f"{path} holds no token")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="where the server listens, e.g. http://127.0.0.1:8000")
    parser.add_argument("--token-file", type=Path, required=True, help="the server's token file")
    arguments = parser.parse_args(argv)
    try:
        for line in check(arguments.url.rstrip("/"), token_from(arguments.token_file)):
            print(line, flush=True)
    except (CheckFailed, OSError) as failure:
        print(f"mcp check failed: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
