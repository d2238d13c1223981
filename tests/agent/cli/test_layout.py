"""Tables that fit: every model and symbol name whole at 80 columns (in its short form, with
columns left out by priority), nothing cut at 120, TSV or COLUMNS when piped."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from mltrainer.agent.cli.app import app
from mltrainer.agent.cli.layout import KEEP, FittedTable, short_model_name
from mltrainer.agent.cli.tables import finalized_table, trials_table
from mltrainer.engine.models import MODELS
from mltrainer.engine.results import FinalSummary, TrialSummary

SYMBOLS = ("SPX", "IXIC", "BRK.B", "MSFT")
# The longest symbol a trial may have (TrialConfig.symbol).
LONGEST_SYMBOL = "ABCDEFGHIJ"
LABELS = ("REAL DATA", "SYNTHETIC DATA", "CALLER DATA")
runner = CliRunner()


def summaries(symbols: tuple[str, ...] = SYMBOLS) -> list[TrialSummary]:
    """A trial of every registered model, with every kind of data and baseline."""
    return [
        TrialSummary(
            trial=number,
            model_id=f"id-{number}",
            model=model,
            symbol=symbols[number % len(symbols)],
            data=LABELS[number % len(LABELS)],
            selection_accuracy=0.5123,
            best_baseline=("majority_class", "always_up", "previous_direction")[number % 3],
            baseline_accuracy=0.5567,
            p_value=0.1234,
            p_value_adjusted=1.0,
            tries=123,
            sharpe=-1.23,
            buy_hold_sharpe=10.45,
            return_baseline=("buy_and_hold", "cash", "previous_direction")[number % 3],
            excess_sharpe=-1.23,
            return_t=-2.34,
            return_p_value=0.9876,
            return_p_value_adjusted=1.0,
        )
        for number, model in enumerate(MODELS, start=1)
    ]


def finals(count: int) -> list[FinalSummary]:
    return [
        FinalSummary(
            trial=1000 + number,
            model=model,
            symbol=SYMBOLS[number % len(SYMBOLS)],
            data=LABELS[number % len(LABELS)],
            selection_accuracy=0.55,
            holdout_accuracy=0.52,
            holdout_period=(date(2014, 12, 31), date(2018, 12, 27)),
            best_baseline="previous_direction",
            baseline_accuracy=0.521,
            p_value=0.538,
            mcnemar_p_value=0.632,
            sharpe=0.62,
            buy_hold_sharpe=0.43,
            execution="next_bar",
            dsr=0.041,
            pbo=None,
            tries=3,
            look=1,
            untouched=True,
            return_baseline="buy_and_hold",
            excess_sharpe=-0.31,
            return_t=-0.87,
            return_p_value=0.808,
            detectable_sharpe=1.29,
            detectable_accuracy_points=4.0,
            strategy_dsr=0.123,
            strategy_pbo=0.456,
        )
        for number, model in enumerate(list(MODELS)[:count])
    ]


def rendered(table: Any, width: int) -> str:
    out = io.StringIO()
    Console(file=out, width=width, force_terminal=True, color_system=None).print(table)
    return out.getvalue()


def words(text: str) -> set[str]:
    return set(re.split(r"[\s│┃(),]+", text))


def fits(text: str, width: int) -> bool:
    return all(len(line) <= width for line in text.splitlines())


def table_lines(text: str) -> str:
    """The lines of a command's output that belong to its tables: piped, the sentences around
    them are one line each, for the terminal to wrap."""
    return "\n".join(line for line in text.splitlines() if set(line) & set("│┃━─"))


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("holdout", [None, {1: "-0.31 p 0.808, look 1"}])
def test_every_model_and_symbol_name_in_the_trials_table_is_whole(
    width: int, holdout: dict[int, str] | None
):
    rows = summaries((*SYMBOLS, LONGEST_SYMBOL))

    text = rendered(trials_table(rows, "Trials", holdout=holdout), width)

    assert fits(text, width)
    assert "…" not in text
    shown = words(text)
    for row in rows:
        assert row.symbol in shown
        assert row.model in shown or short_model_name(row.model) in shown


def test_at_120_columns_the_trials_table_shows_every_column_and_full_names():
    rows = summaries()

    text = rendered(trials_table(rows, "Trials", holdout={1: "-0.31 p 0.808, look 1"}), 120)

    assert "left out" not in text
    assert "short model names" not in text
    assert all(row.model in words(text) for row in rows)
    assert {"accuracy", "holdout"} <= words(text)


def test_at_80_columns_the_trials_table_says_what_it_left_out_and_the_short_names():
    text = " ".join(rendered(trials_table(summaries(), "Trials"), 80).split())

    assert "left out to fit the width: acc. p, t" in text
    assert "rf = random_forest" in text
    assert "lgbm = lightgbm" in text


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("count", [1, 3])
def test_every_name_in_the_finalized_table_is_whole(width: int, count: int):
    rows = finals(count)

    text = rendered(finalized_table(rows), width)

    assert fits(text, width)
    assert "…" not in text
    for row in rows:
        assert f"trial {row.trial}" in text
        assert row.symbol in words(text)
        assert row.model in words(text) or short_model_name(row.model) in words(text)


def test_finalized_trials_too_many_for_the_width_are_stacked():
    text = rendered(finalized_table(finals(3)), 80)

    assert "(1 of 2)" in text and "(2 of 2)" in text
    assert text.count("holdout score") == 2


def test_a_free_text_column_wraps_between_words_and_cuts_nothing():
    table = FittedTable(title="Details")
    table.add_column("field")
    table.add_column("value", wrap=True)
    sentence = " ".join(f"word{n}" for n in range(60))
    table.add_row("notes", sentence)

    text = rendered(table, 80)

    assert fits(text, 80)
    assert {f"word{n}" for n in range(60)} <= words(text)


def test_room_goes_to_free_text_on_one_line_before_a_header_on_one_line():
    table = FittedTable()
    table.add_column("a header that wraps", justify="right")
    table.add_column("value", wrap=True)
    table.add_row("1", "aaaa bbbb cccc")

    (layout,) = table.layout(30)

    assert layout.widths == (11, 14)


def test_a_column_that_must_stay_is_never_left_out():
    table = FittedTable()
    table.add_column("kept")
    table.add_column("dropped", priority=1)
    table.add_row("x" * 60, "y" * 30)

    layout = table.layout(80)

    assert [table.columns[i].header for i in layout[0].columns] == ["kept"]
    assert layout[0].left_out == ("dropped",)


def test_short_model_names_are_aliases_train_accepts():
    assert {name: short_model_name(name) for name in MODELS} == {
        "random_forest": "rf",
        "extra_trees": "et",
        "decision_tree": "dt",
        "gradient_boosting": "gb",
        "lightgbm": "lgbm",
        "logistic_regression": "logit",
        "svm": "svm",
        "knn": "knn",
        "naive_bayes": "nb",
        "mlp": "mlp",
        "lstm": "lstm",
        "ridge": "ridge",
    }


def test_a_name_the_registry_does_not_know_keeps_its_length():
    assert short_model_name("someone_elses_model") == "someone_elses_model"


def piped(table: FittedTable) -> str:
    out = io.StringIO()
    Console(file=out, width=100_000, force_terminal=False, color_system=None).print(table)
    return out.getvalue()


def test_piped_without_columns_a_table_prints_as_tsv(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    table = FittedTable(title="Trials")
    table.add_column("model")
    table.add_column("data", priority=KEEP)
    table.add_row("random_forest", "[red]SYNTHETIC[/red]")

    assert piped(table) == "# Trials\nmodel\tdata\nrandom_forest\tSYNTHETIC\n"


def test_piped_with_columns_a_table_fits_that_width(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("COLUMNS", "80")

    text = piped(trials_table(summaries(), "Trials"))

    assert fits(text, 80)
    assert "left out to fit the width" in text


# --- the commands' tables -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data home with one finalized logistic regression on SPX."""
    home = tmp_path_factory.mktemp("layout") / "home"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLTRAINER_HOME", str(home))
        trained = runner.invoke(app, ["train", "logistic regression on SPX", "--json"])
        assert trained.exit_code == 0, trained.output
        assert runner.invoke(app, ["finalize", "1", "--json"]).exit_code == 0
    return home


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize(
    "command",
    [
        ["trials", "list"],
        ["trials", "show", "1"],
        ["predict", "1"],
        ["data", "fetch", "MSFT", "--source", "sample"],
    ],
    ids=" ".join,
)
def test_the_commands_tables_fit_and_cut_no_name(
    trained_home: Path, monkeypatch: pytest.MonkeyPatch, command: list[str], width: int
):
    monkeypatch.setenv("MLTRAINER_HOME", str(trained_home))
    monkeypatch.setenv("COLUMNS", str(width))

    result = runner.invoke(app, command)

    assert result.exit_code == 0, result.output
    assert fits(table_lines(result.stdout), width)
    assert "…" not in result.stdout
    shown = words(result.stdout)
    if command[0] in ("trials", "predict"):
        assert "SPX" in shown
        assert "logistic_regression" in shown or "logit" in shown
    else:
        assert "MSFT" in shown
