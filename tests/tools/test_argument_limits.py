"""Tool arguments that are too deep, too large or not JSON are errors the model can fix, with
the limit stated, and never reach a parser that recurses into them."""

from __future__ import annotations

import json

import pytest

from mltrainer.tools import TOOLS, ToolArgumentError, get_tool
from mltrainer.tools.base import MAX_ARGUMENT_CHARS, MAX_ARGUMENT_DEPTH, json_depth


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("", 0),
        ("{}", 1),
        ('{"a": [1, {"b": 2}]}', 3),
        ('{"a": "[[[{{{"}', 1),
        ('{"a": "\\"[[["}', 1),
        ("[" * 1000 + "]" * 1000, 1000),
        ('["\\\\", [["\\\\\\"]"]]]', 3),
    ],
)
def test_json_depth_skips_strings(text: str, depth: int) -> None:
    assert json_depth(text) == depth


def test_json_depth_of_a_million_levels_needs_no_recursion() -> None:
    assert json_depth("[" * 1_000_000) == 1_000_000


def test_json_depth_of_a_long_string_allocates_next_to_nothing() -> None:
    """The regex it replaces kept about 150 bytes per character of a string (300 MB for this
    2 MB one, measured the same way), which is how a small reply exhausted memory."""
    import tracemalloc

    text = json.dumps({"content": "x" * 2_000_000})
    tracemalloc.start()
    try:
        depth = json_depth(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert depth == 1
    assert peak < 1_000_000


@pytest.mark.parametrize("tool", [tool.name for tool in TOOLS])
def test_arguments_nested_1000_deep_are_refused_with_the_limit(tool: str) -> None:
    nested = '{"symbol": ' + '{"a": ' * 1000 + "1" + "}" * 1000 + "}"

    with pytest.raises(ToolArgumentError) as raised:
        get_tool(tool).parse(nested)

    assert str(raised.value) == (
        f"{tool}: arguments nest 1001 levels deep; the limit is {MAX_ARGUMENT_DEPTH}. "
        "Send one flat JSON object of the tool's fields"
    )


def test_arguments_at_the_depth_limit_are_validated_normally() -> None:
    nested = (
        '{"symbol": ' + "[" * (MAX_ARGUMENT_DEPTH - 1) + "1" + "]" * (MAX_ARGUMENT_DEPTH - 1) + "}"
    )

    with pytest.raises(ToolArgumentError, match=r"^train_model: symbol: Input should be a valid"):
        get_tool("train_model").parse(nested)


def test_arguments_over_the_size_limit_are_refused_with_the_limit() -> None:
    huge = json.dumps({"conclusion": "x" * MAX_ARGUMENT_CHARS})

    with pytest.raises(ToolArgumentError) as raised:
        get_tool("finish").parse(huge)

    assert str(raised.value) == (
        f"finish: arguments are {len(huge)} characters long; the limit is "
        f"{MAX_ARGUMENT_CHARS}. Send only the fields the tool takes"
    )


def test_a_rejected_value_is_echoed_clipped() -> None:
    with pytest.raises(ToolArgumentError) as raised:
        get_tool("train_model").parse(json.dumps({"symbol": "SPX", "lookback": "9" * 5000}))

    assert len(str(raised.value)) < 300
    assert str(raised.value).endswith("...)")


@pytest.mark.parametrize("raw", ["not json", "{'single': 1}", "{", "\x00\x01", "1e999999"])
def test_text_that_is_not_json_is_refused(raw: str) -> None:
    with pytest.raises(ToolArgumentError, match="arguments"):
        get_tool("train_model").parse(raw)
