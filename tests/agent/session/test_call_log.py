"""Transcripts of calls no loop makes (`mltrainer train`, an MCP host): listed as sessions of
their kind, replayed and checked like any other, never resumed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mltrainer.agent.messages import ToolCall
from mltrainer.agent.session.call_log import CallLog
from mltrainer.agent.session.dispatch import LiveExecutor
from mltrainer.agent.session.index import list_sessions
from mltrainer.agent.session.runs import replay_session, resume_session
from mltrainer.agent.session.transcript import TranscriptError, read_events
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import load_settings

FAST = {"symbol": "SPX", "model": "naive_bayes", "days": 1500, "save_model": False}


async def logged_session(*arguments: dict[str, object]) -> Path:
    """An MCP-like session: each call made alone, recorded as it completes, then closed."""
    settings = load_settings()
    service = ResearchService(settings, session="mcp-test")
    log = CallLog(settings, session_id="mcp-test", kind="mcp", goal="calls", tools=["train_model"])
    for number, args in enumerate(arguments, start=1):
        call = ToolCall(f"mcp-{number}", "train_model", json.dumps(args))
        run = (await LiveExecutor(service).execute([call])).runs[0]
        log.record("", [call], [run])
    log.close("MCP server stopped")
    return log.path


async def test_the_transcript_holds_each_call_its_run_and_the_end():
    path = await logged_session(FAST, {**FAST, "model": "logit"})

    events = [e["event"] for e in read_events(path)]

    assert events == [
        "session_start",
        "user",
        *["assistant", "tool_run", "tool_results"] * 2,
        "session_end",
    ]
    assert read_events(path)[-1]["trials"][1]["model"] == "logistic_regression"


async def test_it_is_listed_as_a_session_of_its_kind_that_cannot_be_resumed():
    path = await logged_session(FAST)

    [info] = list_sessions(path.parent)

    assert (info.kind, info.trials, info.resumable) == ("MCP", 1, False)
    assert info.status == "ended: MCP server stopped"


async def test_its_replay_ends_where_the_calls_ended_and_checks_every_call():
    path = await logged_session(FAST, {**FAST, "model": "logit"})

    report = await replay_session(path, settings=load_settings(), check=True)

    assert report.summary.reason == "MCP server stopped"
    assert (report.checked, report.differences) == (2, [])


async def test_resuming_it_is_refused_with_the_reason():
    path = await logged_session(FAST)

    with pytest.raises(TranscriptError, match="made outside an agent session"):
        await resume_session(path, settings=load_settings())
