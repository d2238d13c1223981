"""`mltrainer predict`: a trained trial's signal on the newest sample bars, its provenance, and
one-line refusals."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from mltrainer.agent.cli.app import app
from mltrainer.engine.ledger import Ledger
from mltrainer.engine.settings import load_settings

runner = CliRunner()


def test_predict_json_is_the_signal_of_the_newest_bar():
    assert runner.invoke(app, ["train", "logit on SPX, last 1500 days", "--json"]).exit_code == 0

    result = runner.invoke(app, ["predict", "1", "--json"])

    assert result.exit_code == 0, result.output
    signal = json.loads(result.stdout)
    assert (signal["type"], signal["trial"], signal["bar_date"]) == ("signal", 1, "2018-12-31")
    assert signal["forecast"] in (0.0, 1.0)
    assert 0.0 <= signal["probability"] <= 1.0
    assert signal["data"]["source"] == "sample"
    assert len(signal["model_sha256"]) == 64


def test_predict_prints_the_bar_the_data_hash_and_the_model_file(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    runner.invoke(app, ["train", "logit on SPX, last 1500 days", "--json"])
    signal = json.loads(runner.invoke(app, ["predict", "1", "--json"]).stdout)

    result = runner.invoke(app, ["predict", "1"])

    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.replace("│", " ").split())
    assert f"forecast for the 1 bar(s) after 2018-12-31: direction = {signal['forecast']:g}" in text
    assert f"hash {signal['data_hash']}" in text
    assert f"SHA-256 {signal['model_sha256']}, checked" in text


def test_predict_without_a_model_file_is_one_line_with_the_reason():
    runner.invoke(app, ["train", "naive bayes on SPX, last 1500 days", "--json"])
    path = Ledger(load_settings().db_path).result(1)["model_path"]  # type: ignore[index]
    Path(path).unlink()

    result = runner.invoke(app, ["predict", "1"])

    assert result.exit_code == 1
    assert result.stderr == f"error: trial 1's model file {path} is missing\n"
