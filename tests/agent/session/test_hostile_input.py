"""Random bytes and random JSON at every door that reads them: `resume`, `replay` and every
tool. Whatever comes in, the answer is a result or a clear error: never a traceback, never an
"unexpected" crash."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from mltrainer.agent.cli.app import app
from mltrainer.agent.messages import ToolCall
from mltrainer.agent.session.dispatch import LiveExecutor
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import load_settings
from mltrainer.engine.trial import ErrorResult
from mltrainer.tools import TOOLS

runner = CliRunner()
SCRIPT = "- tool_calls: [{name: finish, arguments: {conclusion: done}}]\n"
HYPOTHESIS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=15,
)
FIELDS = [
    "text", "tool_calls", "usage", "stop_reason", "model", "results", "call_id", "name",
    "payload", "content", "is_error", "arguments", "refused", "session_id", "provider",
    "goal", "system", "budgets", "provider_options", "reason", "resumable",
]  # fmt: skip
EVENTS = ["session_start", "user", "assistant", "tool_results", "tool_run", "session_end"]
tool_call = st.fixed_dictionaries(
    {
        "id": st.text(max_size=8),
        "name": st.sampled_from([t.name for t in TOOLS]),
        "arguments": st.text(max_size=40),
    }
)


@st.composite
def broken_events(draw: st.DrawFn) -> dict[str, Any]:
    """An event that is often nearly right, so reading gets past the first check."""
    event: dict[str, Any] = {
        "v": draw(st.sampled_from([1, 1, 1, 2, "1", None])),
        "event": draw(st.sampled_from([*EVENTS, "resumed", "note"]) | st.text(max_size=8)),
    }
    for field in draw(st.lists(st.sampled_from(FIELDS), max_size=8, unique=True)):
        event[field] = draw(json_values)
    if draw(st.booleans()):
        event["tool_calls"] = draw(st.lists(tool_call, max_size=3))
    return event


@st.composite
def message_events(draw: st.DrawFn) -> dict[str, Any]:
    """A well-formed message event with random content: resume then runs the calls in it."""
    kind = draw(st.sampled_from(["user", "assistant", "tool_results", "tool_run"]))
    text = draw(st.text(max_size=30))
    if kind == "user":
        return {"v": 1, "event": "user", "text": text}
    if kind == "assistant":
        return {
            "v": 1,
            "event": "assistant",
            "text": text,
            "tool_calls": draw(st.lists(tool_call, max_size=3)),
            "usage": {"input_tokens": draw(st.integers(0, 10**6)), "output_tokens": 0},
            "stop_reason": draw(st.sampled_from(["end_turn", "tool_use", "other"])),
        }
    call = draw(tool_call)
    if kind == "tool_results":
        result = {"call_id": call["id"], "name": call["name"], "content": text}
        return {"v": 1, "event": "tool_results", "results": [result]}
    return {
        "v": 1,
        "event": "tool_run",
        "call_id": call["id"],
        "name": call["name"],
        "payload": draw(st.dictionaries(st.text(max_size=8), json_values, max_size=3)),
        "content": text,
        "is_error": draw(st.booleans()),
    }


@st.composite
def transcripts(draw: st.DrawFn, script: Path) -> bytes:
    header = {
        "v": 1,
        "event": "session_start",
        "session_id": draw(st.text(min_size=1, max_size=8)),
        "provider": draw(st.sampled_from(["scripted", "scripted", "openai", "replay", "x"])),
        "goal": "g",
        "provider_options": {"script": str(script)},
        "budgets": {"max_seconds": 60},
    }
    body = draw(st.lists(message_events() | broken_events(), max_size=8))
    lines = [header, *body] if draw(st.integers(0, 9)) else body
    text = "".join(json.dumps(line) + "\n" for line in lines)
    return text.encode() + draw(st.sampled_from([b"", b"", b"", b'{"v": 1, "ev', b"\xff\xfe"]))


def assert_no_crash(command: str, path: Path) -> None:
    result = runner.invoke(app, [command, str(path)])
    assert result.exit_code in (0, 1, 2), result.output
    assert "Traceback" not in result.output
    assert "This is a bug in mltrainer" not in result.output, result.output
    if result.exit_code:
        assert result.stderr.startswith("error: ") or "Session ended:" in result.stdout


@given(data=st.binary(max_size=300))
@HYPOTHESIS
def test_random_bytes_to_resume_and_replay(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "random.jsonl"
    path.write_bytes(data)

    assert_no_crash("resume", path)
    path.write_bytes(data)
    assert_no_crash("replay", path)


@given(data=st.data())
@HYPOTHESIS
def test_random_json_events_to_resume_and_replay(tmp_path: Path, data: st.DataObject) -> None:
    script = tmp_path / "script.yaml"
    script.write_text(SCRIPT)
    content = data.draw(transcripts(script))
    for command in ("replay", "resume"):
        path = tmp_path / f"{command}.jsonl"
        path.write_bytes(content)
        assert_no_crash(command, path)


SYMBOLS = st.sampled_from(["SPX", "MSFT", "IXIC", "ZZZZ", "UNRATE", "spx", "BRK.B", ""])
MODELS = st.sampled_from(["naive_bayes", "logit", "decision_tree", "knn", "rf", "bogus"])


def schema_values(schema: dict[str, Any], name: str) -> st.SearchStrategy[Any]:
    """Values near what a field takes (its type, bounds, choices), and some that are not."""
    if name == "symbol":
        return SYMBOLS | st.text(max_size=12)
    if name == "model":
        return MODELS
    options = schema.get("anyOf") or [schema]
    strategies: list[st.SearchStrategy[Any]] = []
    for option in options:
        kind = option.get("type")
        if "enum" in option:
            strategies.append(st.sampled_from(option["enum"]))
        elif kind == "integer":
            low, high = option.get("minimum", -5), option.get("maximum", 2**64)
            strategies.append(st.sampled_from([low - 1, low, high, high + 1, 2**63, 10**30]))
            strategies.append(st.integers(-(2**70), 2**70))
        elif kind == "number":
            strategies.append(st.floats(allow_nan=True, allow_infinity=True))
        elif kind == "string":
            dates = st.sampled_from(["2015-01-02", "2999-01-01", "1776-07-04", "not a date"])
            strategies.append(dates if option.get("format") == "date" else st.text(max_size=20))
        elif kind == "array":
            strategies.append(st.lists(st.integers(-3, 2**64), max_size=25))
    typed = st.one_of(strategies) if strategies else json_values
    return st.one_of(typed, typed, typed, json_values)  # mostly the right type


def tool_arguments(tool_name: str) -> st.SearchStrategy[str]:
    tool = next(t for t in TOOLS if t.name == tool_name)
    schema = tool.parameters()
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    fields = st.fixed_dictionaries(
        {name: schema_values(spec, name) for name, spec in properties.items() if name in required},
        optional={
            name: schema_values(spec, name)
            for name, spec in properties.items()
            if name not in required
        },
    )
    # Trials are kept cheap, so that a valid call does not spend minutes training.
    cheap = {"days": 300, "save_model": False} if tool_name == "train_model" else {}
    return (
        fields.map(lambda o: json.dumps({**o, **cheap}))
        | json_values.map(json.dumps)
        | st.text(max_size=40)
    )


@given(data=st.data())
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_random_json_to_every_tool(tmp_path: Path, data: st.DataObject) -> None:
    executor = LiveExecutor(ResearchService(load_settings(), session="hostile"))
    calls = [
        ToolCall(f"c{index}", tool.name, data.draw(tool_arguments(tool.name), label=tool.name))
        for index, tool in enumerate(TOOLS)
    ]

    report = asyncio.run(executor.execute(calls))

    for run in report.runs:
        crashed = isinstance(run.output, ErrorResult) and run.output.type == "internal_error"
        assert not crashed, (run.result.name, run.output)
        assert run.result.content
