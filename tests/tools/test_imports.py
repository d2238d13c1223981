"""Listing or exporting the tools loads no ML library (scikit-learn, pandas, LightGBM, torch):
`mltrainer tools` and an MCP `tools/list` start fast. A fresh interpreter, so nothing an
earlier test imported counts."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("sklearn", "pandas", "lightgbm", "torch", "scipy", "matplotlib")


def _loaded_after(statement: str) -> list[str]:
    code = f"import sys\n{statement}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return done.stdout.split()


def test_importing_the_tools_loads_no_ml_library():
    assert _loaded_after("import mltrainer.tools") == []


def test_exporting_the_schemas_loads_no_ml_library():
    statement = "from mltrainer.tools import export_schemas; export_schemas('openai')"
    assert _loaded_after(statement) == []


def test_the_command_line_loads_no_ml_library_before_a_command_runs():
    assert _loaded_after("import mltrainer.agent.cli.app") == []
