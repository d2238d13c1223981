"""The public API (`mltrainer.agent`): a custom tool reaches the model's specs, is called and
recorded; a tool ends the session by its own flag; a plugin's tool arrives through a real
`mltrainer.plugins` entry point of an installed package; a session driven by a custom
provider is killed and resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field

import mltrainer.agent as api
from mltrainer.agent import (
    AssistantTurn,
    Budgets,
    FunctionInfo,
    FunctionProvider,
    Tool,
    ToolCall,
    ToolContext,
    ToolResults,
    start_session,
)
from mltrainer.agent.providers.base import ProviderError
from mltrainer.agent.session.transcript import TranscriptError, read_events
from mltrainer.engine.settings import load_settings
from mltrainer.tools import TOOLS_BY_NAME


class RollArgs(BaseModel):
    """Roll a die with the given number of sides."""

    sides: int = Field(ge=2, le=100, description="faces of the die")


def roll(context: ToolContext, args: RollArgs) -> dict[str, Any]:
    return {"status": "success", "type": "roll", "sides": args.sides, "value": args.sides - 1}


ROLL = Tool("roll_die", RollArgs, roll, render=lambda p: f"rolled {p['value']}")


def results(messages: Sequence[Any]) -> list[Any]:
    return [r for m in messages if isinstance(m, ToolResults) for r in m.results]


def test_the_public_names_resolve():
    for name in api.__all__:
        assert getattr(api, name) is not None, name


async def test_a_custom_tool_is_in_the_specs_called_and_recorded():
    seen_specs: list[list[str]] = []

    def turn(messages: tuple[Any, ...], info: FunctionInfo) -> AssistantTurn:
        seen_specs.append([spec.name for spec in info.tools])
        done = results(messages)
        if not done:
            return AssistantTurn("", (ToolCall("c1", "roll_die", '{"sides": 6}'),))
        return AssistantTurn(
            "",
            (ToolCall("c2", "finish", json.dumps({"conclusion": f"saw: {done[0].content}"})),),
        )

    summary = await start_session(
        FunctionProvider(turn),
        "Roll a die.",
        settings=load_settings(),
        tools=[ROLL, TOOLS_BY_NAME["finish"]],
    )

    assert seen_specs == [["roll_die", "finish"], ["roll_die", "finish"]]
    assert summary.finished is True
    assert summary.conclusion == "saw: rolled 5"
    events = read_events(summary.transcript)
    assert events[0]["tools"] == ["roll_die", "finish"]
    assert events[0]["provider"] == "function"
    run = next(e for e in events if e.get("event") == "tool_run")
    assert run["name"] == "roll_die"
    assert run["arguments"] == {"sides": 6}
    assert run["payload"] == {"status": "success", "type": "roll", "sides": 6, "value": 5}
    assert run["content"] == "rolled 5"


class StopArgs(BaseModel):
    """Stop the session with a verdict."""

    verdict: str


def stop(context: ToolContext, args: StopArgs) -> dict[str, Any]:
    return {"status": "success", "conclusion": args.verdict, "best_trial": None}


async def test_a_tool_that_ends_the_session_ends_it_whatever_its_name():
    def turn(messages: tuple[Any, ...], info: FunctionInfo) -> AssistantTurn:
        return AssistantTurn("", (ToolCall("c1", "verdict", '{"verdict": "no edge"}'),))

    summary = await start_session(
        FunctionProvider(turn),
        "Decide.",
        settings=load_settings(),
        tools=[Tool("verdict", StopArgs, stop, ends_session=True)],
    )

    assert summary.finished is True
    assert summary.conclusion == "no edge"
    assert summary.turns == 1


async def test_a_function_returning_text_is_a_text_turn():
    provider = FunctionProvider(lambda messages, info: "Nothing to do.")
    turn = await provider.complete(system="s", messages=[], tools=[])
    assert turn == AssistantTurn(text="Nothing to do.", model="function")


async def test_a_function_returning_something_else_is_a_provider_error():
    provider = FunctionProvider(lambda messages, info: 42)  # type: ignore[arg-type,return-value]
    with pytest.raises(ProviderError, match=r"must return an AssistantTurn or a str, got int$"):
        await provider.complete(system="s", messages=[], tools=[])


# --- a plugin installed in the test's environment ------------------------------------------------

PLUGIN = '''\
"""A tiny mltrainer plugin: one tool, registered through the entry point."""

from pydantic import BaseModel, Field

from mltrainer.tools import Tool, register_tool


class EchoArgs(BaseModel):
    """Say a word back."""

    word: str = Field(max_length=20)


def echo(context, args):
    return {"status": "success", "type": "echo", "word": args.word}


def register():
    register_tool(Tool("echo_word", EchoArgs, echo, render=lambda p: "echo: " + p["word"]))
'''

WHEEL_FILES = {
    "mltrainer_echo/__init__.py": PLUGIN,
    "mltrainer_echo-0.1.0.dist-info/METADATA": (
        "Metadata-Version: 2.1\nName: mltrainer-echo\nVersion: 0.1.0\n"
    ),
    "mltrainer_echo-0.1.0.dist-info/WHEEL": (
        "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    ),
    "mltrainer_echo-0.1.0.dist-info/entry_points.txt": (
        "[mltrainer.plugins]\necho = mltrainer_echo:register\n"
    ),
}


def build_wheel(folder: Path) -> Path:
    """A pure-Python wheel of the plugin, built by hand (no build backend, no network)."""
    wheel = folder / "mltrainer_echo-0.1.0-py3-none-any.whl"
    record = [f"{name},," for name in WHEEL_FILES] + ["mltrainer_echo-0.1.0.dist-info/RECORD,,"]
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in WHEEL_FILES.items():
            archive.writestr(name, text)
        archive.writestr("mltrainer_echo-0.1.0.dist-info/RECORD", "\n".join(record) + "\n")
    return wheel


SESSION = """\
import asyncio, json, sys

