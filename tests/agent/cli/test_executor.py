"""`--executor` / `--scheduler` on the commands that train: the trial runs where asked, and an
option that cannot be honoured is refused, never ignored."""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

from mltrainer.agent.cli.app import app
from mltrainer.engine.executors import ProcessExecutor, close_executors, executor_for
from mltrainer.engine.settings import load_settings

runner = CliRunner()
FAST = "Train naive Bayes on SPX"


@pytest.mark.slow
def test_train_with_the_process_executor_runs_the_trial_in_a_worker_process():
    try:
        result = runner.invoke(app, ["train", FAST, "--executor", "process", "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["ml_result"]["status"] == "success"
        pool = executor_for(load_settings().model_copy(update={"executor": "process"}))
        assert isinstance(pool, ProcessExecutor)
        assert pool._pool is not None  # started by the trial, not before
    finally:
        close_executors()


def test_a_scheduler_without_the_dask_executor_is_refused():
    result = runner.invoke(app, ["train", FAST, "--scheduler", "tcp://127.0.0.1:8786"])

    assert result.exit_code == 1
    assert "--scheduler tcp://127.0.0.1:8786 is only used with --executor dask" in result.output
    assert "executor is 'local'" in result.output


def test_an_unknown_executor_is_refused_naming_the_choices():
    result = runner.invoke(app, ["run", "--goal", "x", "--executor", "ray"])

    assert result.exit_code == 1
    assert "unknown executor 'ray'; executors are local, process, dask" in result.output


def test_help_says_what_each_executor_does():
    output = runner.invoke(app, ["run", "--help"]).stdout
    text = " ".join(output.replace("│", " ").split())
    assert "--executor" in text and "--scheduler" in text
    assert "in a pool of worker processes on this machine" in text
    assert "on a Dask cluster's workers" in text


def test_the_dask_executor_without_distributed_gives_the_install_hint(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError

    result = runner.invoke(app, ["train", FAST, "--executor", "dask"])

    assert result.exit_code == 1
    assert "the dask executor needs dask and distributed, which are not installed" in result.output
    assert "pip install 'mltrainer[dask]'" in result.output
    assert "This is a bug" not in result.output
