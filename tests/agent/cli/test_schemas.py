"""The shipped schemas `mltrainer tools` prints are the live export of the built-in tools."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mltrainer.agent.cli.schemas import FORMATS, live, shipped, write
from mltrainer.tools import TOOLS, export_schemas

STALE = (
    "agent/tool_schemas.json is stale; rewrite it with "
    "`python -m mltrainer.agent.cli.schemas agent/tool_schemas.json`"
)


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_shipped_schemas_are_the_live_export(fmt: str):
    built_in = {tool.name: tool for tool in TOOLS}
    assert shipped(fmt) == json.loads(json.dumps(export_schemas(fmt, built_in))), STALE  # type: ignore[arg-type]


def test_writing_reproduces_the_shipped_file(tmp_path: Path):
    target = tmp_path / "tool_schemas.json"

    write(target)

    assert json.loads(target.read_text()) == {fmt: shipped(fmt) for fmt in FORMATS}
    assert set(live()) == set(FORMATS)


@pytest.mark.parametrize("fmt", ["anthropic", "openai"])
def test_mltrainer_tools_prints_them(fmt: str):
    mltrainer = Path(sys.executable).parent / "mltrainer"
    out = subprocess.run(
        [str(mltrainer), "tools", "--format", fmt], capture_output=True, text=True, check=True
    ).stdout

    assert json.loads(out) == shipped(fmt)
    assert [schema.get("name") or schema["function"]["name"] for schema in json.loads(out)] == [
        tool.name for tool in TOOLS
    ]
