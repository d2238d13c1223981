"""`mltrainer finalize` and the selection statistics `trials list` / `trials show` compute when
they are shown."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner, Result

from mltrainer.agent.cli.app import app

runner = CliRunner()
INSTRUCTION = "Train logistic regression on SPX with 80% train ratio"


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


def stdout_json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_finalize_json_scores_the_holdout_once() -> None:
    trained = stdout_json(invoke("train", INSTRUCTION, "--json"))["ml_result"]

    final = stdout_json(invoke("finalize", "1", "--json"))

    assert final["type"] == "finalized"
    assert final["trial"] == 1
    assert final["holdout"]["period"][0] >= trained["dataset"]["holdout"]["start"]
    assert (final["look"], final["untouched"]) == (1, True)


def test_a_second_finalize_is_refused_naming_the_first_look() -> None:
    invoke("train", INSTRUCTION, "--json")
    invoke("finalize", "1", "--json")

    again = invoke("finalize", "1")

    assert again.exit_code == 1
    assert "the locked holdout of sample:SPX:bars was already scored: look 1, trial 1" in (
        " ".join(again.stderr.split())
    )
    assert "Traceback" not in again.output


def test_finalize_again_shows_the_adjusted_p_values_with_the_raw_ones() -> None:
    invoke("train", INSTRUCTION, "--json")
    first = stdout_json(invoke("finalize", "1", "--json"))

    again = invoke("finalize", "1", "--again")

    raw = first["holdout"]["baselines"]["p_value"]
    shown = " ".join(again.stdout.replace("│", " ").split())
    assert again.exit_code == 0, again.output
    assert "NOT untouched" in shown
    assert f"(Holm over 2 looks; raw {raw:.3f} /" in shown
    assert "is no longer untouched: this is look 2" in shown


def test_finalize_an_unknown_trial_is_one_line_on_stderr() -> None:
    result = invoke("finalize", "7")

    assert result.exit_code == 1
    assert "no recorded trial '7'" in result.stderr
    assert "Traceback" not in result.output


def test_trials_list_shows_holm_adjusted_p_values_as_of_now() -> None:
    invoke("train", INSTRUCTION, "--json")
    invoke("train", "Train naive bayes on SPX", "--json")

    rows = stdout_json(invoke("trials", "list", "--json"))

    assert [row["tries"] for row in rows] == [2, 2]
    assert all(row["p_value_adjusted"] >= row["p_value"] for row in rows)


def test_trials_show_leads_with_the_return_test_and_has_the_selection_statistics() -> None:
    invoke("train", INSTRUCTION, "--json")

    shown = invoke("trials", "show", "1")

    assert shown.exit_code == 0, shown.output
    details = shown.stdout[shown.stdout.index("Details") :]
    assert details.index("return test") < details.index("vs best baseline")
    assert "locked holdout" in details
    assert "best-of-1 noise bar t" in details
    assert "excess over B&H: PSR / DSR / PBO" in details
    assert "next_bar" in details


def test_the_finalize_table_leads_with_the_return_test_and_what_it_could_detect() -> None:
    invoke("train", INSTRUCTION, "--json")

    shown = invoke("finalize", "1")

    assert shown.exit_code == 0, shown.output
    table = shown.stdout
    assert table.index("verdict (return after costs)") < table.index("holdout score")
    assert "not significant" in table
    # The S&P 500 sample's holdout: 1,005 days from 2014-12-31.
    assert "Sharpe 1.29 / 4.0 acc. pts" in table
