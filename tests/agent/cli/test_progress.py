"""What `mltrainer run` prints as a session goes: the LLM's text, every tool error, and what the
bridge made of free text (what it read, what it did not do)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from mltrainer.agent.cli.app import app
from mltrainer.agent.cli.progress import _bridge_note
from mltrainer.agent.providers import ScriptedProvider

runner = CliRunner()
SCRIPT = """\
- text: "Let me look at the data first."
  tool_calls:
    - name: list_sources
      arguments: {}
- text: "This one is broken on purpose."
  tool_calls:
    - name: train_model
      arguments: {symbol: SPX, model: naive_bayes, train_ratio: 1.5}
- "Now train a transformer on SPX."
- tool_calls:
    - name: finish
      arguments: {conclusion: "Nothing ran that could beat a baseline."}
"""


def run_script(tmp_path: Path, script: str, *options: str) -> Result:
    path = tmp_path / "turns.yaml"
    path.write_text(script, encoding="utf-8")
    return runner.invoke(
        app,
        ["run", "--provider", "scripted", "--script", str(path), "--goal", "g", *options],
    )


def test_run_prints_the_llms_text_and_every_tool_error_as_they_happen(tmp_path: Path):
    result = run_script(tmp_path, SCRIPT)

    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    assert "LLM: Let me look at the data first." in out
    assert "LLM: This one is broken on purpose." in out
    assert "! train_model: ERROR: train_model: train_ratio" in out
    assert "LLM: Now train a transformer on SPX." in out
    assert "→ Not done, nothing was run: model 'transformer'" in out
    assert out.index("broken on purpose") < out.index("! train_model") < out.index("transformer")


def test_a_turn_of_many_failing_calls_prints_the_first_ten_and_counts_the_rest(tmp_path: Path):
    calls = "\n".join(f"    - name: no_such_tool_{i}\n      arguments: {{}}" for i in range(25))
    finish = "- tool_calls:\n    - name: finish\n      arguments: {conclusion: done}\n"
    script = f"- tool_calls:\n{calls}\n{finish}"

    result = run_script(tmp_path, script, "--max-tool-calls", "100")

    out = " ".join(result.stdout.split())
    assert out.count("! no_such_tool_") == 10
    assert "! 15 more tool errors this turn, all in the transcript" in out


def test_run_json_prints_only_the_summary(tmp_path: Path):
    result = run_script(tmp_path, SCRIPT, "--json")

    assert json.loads(result.stdout)["reason"] == "finished"


def test_a_free_text_trial_prints_what_was_read_not_the_whole_feedback():
    text = "(Read from your text: symbol=SPX.) Trial 1 (x). Ran naive_bayes on SPX: ..."

    assert _bridge_note(text) == "(Read from your text: symbol=SPX.)"
    assert _bridge_note("(Read: a.) ERROR from train_model: boom") == (
        "(Read: a.) ERROR from train_model: boom"
    )
    assert _bridge_note("Not done, nothing was run: x.") == "Not done, nothing was run: x."


def test_run_help_documents_the_script_format_and_the_example_file():
    result = runner.invoke(app, ["run", "--help"])

    text = " ".join(result.stdout.split())
    assert "a YAML list (JSON when it ends in .json) of assistant turns" in text
    assert '"script finished"' in text
    assert "prompts/example_script.yaml" in text


def example_script() -> Path:
    return Path(str(resources.files("mltrainer.prompts").joinpath("example_script.yaml")))


def test_the_example_script_ships_and_reads():
    turns = ScriptedProvider.from_file(example_script()).turns

    assert len(turns) == 8
    assert turns[2].text == "Retrain with a 0.9 ratio."


@pytest.mark.slow
def test_the_example_script_runs_four_trials_and_refuses_the_transformer(tmp_path: Path):
    result = runner.invoke(
        app,
        ["run", "--provider", "scripted", "--script", str(example_script()), "--goal", "g"],
    )

    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    assert out.count("✓ trial") == 4
    assert "Not done, nothing was run: model 'transformer'" in out
    assert "Session ended: finished" in out


def test_engine_progress_reads_as_fold_i_of_k():
    from mltrainer.engine.progress import progress_text

    assert progress_text("walk-forward fold", 3, 5) == ("walk-forward fold 3 of 5")
    assert progress_text("final fit", 1, 1) == "final fit"
