"""The MCP HTTP server exposed: Host and Origin checked on every bind address, a bearer token
beyond loopback, each caller kept to its own session's trials, and a deadline on every call.
The attack (at 91524db): with `--host 0.0.0.0` a foreign Host and Origin got 200, any caller
read every trial, and finalizing another session's trial made its owner's finalize read
"look 2 (NOT untouched)"; a call ran on after its client left.

The server runs in this process (uvicorn on 127.0.0.1, a real socket) and is driven by the
official MCP client."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mltrainer.agent.mcp.auth import Tokens, transport_security
from mltrainer.agent.mcp.server import ResearchTools, http_app
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import load_settings
from mltrainer.engine.trial import TrialConfig
from mltrainer.tools import TOOLS_BY_NAME

ALICE = "alice-token-0123456789abcdef"
BOB = "bob-token-0123456789abcdef00"
TOKENS = Tokens({ALICE: "alice", BOB: "bob"})
FAST = {"symbol": "SPX", "model": "naive_bayes", "days": 1500, "save_model": False}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "probe", "version": "1"},
    },
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(
    *,
    tokens: Tokens | None = TOKENS,
    bind: str = "0.0.0.0",
    allowed: list[str] | None = None,
    **options: Any,
) -> Iterator[str]:
    """The app `mltrainer mcp --http --host BIND` builds, served on 127.0.0.1."""
    research = ResearchTools(load_settings(), TOOLS_BY_NAME, "mcp-test", **options)
    port = _free_port()
    app = http_app(
        research,
        security=transport_security(bind, allowed or []),
        tokens=tokens,
        url=f"http://127.0.0.1:{port}",
    )
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def caller(url: str, token: str | None) -> Iterator[Callable[..., Any]]:
    """An MCP client session, as `call(tool, arguments, meta=...)`."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def call(name: str, arguments: dict[str, Any], **options: Any) -> Any:
        http = httpx2.AsyncClient(headers=headers, timeout=120)
        async with Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client:
            return await client.call_tool(name, arguments, **options)

    yield call


def post(url: str, path: str = "/mcp", **headers: str) -> httpx2.Response:
    return httpx2.post(
        url + path,
        json=INITIALIZE,
        headers={"accept": "application/json, text/event-stream", **headers},
        timeout=30,
    )


# --- Host and Origin, on every bind address ------------------------------------------------


@pytest.mark.parametrize("path", ["/mcp", "/metrics"])
def test_a_foreign_host_is_refused_on_a_server_bound_to_every_address(path: str):
    with serving() as url:
        response = (
            post(url, path, host="evil.example", authorization=f"Bearer {ALICE}")
            if path == "/mcp"
            else httpx2.get(url + path, headers={"host": "evil.example"}, timeout=30)
        )

    assert response.status_code == 421


def test_a_foreign_origin_is_refused():
    with serving() as url:
        response = post(url, origin="http://evil.example", authorization=f"Bearer {ALICE}")

    assert response.status_code == 403


def test_an_allowed_host_is_answered():
    with serving(allowed=["mcp.example.org"]) as url:
        response = post(url, host="mcp.example.org:8000", authorization=f"Bearer {ALICE}")

    assert response.status_code == 200


# --- the bearer token -------------------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token-0123456789", f"Basic {ALICE}"])
def test_without_the_token_mcp_answers_401(authorization: str | None):
    headers = {"authorization": authorization} if authorization else {}
    with serving() as url:
        response = post(url, **headers)

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


def test_with_the_token_the_server_answers():
    with serving() as url:
        response = post(url, authorization=f"Bearer {ALICE}")

    assert response.status_code == 200
    assert '"name":"mltrainer"' in response.text.replace(" ", "")


# --- each caller's own trials ------------------------------------------------------------------


async def test_a_caller_cannot_read_or_finalize_another_callers_trial():
    with serving() as url, caller(url, ALICE) as alice, caller(url, BOB) as bob:
        trained = await alice("train_model", FAST)
        trial = trained.structured_content["trial"]

        for tool, arguments in (
            ("evaluate_trial", {"trial": trial}),
            ("finalize", {"trial": trial}),
            ("compare_trials", {"trials": [trial, trial]}),
            ("evaluate_trial", {"model_id": trained.structured_content["model_id"]}),
        ):
            refused = await bob(tool, arguments)
            assert refused.is_error, tool
            assert refused.structured_content["type"] == "not_this_sessions_trial"
            assert "recorded by another research session" in refused.content[0].text
        finalized = await alice("finalize", {"trial": trial})

    assert finalized.is_error is False, finalized.content
    assert finalized.structured_content["look"] == 1
    assert finalized.structured_content["untouched"] is True


