"""`mltrainer train`: the configuration that ran comes first; options fill in what the
instruction leaves out, and an instruction that contradicts them is refused. The trial is a
`train_model` tool call, counted and recorded as any surface's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY
from typer.testing import CliRunner, Result

from mltrainer.agent.cli.app import app

runner = CliRunner()
FAST = "Train naive Bayes on SPX"


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


def outcome(*args: str) -> dict[str, Any]:
    result = invoke("train", *args, "--json")
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_train_output_starts_with_the_configuration_that_ran():
    result = invoke("train", FAST + " with a 30 day lookback")

    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    assert first == (
        "Ran naive_bayes on SPX: source=auto, dates=all, train_ratio=0.8, lookback=30, "
        "horizon=1, folds=5, embargo=5, cost_bps=2, seed=42, execution=next_bar, features=default, "
        "macro=none, "
        "params=default."
    )
    assert result.stdout.count("Ran naive_bayes on SPX") == 1
    *_, question, transcript = result.stdout.rstrip().splitlines()
    assert question.endswith("continue, retrain, or switch?")
    assert transcript.startswith("Transcript: ") and transcript.endswith(".jsonl")


def test_train_options_fill_in_what_the_text_leaves_out():
    data = outcome(
        FAST,
        *("--source", "sample", "--start", "2005-01-01", "--end", "2012-12-31"),
        *("--seed", "3", "--features", "rsi, momentum"),
    )

    ran = data["ml_result"]["config"]
    assert (ran["source"], ran["start"], ran["end"]) == ("sample", "2005-01-01", "2012-12-31")
    assert (ran["seed"], ran["features"]) == (3, ["rsi", "momentum"])
    assert data["configuration"].startswith(
        "naive_bayes on SPX: source=sample, dates=2005-01-01..2012-12-31, "
    )


def test_train_days_option():
    data = outcome(FAST, "--days", "1200")

    assert data["ml_result"]["config"]["days"] == 1200


def test_train_an_instruction_that_contradicts_an_option_is_refused():
    result = invoke("train", FAST + " with seed 7", "--seed", "3")

    assert result.exit_code == 1
    assert "the instruction says seed=7 but the option says 3" in result.stderr


def test_train_an_option_out_of_range_is_refused_with_the_range():
    result = invoke("train", FAST, "--days", "50")

    assert result.exit_code == 1
    assert "days 50 is out of range (allowed: 100 to 20000)" in " ".join(result.stderr.split())


def test_train_refuses_an_unknown_model_and_trains_nothing():
    result = invoke("train", "Train a transformer on SPX", "--json")

    data = json.loads(result.stdout)
    assert result.exit_code == 1
    assert data["ml_result"]["type"] == "not_done"
    assert "model 'transformer': there is no transformer model" in data["ml_result"]["error"]
    assert data["configuration"] is None


def test_train_runs_the_train_model_tool_and_counts_the_call():
    labels = {"tool": "train_model", "status": "ok"}
    before = REGISTRY.get_sample_value("mltrainer_tool_calls_total", labels) or 0.0

    data = outcome(FAST, "--days", "1200")

    assert REGISTRY.get_sample_value("mltrainer_tool_calls_total", labels) == before + 1
    assert data["ml_result"]["type"] == "training_complete"
    assert data["ml_result"]["trial"] == 1
    assert "test_accuracy" not in data["ml_result"]  # the tool's result, not the seed's dict


UNREAD = """
import sys
from mltrainer.agent.cli.app import main
sys.argv = ["mltrainer", "train", "blorp the frobnicator"]
try:
    main()
except SystemExit as done:
    heavy = ("sklearn", "lightgbm", "torch", "scipy", "matplotlib", "statsmodels")
    print(done.code, " ".join(m for m in heavy if m in sys.modules), file=sys.stderr)
"""


def test_an_instruction_that_cannot_be_read_is_answered_before_the_engine_loads(
    isolated_home: Path,
) -> None:
    # pandas may load: the sources list the symbols free text may name in lower case.
    done = subprocess.run(
        [sys.executable, "-c", UNREAD], capture_output=True, text=True, check=True, timeout=120
    )

    assert "no ticker symbol found in the instruction" in done.stderr
    assert done.stderr.splitlines()[-1] == "1 "
    assert not (isolated_home / "transcripts").exists()