from mltrainer.agent import AssistantTurn, FunctionProvider, ToolCall, ToolResults, start_session
from mltrainer.engine.settings import load_settings

seen = []


def turn(messages, info):
    seen.append([spec.name for spec in info.tools])
    done = [r for m in messages if isinstance(m, ToolResults) for r in m.results]
    if not done:
        return AssistantTurn("", (ToolCall("c1", "echo_word", '{"word": "hello"}'),))
    return AssistantTurn(
        "", (ToolCall("c2", "finish", json.dumps({"conclusion": done[0].content})),)
    )


summary = asyncio.run(start_session(FunctionProvider(turn), "Echo.", settings=load_settings()))
print(json.dumps({"specs": seen, "conclusion": summary.conclusion,
                  "transcript": str(summary.transcript)}))
"""


@pytest.mark.slow
def test_a_plugin_tool_arrives_through_its_entry_point(tmp_path: Path, isolated_home: Path):
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--target",
            str(site),
            str(build_wheel(tmp_path)),
        ],
        check=True,
    )
    assert list(site.glob("mltrainer_echo-0.1.0.dist-info/entry_points.txt"))
    script = tmp_path / "session.py"
    script.write_text(SESSION)
    env = {**os.environ, "PYTHONPATH": str(site), "MLTRAINER_HOME": str(isolated_home)}

    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300
    )

    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert "echo_word" in out["specs"][0]
    assert out["specs"][0][: len(TOOLS_BY_NAME)] == list(TOOLS_BY_NAME)
    assert out["conclusion"] == "echo: hello"
    runs = [e for e in read_events(Path(out["transcript"])) if e.get("event") == "tool_run"]
    assert [(r["name"], r["content"]) for r in runs] == [
        ("echo_word", "echo: hello"),
        ("finish", runs[1]["content"]),
    ]


# --- a killed session driven by a custom provider -----------------------------------------------

HELPERS = """\
import json, os, time

from pydantic import BaseModel

