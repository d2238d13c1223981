"""The `mltrainer` command line through typer's CliRunner: real engine, sample data, no network."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from mltrainer.agent.cli.app import app
from mltrainer.agent.session.transcript import read_events
from mltrainer.engine.ledger import Ledger
from mltrainer.engine.settings import load_settings

runner = CliRunner()

TOOL_NAMES = [
    "list_sources",
    "list_symbols",
    "list_models",
    "fetch_data",
    "train_model",
    "sweep",
    "evaluate_trial",
    "compare_trials",
    "finalize",
    "finish",
]
INSTRUCTION = "Train logistic regression on SPX with 80% train ratio"
CHEAP_SCRIPT = """\
- text: "What is there?"
  tool_calls:
    - name: list_sources
      arguments: {}
- tool_calls:
    - name: finish
      arguments: {conclusion: "Nothing tried, nothing learned."}
"""


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


def stdout_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def one_paragraph(text: str) -> str:
    return " ".join(text.split())


# --- tools --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "keys"),
    [
        ("openai", {"type", "function"}),
        ("anthropic", {"name", "description", "input_schema"}),
        ("json", {"name", "description", "inputSchema"}),
    ],
)
def test_tools_prints_every_tool_in_each_format(fmt: str, keys: set[str]):
    schemas = stdout_json(invoke("tools", "--format", fmt))

    assert len(schemas) == len(TOOL_NAMES)
    assert all(set(schema) == keys for schema in schemas)


def test_tools_openai_format_wraps_each_function():
    schemas = stdout_json(invoke("tools", "--format", "openai"))

    assert [s["type"] for s in schemas] == ["function"] * len(TOOL_NAMES)
    assert [s["function"]["name"] for s in schemas] == TOOL_NAMES
    assert all(set(s["function"]) == {"name", "description", "parameters"} for s in schemas)
    assert all(s["function"]["parameters"]["type"] == "object" for s in schemas)


def test_tools_anthropic_format_has_input_schemas():
    schemas = stdout_json(invoke("tools", "--format", "anthropic"))

    assert [s["name"] for s in schemas] == TOOL_NAMES
    assert all(s["input_schema"]["type"] == "object" for s in schemas)


def test_tools_defaults_to_json_format():
    schemas = stdout_json(invoke("tools"))

    assert [s["name"] for s in schemas] == TOOL_NAMES
    assert all("inputSchema" in s for s in schemas)


def test_tools_unknown_format_fails_with_one_line():
    result = invoke("tools", "--format", "xml")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "error: unknown format 'xml'; choose openai, anthropic or json\n"


# --- train and trials ---------------------------------------------------------------------------


def test_train_json_reports_a_successful_trial():
    outcome = stdout_json(invoke("train", INSTRUCTION, "--json"))

    assert outcome["original_instruction"] == INSTRUCTION
    assert outcome["parsed_config"]["symbol"] == "SPX"
    assert outcome["parsed_config"]["model"] == "logistic_regression"
    assert outcome["parsed_config"]["train_ratio"] == 0.8
    assert outcome["ml_result"]["status"] == "success"
    assert outcome["ml_result"]["data_label"] == "REAL DATA"
    assert outcome["ml_result"]["trial"] == 1
    assert outcome["feedback_question"].endswith("continue, retrain, or switch?")


def test_train_prints_a_table_and_the_feedback():
    result = invoke("train", INSTRUCTION)

    assert result.exit_code == 0, result.output
    assert "logistic_regression" in result.stdout
    assert "continue, retrain, or switch?" in result.stdout


def test_train_without_a_symbol_fails():
    result = invoke("train", "hello there")

    assert result.exit_code == 1
    assert "no ticker symbol found in the instruction" in one_paragraph(result.stderr)


def test_train_is_a_session_of_its_own_that_replays_and_checks():
    outcome = stdout_json(invoke("train", INSTRUCTION, "--json"))
    transcript = Path(outcome["transcript"])

    replayed = stdout_json(invoke("replay", str(transcript), "--check", "--json"))

    assert read_events(transcript)[0]["kind"] == "train"
    assert Ledger(load_settings().db_path).result(1)["session"] == transcript.stem  # type: ignore[index]
    assert (replayed["checked"], replayed["differences"]) == (1, [])
    assert replayed["reason"] == "trained"
    assert Ledger(load_settings().db_path).count() == 1


def test_a_train_session_cannot_be_resumed():
    transcript = stdout_json(invoke("train", INSTRUCTION, "--json"))["transcript"]

    result = invoke("resume", transcript)

    assert result.exit_code == 1
    assert "made outside an agent session" in one_paragraph(result.stderr)


def test_an_instruction_refused_before_anything_runs_records_no_session():
    invoke("train", "hello there")

    assert list(load_settings().transcripts_dir.glob("*.jsonl")) == []


def test_a_train_that_fails_prints_its_error_once_and_whole_and_never_says_ran():
    result = invoke("train", "random forest on TSLA")

    assert result.exit_code == 1
    assert "Ran " not in result.stdout
    assert "Configuration read: random_forest on TSLA" in result.stdout
    assert result.stderr.count("error:") == 1
    assert result.stderr.startswith("error: no real bars for 'TSLA'")
    assert result.stderr.rstrip().endswith("(MLTRAINER_ALLOW_SYNTHETIC_FALLBACK=false))")


def test_version_prints_the_installed_version():
    from importlib.metadata import version

    result = invoke("--version")

    assert result.exit_code == 0
    assert result.stdout == f"mltrainer {version('mltrainer')}\n"


def test_train_without_a_symbol_json_still_prints_the_outcome():
    result = invoke("train", "hello there", "--json")

    assert result.exit_code == 1
    outcome = json.loads(result.stdout)
    assert outcome["parsed_config"] is None
    assert outcome["ml_result"]["status"] == "error"
    assert outcome["ml_result"]["type"] == "no_instruction"


def test_trials_list_json_shows_a_trained_trial():
    invoke("train", INSTRUCTION, "--json")

    rows = stdout_json(invoke("trials", "list", "--json"))

    assert [(r["trial"], r["symbol"], r["model"], r["synthetic"]) for r in rows] == [
        (1, "SPX", "logistic_regression", False)
    ]


def test_trials_list_json_is_empty_without_trials():
    assert stdout_json(invoke("trials", "list", "--json")) == []


def test_trials_list_filters_by_symbol():
    invoke("train", INSTRUCTION, "--json")

    assert stdout_json(invoke("trials", "list", "--symbol", "IXIC", "--json")) == []


def test_trials_show_json_is_the_full_result():
    trained = stdout_json(invoke("train", INSTRUCTION, "--json"))["ml_result"]

    shown = stdout_json(invoke("trials", "show", "1", "--json"))

    assert shown["trial"] == 1
    assert shown["model_id"] == trained["model_id"]
    assert shown["selection_accuracy"] == trained["selection_accuracy"]
    assert shown["baselines"] == trained["baselines"]
    assert shown["selection_stats"]["tries"] == 1


def test_trials_show_by_model_id():
    trained = stdout_json(invoke("train", INSTRUCTION, "--json"))["ml_result"]

    shown = stdout_json(invoke("trials", "show", trained["model_id"], "--json"))

    assert shown["trial"] == 1


def test_trials_show_prints_details():
    invoke("train", INSTRUCTION, "--json")

    result = invoke("trials", "show", "1")

    assert result.exit_code == 0, result.output
    assert "walk-forward accuracy" in result.stdout
    assert "REAL DATA" in result.stdout


def test_trials_show_unknown_fails_with_one_line():
    result = invoke("trials", "show", "999")

    assert result.exit_code == 1
    assert result.stderr == "error: no recorded trial '999'; see `mltrainer trials list`\n"


def test_error_messages_keep_square_brackets():
    result = invoke("trials", "show", "[x]")

    assert result.stderr == "error: no recorded trial '[x]'; see `mltrainer trials list`\n"


# --- run ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "variable"), [("openai", "OPENAI_API_KEY"), ("anthropic", "ANTHROPIC_API_KEY")]
)
def test_run_without_a_key_names_the_variable_and_the_offline_options(provider: str, variable: str):
    result = invoke("run", "--provider", provider, "--goal", "x")

    assert result.exit_code == 1
    message = one_paragraph(result.stderr)
    assert message.startswith(f"error: {variable} is not set")
    assert "mltrainer demo" in message
    assert "--provider scripted" in message


def test_run_without_a_key_fails_with_one_line(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("COLUMNS", "80")

    result = invoke("run", "--provider", "openai", "--goal", "x")

    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1


def test_run_unknown_provider_fails():
    result = invoke("run", "--provider", "gemini", "--goal", "x")

    assert result.exit_code == 1
    assert "unknown provider 'gemini'" in one_paragraph(result.stderr)


def test_run_scripted_without_a_script_fails():
    result = invoke("run", "--provider", "scripted", "--goal", "x")

    assert result.exit_code == 1
    assert "the scripted provider needs a script file (--script)" in one_paragraph(result.stderr)


def test_run_scripted_json_reports_the_finished_session(tmp_path: Path):
    script = tmp_path / "turns.yaml"
    script.write_text(CHEAP_SCRIPT, encoding="utf-8")
    transcript = tmp_path / "run.jsonl"

    summary = stdout_json(
        invoke(
            "run",
            "--provider",
            "scripted",
            "--script",
            str(script),
            "--goal",
            "Look around, then stop.",
            "--transcript",
            str(transcript),
            "--json",
        )
    )

    assert summary["reason"] == "finished"
    assert summary["finished"] is True
    assert summary["conclusion"] == "Nothing tried, nothing learned."
    assert (summary["turns"], summary["tool_calls"]) == (2, 2)
    assert summary["transcript"] == str(transcript)
    assert transcript.exists()


def test_run_max_turns_stops_the_session(tmp_path: Path):
    script = tmp_path / "turns.yaml"
    script.write_text(CHEAP_SCRIPT, encoding="utf-8")

    summary = stdout_json(
        invoke(
            "run",
            "--provider",
            "scripted",
            "--script",
            str(script),
            "--goal",
            "g",
            "--max-turns",
            "1",
            "--json",
        )
    )

    assert summary["reason"] == "turn budget reached (1 turns)"
    assert summary["finished"] is False


def test_run_of_a_script_without_finish_ends_as_script_finished(tmp_path: Path):
    script = tmp_path / "turns.yaml"
    script.write_text("- tool_calls:\n    - name: list_sources\n", encoding="utf-8")

    result = invoke(
        "run", "--provider", "scripted", "--script", str(script), "--goal", "g", "--json"
    )

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["reason"] == "script finished"


def test_resume_of_an_ended_session_fails_with_the_reason(tmp_path: Path):
    script = tmp_path / "turns.yaml"
    script.write_text(CHEAP_SCRIPT, encoding="utf-8")
    transcript = tmp_path / "run.jsonl"
    invoke(
        "run",
        *("--provider", "scripted", "--script", str(script), "--goal", "g"),
        *("--transcript", str(transcript), "--json"),
    )

    result = invoke("resume", str(transcript))

    assert result.exit_code == 1
    assert "already ended" in one_paragraph(result.stderr)


def test_replay_of_a_missing_file_fails(tmp_path: Path):
    result = invoke("replay", str(tmp_path / "gone.jsonl"))

    assert result.exit_code == 1
    assert "no transcript at" in one_paragraph(result.stderr)


# --- demo and replay (trains real models once for the module) ------------------------------------

_ENVIRONMENT = (
    "POLYGON_API_KEY",
    "MASSIVE_API_KEY",
    "FRED_API_KEY",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "MLTRAINER_ALLOWED_SOURCES",
    "MLTRAINER_STRICT",
    "MLTRAINER_ALLOW_SYNTHETIC_FALLBACK",
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Result, Path]:
    """`mltrainer demo --json`, run once in its own data home."""
    folder = tmp_path_factory.mktemp("demo")
    transcript = folder / "demo.jsonl"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLTRAINER_HOME", str(folder / "home"))
        for name in _ENVIRONMENT:
            patch.delenv(name, raising=False)
        patch.chdir(folder)
        result = invoke("demo", "--transcript", str(transcript), "--json")
    return result, transcript


def test_demo_finishes_with_four_trials_on_real_data(demo: tuple[Result, Path]):
    result, transcript = demo

    summary = stdout_json(result)

    assert summary["reason"] == "finished"
    assert summary["finished"] is True
    assert len(summary["trials"]) >= 4
    assert {t["data"] for t in summary["trials"]} == {"REAL DATA"}
    assert summary["transcript"] == str(transcript)


def test_replay_check_in_the_demos_own_data_home_matches_and_records_nothing(
    demo: tuple[Result, Path], monkeypatch: pytest.MonkeyPatch
):
    """The demo's transcript, checked in the data home the demo just wrote to: every result
    matches, and the ledger keeps its 4 trials and 1 holdout look."""
    result, transcript = demo
    recorded = stdout_json(result)
    home = transcript.parent / "home"
    monkeypatch.setenv("MLTRAINER_HOME", str(home))
    ledger = Ledger(home / "mltrainer.db")
    before = (ledger.count(), len(ledger.looks()))

    replayed = stdout_json(invoke("replay", str(transcript), "--check", "--json"))

    assert replayed["differences"] == []
    assert replayed["checked"] == recorded["tool_calls"]
    assert replayed["trials"] == recorded["trials"]
    assert (ledger.count(), len(ledger.looks())) == before == (4, 1)


ONE_TRIAL_SCRIPT = """\
- tool_calls:
    - name: train_model
      arguments: {symbol: SPX, model: naive_bayes, days: 1500, save_model: false}
