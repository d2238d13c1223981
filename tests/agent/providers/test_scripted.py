"""ScriptedProvider: turns from YAML and JSON files, raw arguments, exhaustion, bad files."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from mltrainer.agent.messages import AssistantTurn, ToolCall, UserMessage
from mltrainer.agent.providers import (
    ProviderConfigError,
    ProviderError,
    ScriptFinished,
    scripted,
)
from mltrainer.agent.providers.scripted import ScriptedProvider

YAML_SCRIPT = """\
- text: Let me see what data there is.
  tool_calls:
    - name: list_symbols
      arguments: {source: sample}
- tool_calls:
    - name: train_model
      arguments: {symbol: SP500, model: random_forest, train_ratio: 0.8}
    - name: train_model
      arguments: '{"symbol": "SP500", "model": '
- Train a logistic regression on SP500 with an 80/20 split.
"""


async def play(provider: ScriptedProvider, turns: int) -> list[AssistantTurn]:
    return [
        await provider.complete(system="", messages=[UserMessage("go")], tools=[])
        for _ in range(turns)
    ]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


async def test_yaml_script_plays_in_order(tmp_path: Path) -> None:
    provider = ScriptedProvider.from_file(write(tmp_path, "script.yaml", YAML_SCRIPT))

    first, second, third = await play(provider, 3)

    assert first == AssistantTurn(
        text="Let me see what data there is.",
        tool_calls=(ToolCall("call_1", "list_symbols", '{"source": "sample"}'),),
        stop_reason="tool_use",
        model="scripted",
    )
    assert second.tool_calls == (
        ToolCall(
            "call_2",
            "train_model",
            '{"symbol": "SP500", "model": "random_forest", "train_ratio": 0.8}',
        ),
        ToolCall("call_3", "train_model", '{"symbol": "SP500", "model": '),
    )
    assert third == AssistantTurn(
        text="Train a logistic regression on SP500 with an 80/20 split.", model="scripted"
    )


async def test_json_script(tmp_path: Path) -> None:
    script = [
        {"text": "Training.", "tool_calls": [{"name": "train_model", "arguments": {"a": 1}}]},
        {"text": "Done."},
    ]
    path = write(tmp_path, "script.json", json.dumps(script))

    first, second = await play(ScriptedProvider.from_file(path, model="gpt-4o-mini"), 2)

    assert first.tool_calls == (ToolCall("call_1", "train_model", '{"a": 1}'),)
    assert first.model == "gpt-4o-mini"
    assert (second.text, second.tool_calls, second.stop_reason) == ("Done.", (), "end_turn")


async def test_raw_string_arguments_are_kept_verbatim(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "script.yaml",
        "- tool_calls:\n    - name: train_model\n      arguments: 'not json at all {'\n",
    )

    [turn] = await play(ScriptedProvider.from_file(path), 1)

    assert turn.tool_calls[0].arguments == "not json at all {"


async def test_yaml_dates_become_iso_text(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "script.yaml",
        "- tool_calls:\n    - name: fetch_data\n      arguments: {start: 2015-01-02}\n",
    )

    [turn] = await play(ScriptedProvider.from_file(path), 1)

    assert turn.tool_calls[0].arguments == '{"start": "2015-01-02"}'


async def test_exhausted_script_raises_script_finished() -> None:
    provider = ScriptedProvider([AssistantTurn(text="one"), AssistantTurn(text="two")])
    await play(provider, 2)

    with pytest.raises(ScriptFinished, match=r"^script finished$") as raised:
        await play(provider, 1)

    assert isinstance(raised.value, ProviderError)
    assert not isinstance(raised.value, ProviderConfigError)


async def test_turns_given_directly_are_returned_as_given() -> None:
    turn = AssistantTurn(text="hello", tool_calls=(ToolCall("my-id", "finish", "{}"),))

    assert await play(ScriptedProvider([turn]), 1) == [turn]


async def test_module_docstring_example_is_a_valid_script(tmp_path: Path) -> None:
    assert scripted.__doc__ is not None
    example = textwrap.dedent(
        "\n".join(re.findall(r"^ {4}.*$", scripted.__doc__, flags=re.MULTILINE))
    )
    provider = ScriptedProvider.from_file(write(tmp_path, "example.yaml", example))

    turns = await play(provider, 4)

    assert [call.name for turn in turns for call in turn.tool_calls] == [
        "list_symbols",
        "train_model",
        "train_model",
        "finish",
    ]


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("bad.yaml", "- text: [unclosed\n", r"bad\.yaml is not valid YAML: line 2"),
        ("bad.json", '[{"text": "a"},\n {"text": }]', r"bad\.json is not valid JSON: line 2"),
        ("bad.yaml", "", r"bad\.yaml must be a non-empty list of turns, got nothing"),
        ("bad.yaml", "text: hello\n", r"must be a non-empty list of turns, got dict"),
        ("bad.yaml", "- 42\n", r"turn 1: expected a mapping with text and/or tool_calls, got int"),
        ("bad.yaml", "- ok\n- txt: typo\n", r"turn 2: unknown key 'txt'"),
        ("bad.yaml", "- {}\n", r"turn 1: a turn needs 'text', 'tool_calls' or both"),
        ("bad.yaml", "- text: [a, b]\n", r"turn 1: 'text' must be a string, got list"),
        ("bad.yaml", "- tool_calls: finish\n", r"turn 1: 'tool_calls' must be a list, got str"),
        (
            "bad.yaml",
            "- tool_calls:\n    - arguments: {}\n",
            r"turn 1, tool call 1: 'name' is missing",
        ),
        (
            "bad.yaml",
            "- tool_calls:\n    - {name: finish, args: {}}\n",
            r"turn 1, tool call 1: unknown key 'args'",
        ),
        (
            "bad.yaml",
            "- tool_calls:\n    - {name: finish, arguments: [1, 2]}\n",
            r"turn 1, tool call 1: 'arguments' must be a mapping or a string, got list",
        ),
    ],
)
def test_bad_file_names_the_file_and_the_problem(
    tmp_path: Path, name: str, text: str, problem: str
) -> None:
    path = write(tmp_path, name, text)

    with pytest.raises(ProviderConfigError, match=problem) as raised:
        ScriptedProvider.from_file(path)

    assert str(path) in str(raised.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ProviderConfigError, match=r"cannot read script .*nowhere\.yaml"):
        ScriptedProvider.from_file(tmp_path / "nowhere.yaml")


async def test_a_resumed_script_continues_after_the_turns_it_played():
    turns = [AssistantTurn(text=f"turn {n}") for n in (1, 2, 3)]

    resumed = ScriptedProvider(turns, model="plan-b").resumed_after(2)

    assert resumed.model == "plan-b"
    assert (await resumed.complete(system="", messages=[], tools=[])).text == "turn 3"
    with pytest.raises(ScriptFinished):
        await resumed.complete(system="", messages=[], tools=[])
