"""A `sweep` call inside a session: each of its trials prints as it is recorded and counts in
the session's summary, like trials from `train_model`."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from mltrainer.agent.cli.app import app

SCRIPT = """\
- tool_calls:
    - name: sweep
      arguments:
        symbol: SPX
        days: 1500
        save_model: false
        grid: {model: [naive_bayes, logistic_regression]}
- tool_calls:
    - name: finish
      arguments: {conclusion: "Two tries, no edge."}
"""


def run_script(tmp_path: Path, *options: str) -> str:
    script = tmp_path / "sweep.yaml"
    script.write_text(SCRIPT, encoding="utf-8")
    result = CliRunner().invoke(
        app, ["run", "--goal", "g", "--provider", "scripted", "--script", str(script), *options]
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def test_a_sweeps_trials_are_printed_and_summarised(tmp_path: Path):
    output = run_script(tmp_path)

    # The two trials run in parallel, so either may be recorded (and numbered) first.
    assert re.search(
        r"✓ trial [12]: naive_bayes on SPX: excess Sharpe -?\d.* selection accuracy \d", output
    )
    assert re.search(
        r"✓ trial [12]: logistic_regression on SPX: excess Sharpe -?\d.* selection accuracy \d",
        output,
    )


def test_a_sweeps_trials_are_in_the_session_summary(tmp_path: Path):
    summary = json.loads(run_script(tmp_path, "--json"))

    trials = summary["trials"]
    assert [(t["model"], t["tries"]) for t in trials] == [
        ("naive_bayes", 2),
        ("logistic_regression", 2),
    ]
    assert sorted(t["trial"] for t in trials) == [1, 2]
