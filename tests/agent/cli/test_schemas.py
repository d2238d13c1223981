"""`mltrainer tools`, as a whole process: it prints the live export of the registered tools, a
plugin's tool included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mltrainer.tools import TOOLS, export_schemas

MLTRAINER = Path(sys.executable).parent / "mltrainer"

PLUGIN = '''\
from pydantic import BaseModel

from mltrainer.tools import Tool, register_tool


class Shrug(BaseModel):
    """Say nothing."""


register_tool(Tool("shrug", Shrug, lambda context, args: {"status": "success"}))
'''


def tools(fmt: str, env: dict[str, str] | None = None) -> list[dict[str, object]]:
    done = subprocess.run(
        [str(MLTRAINER), "tools", "--format", fmt],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    schemas: list[dict[str, object]] = json.loads(done.stdout)
    return schemas


def name_of(schema: dict[str, object]) -> object:
    function = schema.get("function")
    return function["name"] if isinstance(function, dict) else schema["name"]


@pytest.mark.parametrize("fmt", ["openai", "anthropic", "json"])
def test_mltrainer_tools_prints_the_live_export(fmt: str):
    built_in = {tool.name: tool for tool in TOOLS}

    assert tools(fmt) == json.loads(json.dumps(export_schemas(fmt, built_in)))  # type: ignore[arg-type]


def test_a_plugin_s_tool_is_printed_after_the_built_ins(tmp_path: Path):
    (tmp_path / "shrug_plugin.py").write_text(PLUGIN, encoding="utf-8")
    info = tmp_path / "shrug_plugin-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: shrug-plugin\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[mltrainer.plugins]\nshrug = shrug_plugin\n")

    printed = tools("anthropic", {**os.environ, "PYTHONPATH": str(tmp_path)})

    assert [name_of(schema) for schema in printed] == [*(tool.name for tool in TOOLS), "shrug"]
