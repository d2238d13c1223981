"""`mltrainer finalize` and the selection statistics `trials list` / `trials show` compute when
they are shown."""

from __future__ import annotations

import json
from typing import Any

import pytest
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


def test_trials_show_json_has_every_holdout_look_of_the_trial_and_live_counts() -> None:
    invoke("train", INSTRUCTION, "--json")
    invoke("finalize", "1", "--json")
    invoke("finalize", "1", "--again", "--json")

    shown = stdout_json(invoke("trials", "show", "1", "--json"))

    assert [(f["look"], f["untouched"]) for f in shown["holdout_results"]] == [
        (1, True),
        (2, False),
    ]
    assert all(f["trial"] == 1 and f["looked_at"] for f in shown["holdout_results"])
    assert shown["dataset"]["holdout_looks"] == 2


def test_trials_show_prints_the_trials_holdout_results() -> None:
    invoke("train", INSTRUCTION, "--json")
    invoke("finalize", "1", "--json")

    shown = invoke("trials", "show", "1")

    assert "Locked holdout (finalize): the numbers to report" in shown.stdout
    assert "scored 1 time(s) so far, 1 of them for this trial" in shown.stdout


def test_looks_are_numbered_among_the_looks_at_their_own_dataset() -> None:
    """A look at IXIC's holdout first: SPX's first look is still look 1 of SPX."""
    invoke("train", "Train logistic regression on IXIC", "--json")
    invoke("train", INSTRUCTION, "--json")
    invoke("finalize", "1", "--json")
    invoke("finalize", "2", "--json")

    shown = stdout_json(invoke("trials", "show", "2", "--json"))

    assert [f["look"] for f in shown["holdout_results"]] == [1]


def test_trials_list_has_the_finalized_score_of_each_trial(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    invoke("train", INSTRUCTION, "--json")
    invoke("train", "Train naive bayes on SPX", "--json")
    final = stdout_json(invoke("finalize", "1", "--json"))

    listed = invoke("trials", "list").stdout.splitlines()
    rows = stdout_json(invoke("trials", "list", "--json"))

    header = listed[1].split("\t")
    by_trial = {line.split("\t")[0]: line.split("\t") for line in listed[2:]}
    holdout = header.index("holdout")
    verdict = final["holdout"]["return_test"]
    assert by_trial["1"][holdout] == (
        f"{verdict['excess_sharpe']:.2f} p {verdict['p_value']:.3f}, look 1"
    )
    assert by_trial["2"][holdout] == "-"
    assert [(r["trial"], r["holdout_look"]) for r in rows] == [(2, None), (1, 1)]


def test_the_finalize_table_leads_with_the_return_test_and_what_it_could_detect() -> None:
    invoke("train", INSTRUCTION, "--json")

    shown = invoke("finalize", "1")

    assert shown.exit_code == 0, shown.output
    table = shown.stdout
    assert table.index("verdict (return after costs)") < table.index("holdout score")
    assert "not significant" in table
    # The S&P 500 sample's holdout: 1,005 days from 2014-12-31.
    assert "Sharpe 1.29 / 4.0 acc. pts" in table
