"""Budgets that hold: the tool-call budget per call (not per turn), the wall-time deadline for
model calls (slow streams and hangs included) and for running tools."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from mltrainer.agent.messages import AssistantTurn, Message, ToolCall, ToolSpec, Usage
from mltrainer.agent.providers import ScriptedProvider
from mltrainer.agent.providers.base import MalformedReplyError, Provider, ProviderError
from mltrainer.agent.session import dispatch
from mltrainer.agent.session.dispatch import LiveExecutor
from mltrainer.agent.session.loop import run_session
from mltrainer.agent.session.model_call import CallStopped, ask_model
from mltrainer.agent.session.runs import start_session
from mltrainer.agent.session.state import Budgets, SessionState
from mltrainer.agent.session.transcript import Transcript, read_events
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import load_settings
from mltrainer.tools import TOOLS_BY_NAME, Tool

GOAL = "Test the budgets."


def turn(*calls: tuple[str, str, dict[str, Any]]) -> AssistantTurn:
    return AssistantTurn(
        "",
        tuple(ToolCall(call_id, name, json.dumps(args)) for call_id, name, args in calls),
        Usage(),
        "tool_use",
    )


def finish(call_id: str) -> AssistantTurn:
    return turn((call_id, "finish", {"conclusion": "done"}))


# --- the tool-call budget is checked per call ----------------------------------------------------


async def test_fifty_parallel_calls_run_only_as_many_as_the_budget_allows(tmp_path: Path) -> None:
    burst = turn(*((f"c{n}", "list_sources", {}) for n in range(50)))

    summary = await start_session(
        ScriptedProvider([burst, finish("end")]),
        GOAL,
        settings=load_settings(),
        budgets=Budgets(max_tool_calls=10),
        transcript_path=tmp_path / "s.jsonl",
    )

    events = read_events(tmp_path / "s.jsonl")
    runs = [e for e in events if e["event"] == "tool_run"]
    ran = [e for e in runs if not e.get("refused")]
    results = next(e for e in events if e["event"] == "tool_results")["results"]
    assert len(ran) == 10
    assert [e["call_id"] for e in ran] == [f"c{n}" for n in range(10)]
    assert len(results) == 50
    assert all(
        r["is_error"] and r["content"] == "NOT RUN: the session's tool-call budget is spent"
        for r in results[10:]
    )
    assert summary.tool_calls == 10
    assert summary.reason == "tool-call budget reached (10 calls)"


# --- the deadline holds for model calls ----------------------------------------------------------


class SlowProvider(Provider):
    """A network provider whose reply takes `seconds` (a trickling or hung server)."""

    name = "slow"
    model = "slow"

    def __init__(self, seconds: float, failures: Sequence[ProviderError] = ()) -> None:
        self.seconds = seconds
        self.failures = list(failures)
        self.calls = 0
        self.timeouts: list[float | None] = []

    async def complete(
        self,
        *,
        system: str,
        messages: Sequence[Message],
        tools: Sequence[ToolSpec],
        timeout: float | None = None,
    ) -> AssistantTurn:
        self.calls += 1
        self.timeouts.append(timeout)
        if self.failures:
            raise self.failures.pop(0)
        await asyncio.sleep(self.seconds)
        return finish("late")


async def test_a_model_call_is_cancelled_at_the_deadline() -> None:
    provider = SlowProvider(60)
    started = time.monotonic()

    with pytest.raises(CallStopped) as stopped:
        await ask_model(
            provider, system="", messages=[], tools=[], seconds_left=0.3, interrupt=asyncio.Event()
        )

    assert stopped.value.kind == "deadline"
    assert time.monotonic() - started < 2
    assert provider.timeouts[0] == pytest.approx(0.3, abs=0.05)


async def test_ctrl_c_cancels_a_model_call() -> None:
    interrupt = asyncio.Event()
    asyncio.get_running_loop().call_later(0.2, interrupt.set)

    with pytest.raises(CallStopped) as stopped:
        await ask_model(
            SlowProvider(60), system="", messages=[], tools=[], seconds_left=30, interrupt=interrupt
        )

    assert stopped.value.kind == "interrupted"


async def test_a_malformed_reply_is_asked_for_again() -> None:
    provider = SlowProvider(0, [MalformedReplyError("HTML instead of JSON")])

    reply = await ask_model(
        provider, system="", messages=[], tools=[], seconds_left=30, interrupt=asyncio.Event()
    )

    assert reply.tool_calls[0].name == "finish"
    assert provider.calls == 2


async def test_malformed_replies_that_persist_end_as_a_provider_error() -> None:
    provider = SlowProvider(0, [MalformedReplyError("HTML instead of JSON")] * 5)

    with pytest.raises(MalformedReplyError):
        await ask_model(
            provider, system="", messages=[], tools=[], seconds_left=30, interrupt=asyncio.Event()
        )

    assert provider.calls == 3


async def test_other_provider_errors_are_not_asked_again() -> None:
    provider = SlowProvider(0, [ProviderError("HTTP 401", status=401)])

    with pytest.raises(ProviderError, match="HTTP 401"):
        await ask_model(
            provider, system="", messages=[], tools=[], seconds_left=30, interrupt=asyncio.Event()
        )

    assert provider.calls == 1


async def test_a_session_waiting_on_a_slow_model_ends_at_its_deadline(tmp_path: Path) -> None:
    started = time.monotonic()

    summary = await start_session(
        SlowProvider(60),
        GOAL,
        settings=load_settings(),
        budgets=Budgets(max_seconds=1),
        transcript_path=tmp_path / "s.jsonl",
    )

    assert time.monotonic() - started < 5
    assert summary.reason == "wall-time budget reached (1 s) while waiting for the model"
    assert read_events(tmp_path / "s.jsonl")[-1]["event"] == "session_end"


# --- the deadline holds for tools ----------------------------------------------------------------


class NapArgs(BaseModel):
    """Sleep for a while (a stand-in for a trial that runs long)."""

    seconds: float


def _nap(_: object, args: NapArgs) -> dict[str, Any]:
    time.sleep(args.seconds)
    return {"status": "success", "slept": args.seconds}


async def test_a_tool_running_past_the_deadline_is_abandoned_and_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dispatch, "DEADLINE_GRACE_SECONDS", 0.2)
    tools = {**TOOLS_BY_NAME, "nap": Tool("nap", NapArgs, _nap)}
    settings = load_settings()
    state = SessionState(
        provider=ScriptedProvider([turn(("n1", "nap", {"seconds": 3}))]),
        executor=LiveExecutor(ResearchService(settings), tools=tools),
        transcript=Transcript(tmp_path / "s.jsonl"),
        budgets=Budgets(max_seconds=1),
    )
    started = time.monotonic()

    summary = await run_session(
        state, GOAL, {"session_id": "s", "provider": "scripted", "goal": GOAL}
    )
    state.transcript.close()

    assert time.monotonic() - started < 2.5
    run = next(e for e in read_events(tmp_path / "s.jsonl") if e["event"] == "tool_run")
    assert run["payload"]["type"] == "deadline"
    assert run["content"] == (
        "ERROR from nap: nap was still running at the session's wall-time deadline and was "
        "abandoned; its result is not used"
    )
    assert summary.reason == "wall-time budget reached (1 s)"


async def test_no_tool_starts_after_the_deadline(tmp_path: Path) -> None:
    executor = LiveExecutor(ResearchService(load_settings()))

    report = await executor.execute(
        [ToolCall("c1", "list_sources", "{}")], deadline=time.time() - 1
    )

    assert report.runs[0].refused is True
    assert report.runs[0].result.content == "NOT RUN: the session's wall-time budget is spent"
