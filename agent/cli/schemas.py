"""`mltrainer tools`: the tool schemas the LLM sees, and the built-in tools' schemas as shipped
(`tool_schemas.json`).

Building the tools' pydantic argument models is most of that command's start-up, and the
schemas of the built-in tools only change with the code. So the command prints this file when
no plugin is installed (a plugin may add tools, and then the schemas are built live). A test
checks that the file equals a live export in every format; after changing a tool, rewrite it
from the repository's root (an editable install's copy is a link into `build/`):

    python -m mltrainer.agent.cli.schemas agent/cli/tool_schemas.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from mltrainer.agent.cli.errors import fail, run_reported

SHIPPED = Path(__file__).with_name("tool_schemas.json")
FORMATS = ("openai", "anthropic", "json")


def shipped(fmt: str) -> list[dict[str, Any]]:
    """The built-in tools' schemas in `fmt`, as shipped."""
    schemas: list[dict[str, Any]] = json.loads(SHIPPED.read_text(encoding="utf-8"))[fmt]
    return schemas


def live() -> dict[str, list[dict[str, Any]]]:
    """Every format, built now from the registered tools' argument models."""
    from mltrainer.tools import export_schemas

    return {fmt: export_schemas(fmt) for fmt in FORMATS}  # type: ignore[arg-type]


def write(path: Path = SHIPPED) -> None:
    path.write_text(json.dumps(live(), indent=2) + "\n", encoding="utf-8")


def tools(
    fmt: Annotated[str, typer.Option("--format", help="openai, anthropic or json.")] = "json",
) -> None:
    """Print the tool schemas the LLM sees.

    Example: mltrainer tools --format anthropic
    """
    from importlib.metadata import entry_points

    from mltrainer.engine.plugins import PLUGIN_GROUP, load_plugins

    if fmt not in ("openai", "anthropic", "json"):
        raise fail(f"unknown format '{fmt}'; choose openai, anthropic or json")
    if not entry_points(group=PLUGIN_GROUP):  # only the built-in tools: their shipped schemas
        print(json.dumps(shipped(fmt), indent=2))
        return
    from mltrainer.tools import export_schemas

    run_reported(load_plugins)
    print(json.dumps(export_schemas(fmt), indent=2))  # type: ignore[arg-type]


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else SHIPPED
    write(target)
    print(f"wrote {target}")