from mltrainer.agent import AssistantTurn, Tool, ToolCall, ToolResults
from mltrainer.tools import TOOLS_BY_NAME


class NapArgs(BaseModel):
    'Wait a moment.'


def nap(context, args):
    with open(os.environ["NAP_MARKER"], "a") as handle:
        print(os.getpid(), file=handle)
    if os.environ.get("NAP_LONG"):
        time.sleep(120)
    return {"status": "success", "type": "nap"}


TOOLS = [Tool("nap", NapArgs, nap), TOOLS_BY_NAME["finish"]]


def turn(messages, info):
    done = [r for m in messages if isinstance(m, ToolResults) for r in m.results]
    if not done:
        return AssistantTurn("", (ToolCall("c1", "nap", "{}"),))
    return AssistantTurn("", (ToolCall("c2", "finish", json.dumps({"conclusion": "rested"})),))
"""

KILLED = """\
import asyncio, sys
from pathlib import Path

sys.path.insert(0, sys.argv[1])
from helpers import TOOLS, turn

from mltrainer.agent import FunctionProvider, start_session
from mltrainer.engine.settings import load_settings

asyncio.run(start_session(FunctionProvider(turn), "Rest.", settings=load_settings(),
                          transcript_path=Path(sys.argv[2]), tools=TOOLS))
"""


@pytest.mark.slow
async def test_a_killed_session_resumes_with_its_custom_provider(
    tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
):
    (tmp_path / "helpers.py").write_text(HELPERS)
    (tmp_path / "killed.py").write_text(KILLED)
    marker = tmp_path / "naps.txt"
    transcript = tmp_path / "session.jsonl"
    env = {**os.environ, "MLTRAINER_HOME": str(isolated_home), "NAP_MARKER": str(marker)}
    process = subprocess.Popen(
        [sys.executable, str(tmp_path / "killed.py"), str(tmp_path), str(transcript)],
        env={**env, "NAP_LONG": "1"},
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert process.poll() is None, "the session exited before its tool ran"
            assert time.monotonic() < deadline, "the tool did not start within 120 s"
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert not any(e.get("event") == "tool_run" for e in read_events(transcript))

    monkeypatch.setenv("NAP_MARKER", str(marker))
    monkeypatch.syspath_prepend(str(tmp_path))
    import helpers  # type: ignore[import-not-found]

    summary = await api.resume_session(
        transcript,
        settings=load_settings(),
        provider=FunctionProvider(helpers.turn),
        tools=helpers.TOOLS,
    )

    assert summary.finished is True
    assert summary.conclusion == "rested"
    naps = marker.read_text().split()
    assert len(naps) == 2 and naps[1] == str(os.getpid())
    events = read_events(transcript)
    assert [e["event"] for e in events if e["event"] in ("resumed", "session_end")] == [
        "resumed",
        "session_end",
    ]
    assert [e["name"] for e in events if e.get("event") == "tool_run"] == ["nap", "finish"]


async def test_resume_refuses_a_tool_set_missing_the_sessions_tools(tmp_path: Path):
    def turn(messages: tuple[Any, ...], info: FunctionInfo) -> AssistantTurn:
        return AssistantTurn("", (ToolCall("c1", "roll_die", '{"sides": 6}'),))

    settings = load_settings()
    summary = await start_session(
        FunctionProvider(turn),
        "Roll.",
        settings=settings,
        tools=[ROLL, TOOLS_BY_NAME["finish"]],
        budgets=Budgets(max_turns=1),
    )
    assert summary.reason.startswith("turn budget")
    # As if killed before its end: the session_end line never written.
    lines = summary.transcript.read_text().splitlines(keepends=True)
    summary.transcript.write_text("".join(x for x in lines if '"session_end"' not in x))

    with pytest.raises(TranscriptError, match=r"started with tools this process lacks: roll_die;"):
        await api.resume_session(
            summary.transcript, settings=settings, provider=FunctionProvider(turn)
        )
