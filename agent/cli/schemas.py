"""`mltrainer tools`: the tool schemas the LLM sees, exported now from the registered tools'
argument models (built-ins and plugins' alike). The export takes about 50 ms more than printing
a stored copy did, which keeps the command well inside its start-up target
(`benchmarks/import_time.py`), so no copy is kept to drift from the code.
"""

from __future__ import annotations

import json
from typing import Annotated, get_args

import typer

from mltrainer.agent.cli.errors import fail, run_reported


def tools(
    fmt: Annotated[str, typer.Option("--format", help="openai, anthropic or json.")] = "json",
) -> None:
    """Print the tool schemas the LLM sees.

    Example: mltrainer tools --format anthropic
    """
    from mltrainer.engine.plugins import load_plugins
    from mltrainer.tools import SchemaFormat, export_schemas

    formats: tuple[SchemaFormat, ...] = get_args(SchemaFormat)
    if fmt not in formats:
        raise fail(f"unknown format '{fmt}'; choose {', '.join(formats[:-1])} or {formats[-1]}")
    run_reported(load_plugins)
    print(json.dumps(export_schemas(fmt), indent=2))