async def test_a_trial_of_a_session_outside_the_server_cannot_be_finalized_through_it():
    """The attack: a caller finalized the owner's trial, and the owner's later finalize read
    "look 2 (NOT untouched)"."""
    owner = ResearchService(load_settings(), session="cli-owner")
    trial = owner.train(TrialConfig(**FAST)).result.trial
    with serving() as url, caller(url, ALICE) as alice:
        refused = await alice("finalize", {"trial": trial})

    final = owner.finalize(trial)
    assert refused.is_error
    assert (final.look, final.untouched) == (1, True)


async def test_a_server_started_to_share_trials_lets_every_caller_reach_them():
    owner = ResearchService(load_settings(), session="cli-owner")
    trial = owner.train(TrialConfig(**FAST)).result.trial
    with serving(share_trials=True) as url, caller(url, BOB) as bob:
        evaluated = await bob("evaluate_trial", {"trial": trial})

    assert evaluated.is_error is False, evaluated.content


async def test_each_caller_is_a_session_of_its_own_in_the_ledger():
    with serving() as url, caller(url, ALICE) as alice, caller(url, BOB) as bob:
        await alice("train_model", FAST)
        await bob("train_model", {**FAST, "model": "logistic_regression"})

    sessions = {row.session for row in ResearchService(load_settings()).ledger.rows(limit=None)}
    assert sessions == {"mcp-test-alice", "mcp-test-bob"}


# --- deadlines ----------------------------------------------------------------------------------


async def test_a_caller_may_ask_for_a_shorter_deadline_in_meta():
    slow = {
        "symbol": "MSFT",
        "model": "random_forest",
        "params": {"n_estimators": 400, "max_depth": 64, "min_samples_leaf": 1},
        "folds": 2,
        "save_model": False,
    }
    with serving() as url, caller(url, ALICE) as alice:
        started = time.monotonic()
        result = await alice("train_model", slow, meta={"mltrainer/timeout_seconds": 3})
        seconds = time.monotonic() - started

    assert result.is_error
    assert result.structured_content["type"] in ("deadline", "training_failed")
    assert "deadline" in result.content[0].text
    assert seconds < 3 + 2 + 5  # the deadline, the grace to stop, start-up


@pytest.mark.parametrize("asked", [0, -1, 901, "soon", True])
async def test_a_deadline_beyond_the_servers_is_refused_naming_the_limit(asked: Any):
    with serving() as url, caller(url, ALICE) as alice:
        result = await alice("list_sources", {}, meta={"mltrainer/timeout_seconds": asked})

    assert result.is_error
    assert "must be a number of seconds above 0 and at most 900" in result.content[0].text


CLIENT = """
import asyncio, sys, httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
async def main():
    http = httpx2.AsyncClient(headers={"Authorization": "Bearer " + sys.argv[2]}, timeout=120)
    async with Client(streamable_http_client(sys.argv[1] + "/mcp", http_client=http)) as client:
        await client.call_tool("train_model", {
            "symbol": "MSFT", "model": "random_forest", "folds": 10, "save_model": False,
            "params": {"n_estimators": 100, "max_depth": 32, "min_samples_leaf": 1},
        })
asyncio.run(main())
"""


async def _cpu_seconds_over(seconds: float) -> float:
    """CPU this process (the server, its trial threads) spends in the next `seconds`."""
    started = time.process_time()
    await asyncio.sleep(seconds)
    return time.process_time() - started


async def test_a_call_stops_computing_when_its_client_is_killed():
    """The attack: a trial ran on for 69 CPU-seconds in the 70 s after its client gave up.
    Here the client process is killed (no goodbye) while a trial of ten folds runs in the
    server's process; the server stops it at its next fold, and the process falls idle. CPU
    seconds, not wall time, are compared: the machine may be shared."""
    with serving() as url:
        before = time.process_time()
        client = subprocess.Popen([sys.executable, "-c", CLIENT, url, ALICE])
        try:
            for _ in range(120):  # until the trial has computed for a while
                await asyncio.sleep(0.5)
                if time.process_time() - before > 3:
                    break
            computed = time.process_time() - before
        finally:
            client.kill()
            client.wait()
        killed, cpu_at_kill = time.monotonic(), time.process_time()
        while await _cpu_seconds_over(1) > 0.1 and time.monotonic() - killed < 90:
            pass
        idle_after = time.monotonic() - killed
        cpu_after = time.process_time() - cpu_at_kill

    assert computed > 3, computed  # the trial was computing when its client went
    assert idle_after < 90, idle_after
    assert cpu_after < 4, cpu_after  # at most the fold under way finishes (the rest: 10 s)
    assert ResearchService(load_settings()).ledger.count() == 0  # a finished trial is recorded
