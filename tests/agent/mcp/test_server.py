"""`mltrainer mcp` as a subprocess, driven by the official MCP client over stdio and over
streamable HTTP: the tools listed, a trial on the offline MSFT sample, its payload, progress
notifications and `/metrics`."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client, StdioServerParameters

from mltrainer.agent.session.index import session_info
from mltrainer.agent.session.runs import replay_session
from mltrainer.agent.session.transcript import read_events
from mltrainer.engine.settings import load_settings
from mltrainer.tools import TOOLS

pytestmark = pytest.mark.slow

TRIAL = {
    "symbol": "MSFT",
    "source": "sample",
    "model": "logistic_regression",
    "days": 1500,
    "folds": 3,
    "save_model": False,
}


def _mltrainer() -> str:
    found = shutil.which("mltrainer", path=str(Path(sys.executable).parent))
    assert found, "the mltrainer console script is not installed next to this python"
    return found


def _environment(home: Path) -> dict[str, str]:
    return {**os.environ, "MLTRAINER_HOME": str(home)}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _check_trial(result: Any) -> None:
    assert result.is_error is False, result.content
    payload = result.structured_content
    assert payload["status"] == "success"
    assert payload["type"] == "training_complete"
    assert payload["symbol"] == "MSFT"
    assert payload["trial"] == 1
    text = result.content[0].text
    assert text.startswith(f"Trial 1 ({payload['model_id']}). ")


async def test_stdio_lists_the_tools_and_trains_on_the_msft_sample(isolated_home: Path):
    server = StdioServerParameters(
        command=_mltrainer(), args=["mcp"], env=_environment(isolated_home)
    )
    async with Client(server) as client:
        listed = await client.list_tools()
        assert [tool.name for tool in listed.tools] == [tool.name for tool in TOOLS]
        train = next(tool for tool in listed.tools if tool.name == "train_model")
        assert train.input_schema == next(t for t in TOOLS if t.name == "train_model").parameters()
        result = await client.call_tool("train_model", TRIAL)
    _check_trial(result)


async def test_stdio_ranks_a_universe_offline_and_leads_with_the_top_fifths_verdict(
    isolated_home: Path,
):
    server = StdioServerParameters(
        command=_mltrainer(), args=["mcp"], env=_environment(isolated_home)
    )
    rank = {"target": "rank", "universe": "sp20", "model": "ridge", "days": 2000}
    async with Client(server) as client:
        listed = await client.list_tools()
        train = next(tool for tool in listed.tools if tool.name == "train_model")
        assert {"target", "universe"} <= set(train.input_schema["properties"])
        result = await client.call_tool("train_model", {**rank, "save_model": False})
    assert result.is_error is False, result.content
    payload = result.structured_content
    assert (payload["symbol"], payload["selection"]["kind"]) == ("SP20", "ranking")
    assert payload["return_test"]["strategy"] == "long_flat"
    assert "Top fifth long, filled next bar, after 2 bps" in result.content[0].text
    assert "Rank IC" in result.content[0].text


async def test_stdio_refuses_a_bad_call_with_what_to_fix(isolated_home: Path):
    server = StdioServerParameters(
        command=_mltrainer(), args=["mcp"], env=_environment(isolated_home)
    )
    async with Client(server) as client:
        result = await client.call_tool("train_model", {"model": "rf"})
    assert result.is_error is True
    assert result.structured_content["type"] == "invalid_call"
    assert "train_model: symbol: Field required: a ticker" in result.content[0].text


async def test_stdio_refuses_a_second_look_and_gives_it_with_again(isolated_home: Path):
    server = StdioServerParameters(
        command=_mltrainer(), args=["mcp"], env=_environment(isolated_home)
    )
    async with Client(server) as client:
        await client.call_tool("train_model", TRIAL)
        first = await client.call_tool("finalize", {"trial": 1})
        refused = await client.call_tool("finalize", {"trial": 1})
        again = await client.call_tool("finalize", {"trial": 1, "again": True})
    assert first.is_error is False, first.content
    assert refused.is_error is True
    assert refused.structured_content["error_type"] == "HoldoutAlreadyScored"
    assert "holdout of sample:MSFT:bars was already scored: look 1, trial 1" in (
        refused.content[0].text
    )
    assert again.is_error is False, again.content
    assert (again.structured_content["look"], again.structured_content["family"]) == (2, 2)


@pytest.fixture
def http_server(isolated_home: Path) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [_mltrainer(), "mcp", "--http", "--port", str(port)],
        env=_environment(isolated_home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"mltrainer mcp --http exited: {process.stderr.read().decode()}")
            try:
                httpx2.get(f"{url}/metrics", timeout=1)
                break
            except httpx2.TransportError:
                if time.monotonic() > deadline:
                    pytest.fail("mltrainer mcp --http did not answer within 60 s")
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


async def test_http_trains_with_progress_notifications(http_server: str):
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))

    async with Client(f"{http_server}/mcp") as client:
        listed = await client.list_tools()
        assert len(listed.tools) == len(TOOLS)
        result = await client.call_tool("train_model", TRIAL, progress_callback=on_progress)
    _check_trial(result)
    messages = [message for _, _, message in progress]
    assert messages[:3] == [
        "train_model: walk-forward fold 1 of 3",
        "train_model: walk-forward fold 2 of 3",
        "train_model: walk-forward fold 3 of 3",
    ]
    assert messages[-1] == "train_model: final fit 1 of 1"
    assert [value for value, _, _ in progress] == list(range(1, len(progress) + 1))


def test_http_serves_prometheus_metrics(http_server: str):
    response = httpx2.get(f"{http_server}/metrics", timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "python_info" in response.text


async def test_a_stdio_session_is_a_transcript_that_replays_and_checks(isolated_home: Path):
    server = StdioServerParameters(
        command=_mltrainer(), args=["mcp"], env=_environment(isolated_home)
    )
    async with Client(server) as client:
        _check_trial(await client.call_tool("train_model", TRIAL))

    [transcript] = (isolated_home / "transcripts").glob("mcp-*.jsonl")
    events = read_events(transcript)
    assert (events[0]["kind"], events[-1]["event"]) == ("mcp", "session_end")
    assert session_info(transcript).kind == "MCP"  # type: ignore[union-attr]
    report = await replay_session(transcript, settings=load_settings(), check=True)
    assert (report.checked, report.differences) == (1, [])