- tool_calls:
    - name: finish
      arguments: {conclusion: "One try, nothing learned."}
"""


def test_replay_check_shows_a_difference_as_a_diff_of_the_payloads(tmp_path: Path):
    script = tmp_path / "script.yaml"
    script.write_text(ONE_TRIAL_SCRIPT, encoding="utf-8")
    transcript = tmp_path / "one.jsonl"
    ran = invoke(
        "run", "--goal", "g", "--provider", "scripted", "--script", str(script),
        "--transcript", str(transcript),
    )  # fmt: skip
    assert ran.exit_code == 0, ran.output
    events = [json.loads(line) for line in transcript.read_text(encoding="utf-8").splitlines()]
    trial = next(e for e in events if e["event"] == "tool_run" and e["name"] == "train_model")
    recorded = trial["payload"]["selection_accuracy"]
    trial["payload"]["selection_accuracy"] = 0.99
    transcript.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")

    result = invoke("replay", str(transcript), "--check")

    assert result.exit_code == 1
    assert f"train_model ({trial['call_id']}): differs in selection_accuracy" in result.stdout
    assert '-  "selection_accuracy": 0.99,' in result.stdout
    assert f'+  "selection_accuracy": {recorded},' in result.stdout


# --- help ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["demo"],
        ["run"],
        ["replay"],
        ["resume"],
        ["train"],
        ["predict"],
        ["tools"],
        ["trials", "list"],
        ["trials", "show"],
    ],
    ids=lambda c: " ".join(c),
)
def test_help_shows_an_example(command: list[str]):
    result = invoke(*command, "--help")

    assert result.exit_code == 0, result.output
    assert "Example: mltrainer " + " ".join(command) in one_paragraph(result.stdout)
