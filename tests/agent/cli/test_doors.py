"""Clear errors at every door of the command line: malformed transcripts of every shape, a data
home that cannot be used, numbers out of range and bad arguments all end in one line on stderr
that says what is wrong and what to do, exit code 1 or 2, and never a traceback."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from mltrainer.agent.cli.app import app

runner = CliRunner()
HEADER = {
    "v": 1,
    "ts": "2026-01-01T00:00:00+00:00",
    "event": "session_start",
    "session_id": "s-1",
    "provider": "scripted",
    "model": "scripted",
    "goal": "g",
}
USER = {"v": 1, "ts": "2026-01-01T00:00:01+00:00", "event": "user", "text": "g"}
ASSISTANT = {
    "v": 1,
    "ts": "2026-01-01T00:00:02+00:00",
    "event": "assistant",
    "text": "",
    "tool_calls": [{"id": "c1", "name": "list_sources", "arguments": "{}"}],
    "usage": {"input_tokens": 1, "output_tokens": 1, "cost_usd": None},
    "stop_reason": "tool_use",
    "model": "scripted",
}


def lines(*events: object) -> bytes:
    return b"".join((e if isinstance(e, bytes) else json.dumps(e).encode()) + b"\n" for e in events)


def changed(event: dict[str, object], **fields: object) -> dict[str, object]:
    return {**event, **fields}


def without(event: dict[str, object], field: str) -> dict[str, object]:
    return {k: v for k, v in event.items() if k != field}


# Each: what the file holds (or a maker for special paths) and what the message must say.
TRANSCRIPTS: dict[str, tuple[bytes | Callable[[Path], Path], str]] = {
    "not JSON mid-file": (lines(HEADER, b"{not json", USER), r":2 is not valid JSON"),
    "a JSON array line": (
        lines(HEADER, [1, 2], USER),
        r":2 is not a JSON object \(got a JSON array\)",
    ),
    "a JSON string line": (
        lines(HEADER, "x", USER),
        r":2 is not a JSON object \(got a JSON string\)",
    ),
    "a null line": (lines(HEADER, None, USER), r":2 is not a JSON object \(got a JSON null\)"),
    "wrong schema version": (lines(changed(HEADER, v=99)), r":1 has schema version 99"),
    "no schema version": (lines(without(HEADER, "v")), r":1 has schema version None"),
    "assistant event missing fields": (
        lines(HEADER, USER, without(ASSISTANT, "tool_calls")),
        r":3: assistant event: tool_calls: Field required",
    ),
    "assistant event with wrong types": (
        lines(HEADER, USER, changed(ASSISTANT, usage={"input_tokens": "many"})),
        r":3: assistant event: usage.input_tokens: Input should be a valid integer",
    ),
    "tool call that is not an object": (
        lines(HEADER, USER, changed(ASSISTANT, tool_calls=["list_sources"])),
        r":3: assistant event: tool_calls.0: Input should be",
    ),
    "header with wrong types": (
        lines(changed(HEADER, budgets={"max_turns": "lots"})),
        r":1: session_start event: budgets.max_turns: Input should be a valid integer",
    ),
    "header with absurd budgets": (
        lines(changed(HEADER, budgets={"max_seconds": 1e300})),
        r"budgets.max_seconds: Input should be less than or equal to",
    ),
    "no session_start": (lines(USER), r"transcript has no session_start event"),
    "an event without a name": (
        lines(HEADER, {"v": 1, "text": "x"}),
        r":2: the event's name \('event'\) is missing",
    ),
    "nested 100,000 deep": (lines(HEADER, b"[" * 100_000 + b"]" * 100_000), r":2"),
    "a number of 5,000 digits": (lines(HEADER, b"[" + b"9" * 5000 + b"]"), r":2 is not valid JSON"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", r":1 is not UTF-8 text"),
    "empty file": (b"", r"holds no events"),
    "only blank lines": (b"\n\n  \n", r"holds no events"),
    "a directory": (lambda tmp: tmp, r"is a directory; give a transcript \.jsonl file"),
    "a missing file": (lambda tmp: tmp / "gone.jsonl", r"no transcript at"),
}


def assert_one_line_error(result: Result, pattern: str, code: int = 1) -> None:
    import re

    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.stdout == "" or not result.stdout.strip().startswith("Traceback")
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1, result.stderr
    assert re.search(pattern, result.stderr), result.stderr


@pytest.mark.parametrize("command", ["resume", "replay"])
@pytest.mark.parametrize("shape", list(TRANSCRIPTS))
def test_every_malformed_transcript_is_one_clear_line(
    tmp_path: Path, command: str, shape: str
) -> None:
    content, pattern = TRANSCRIPTS[shape]
    if callable(content):
        path = content(tmp_path)
    else:
        path = tmp_path / "t.jsonl"
        path.write_bytes(content)

    result = runner.invoke(app, [command, str(path)])

    assert_one_line_error(result, pattern)


# --- the data home -------------------------------------------------------------------------------

HOME_COMMANDS = [
    ["trials", "list"],
    ["trials", "show", "1"],
    ["data", "list"],
    ["train", "random forest on SPX"],
    ["run", "--goal", "g", "--provider", "scripted", "--script", "SCRIPT"],
    ["demo"],
]


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "script.yaml"
    path.write_text("- tool_calls: [{name: finish, arguments: {conclusion: x}}]\n")
    return path


@pytest.mark.parametrize("command", HOME_COMMANDS, ids=" ".join)
def test_a_data_home_that_is_a_file_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: Path, command: list[str]
) -> None:
    home = tmp_path / "home-file"
    home.write_text("not a folder")
    monkeypatch.setenv("MLTRAINER_HOME", str(home))

    result = runner.invoke(app, [str(script) if a == "SCRIPT" else a for a in command])

    assert_one_line_error(result, r"(a file is in the way|Not a directory)")
    assert "MLTRAINER_HOME" in result.stderr


def _unwritable_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    if not os.access(folder, os.W_OK):
        return folder
    system = Path("/sys/mltrainer-home")  # read-only even for root in a container
    try:
        system.mkdir()
    except OSError:
        return system
    system.rmdir()
    pytest.skip("no unwritable folder on this machine (running as root on a writable /sys)")


@pytest.mark.parametrize("command", HOME_COMMANDS, ids=" ".join)
def test_an_unwritable_data_home_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: Path, command: list[str]
) -> None:
    monkeypatch.setenv("MLTRAINER_HOME", str(_unwritable_folder(tmp_path)))

    result = runner.invoke(app, [str(script) if a == "SCRIPT" else a for a in command])

    assert_one_line_error(result, r"MLTRAINER_HOME")


def test_a_database_that_is_not_sqlite_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, isolated_home: Path
) -> None:
    isolated_home.mkdir(parents=True)
    (isolated_home / "mltrainer.db").write_bytes(b"this is not a database" * 100)

    result = runner.invoke(app, ["trials", "list"])

    assert_one_line_error(result, r"cannot open the database .*mltrainer\.db")


# --- numbers and arguments -----------------------------------------------------------------------


@pytest.mark.parametrize("trial", ["99999999999999999999", "9223372036854775808", "0", "²"])
def test_trial_numbers_out_of_range_are_not_found(trial: str) -> None:
    result = runner.invoke(app, ["trials", "show", trial])

    assert_one_line_error(result, rf"no recorded trial '{trial}'")


@pytest.mark.parametrize(
    ("arguments", "pattern"),
    [
        (["run", "--goal", "g", "--max-turns", "99999999999999999999"], r"--max-turns"),
        (["run", "--goal", "g", "--max-seconds", "1e400"], r"--max-seconds"),
        (["run", "--goal", "g", "--max-seconds", "nan"], r"--max-seconds"),
        (["run", "--goal", "g", "--max-cost", "-1"], r"--max-cost"),
        (["run", "--goal", "g", "--max-tool-calls", "0"], r"--max-tool-calls"),
        (["run", "--goal", "g", "--nonsense"], r"No such option: --nonsense"),
        (["run"], r"Missing option '--goal'"),
        (["trials", "list", "--limit", "99999999999999999999"], r"--limit"),
        (["resume"], r"Missing argument"),
        (["tools", "--format", "yaml"], r"unknown format 'yaml'"),
        (["no-such-command"], r"No such command"),
    ],
)
def test_bad_arguments_are_one_line_with_the_help_to_read(
    arguments: list[str], pattern: str
) -> None:
    result = runner.invoke(app, arguments)

    code = 1 if arguments[0] == "tools" else 2
    assert_one_line_error(result, pattern, code)
    if code == 2:
        assert "--help`." in result.stderr


def test_an_unknown_provider_is_one_line() -> None:
    result = runner.invoke(app, ["run", "--goal", "g", "--provider", "bard"])

    assert_one_line_error(result, r"unknown provider 'bard'; choose one of")


def test_resume_with_a_script_that_does_not_exist_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(lines(changed(HEADER, provider_options={"script": "/nowhere/s.yaml"}), USER))

    result = runner.invoke(app, ["resume", str(path)])

    assert_one_line_error(result, r"cannot read script /nowhere/s\.yaml")
