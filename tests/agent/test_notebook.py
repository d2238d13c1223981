"""The notebook API (`mltrainer.open`): a data home's trials and sessions as DataFrames, a
trial's typed result with its equity frame and report, train and finalize, all through the same
service the other surfaces use. The trials run for real on the offline SPX sample."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import mltrainer
from mltrainer.agent.messages import AssistantTurn, ToolCall, Usage
from mltrainer.agent.notebook import FLOAT_COLUMNS, SESSION_COLUMNS, TRIAL_COLUMNS, Research, Trial
from mltrainer.agent.providers import ScriptedProvider
from mltrainer.agent.session.runs import start_session
from mltrainer.engine.data.synthetic import synthetic_bars
from mltrainer.engine.errors import ConfigError, DataHomeError, HoldoutAlreadyScored
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import load_settings
from mltrainer.engine.trial import FinalResult, TrialConfig, TrialResult

FAST = {"symbol": "SPX", "model": "logistic_regression", "start": "2008-01-01", "folds": 2}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data home for the module: trial 1 (finalized) and trial 2 on SPX, trial 3 on IXIC."""
    folder = tmp_path_factory.mktemp("notebook") / "home"
    research = mltrainer.open(folder)
    research.train(**FAST)
    research.train(TrialConfig(**FAST), train_ratio=0.7)
    research.finalize(1)
    research.train(**{**FAST, "symbol": "IXIC"})
    return folder


@pytest.fixture
def research(home: Path) -> Research:
    return mltrainer.open(home)


# --- open -------------------------------------------------------------------------------------
def test_open_without_a_path_opens_the_configured_home(isolated_home: Path) -> None:
    assert mltrainer.open().home == isolated_home


def test_open_makes_a_new_folder_a_data_home(tmp_path: Path) -> None:
    research = mltrainer.open(tmp_path / "fresh")
    assert research.home == tmp_path / "fresh"
    assert sorted(p.name for p in research.home.iterdir()) == [
        "mltrainer.db",
        "models",
        "reports",
        "transcripts",
    ]


def test_open_refuses_a_file(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a folder")
    with pytest.raises(DataHomeError, match="a file is in the way"):
        mltrainer.open(tmp_path / "notes.txt")


def test_open_refuses_a_folder_whose_database_is_not_a_ledger(tmp_path: Path) -> None:
    (tmp_path / "mltrainer.db").write_text("a spreadsheet, saved under the wrong name")
    with pytest.raises(DataHomeError, match=r"its mltrainer\.db is not an mltrainer ledger"):
        mltrainer.open(tmp_path)
    assert (tmp_path / "mltrainer.db").read_text() == "a spreadsheet, saved under the wrong name"


def test_open_refuses_what_is_not_a_path() -> None:
    with pytest.raises(TypeError, match=r"home must be a path \(str or os.PathLike\) or None"):
        mltrainer.open(3)  # type: ignore[arg-type]


def test_importing_mltrainer_loads_no_ml_library() -> None:
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, mltrainer; "
            "print([m for m in ('pandas', 'numpy', 'sklearn', 'lightgbm') if m in sys.modules])",
        ],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),
    ).stdout
    assert loaded.strip() == "[]"


# --- trials -----------------------------------------------------------------------------------
def test_trials_are_indexed_by_trial_number_newest_first(research: Research) -> None:
    frame = research.trials()
    assert frame.index.name == "trial"
    assert frame.index.tolist() == [3, 2, 1]
    assert frame.columns.tolist() == list(TRIAL_COLUMNS)


def test_trials_numbers_are_numbers(research: Research) -> None:
    frame = research.trials()
    assert all(frame[c].dtype == "float64" for c in FLOAT_COLUMNS)
    assert frame["tries"].tolist() == [1, 2, 2]
    assert frame["finalized"].tolist() == [False, False, True]
    assert frame["holdout_looks"].tolist() == [0, 0, 1]
    assert isinstance(frame["recorded"].dtype, pd.DatetimeTZDtype)


def test_trials_show_the_return_test_as_the_ledger_table_does(research: Research) -> None:
    frame = research.trials()
    table = {e.trial: e for e in ResearchService(research.settings).ledger_table()}
    for trial in (1, 2, 3):
        assert frame.loc[trial, "excess_sharpe"] == table[trial].excess_sharpe
        assert frame.loc[trial, "return_p_value"] == table[trial].return_p_value
        assert frame.loc[trial, "return_p_value_adjusted"] == table[trial].return_p_value_adjusted


def test_trials_show_the_finalized_trials_adjusted_holdout_p_values(research: Research) -> None:
    row = research.trials().loc[1]
    look = ResearchService(research.settings).trial_record(1)
    assert look is not None
    final = FinalResult.model_validate(look.looks[0].result)
    assert row["holdout_accuracy"] == final.holdout.accuracy
    assert row["holdout_p_value_adjusted"] == final.reported_p(
        "binomial", final.holdout.baselines.p_value
    )
    assert final.holdout.return_test is not None
    assert row["holdout_return_p_value_adjusted"] == final.reported_p(
        "return", final.holdout.return_test.p_value
    )


def test_trials_of_an_unfinalized_trial_have_no_holdout_numbers(research: Research) -> None:
    row = research.trials().loc[2]
    assert row[[c for c in FLOAT_COLUMNS if c.startswith("holdout")]].isna().all()


def test_trials_keep_one_symbol_given_in_any_case(research: Research) -> None:
    assert research.trials(symbol="ixic").index.tolist() == [3]


def test_trials_of_an_empty_home_is_an_empty_frame_with_the_columns(tmp_path: Path) -> None:
    frame = mltrainer.open(tmp_path).trials()
    assert frame.empty
    assert frame.columns.tolist() == list(TRIAL_COLUMNS)


# --- one trial --------------------------------------------------------------------------------
def test_trial_is_the_typed_result_as_recorded_now(research: Research) -> None:
    trial = research.trial(2)
    assert isinstance(trial, TrialResult)
    assert isinstance(trial, Trial)
    recorded = ResearchService(research.settings).recorded(2)
    assert trial.model_dump() == recorded.model_dump()
    assert trial.config.train_ratio == 0.7
    assert trial.tries == 2


def test_trial_by_model_id(research: Research) -> None:
    model_id = research.trial(3).model_id
    assert research.trial(model_id).trial == 3


def test_an_unknown_trial_is_refused(research: Research) -> None:
    with pytest.raises(ConfigError, match="no recorded trial '99'"):
        research.trial(99)


def test_equity_is_each_strategy_by_selection_date(research: Research) -> None:
    trial = research.trial(1)
    equity = trial.equity()
    assert equity.columns.tolist() == ["long_flat", "long_short", "buy_and_hold"]
    assert isinstance(equity.index, pd.DatetimeIndex)
    assert equity.index.name == "date"
    assert equity.index[0].date() >= trial.selection_period[0]
    assert equity.index[-1].date() <= trial.selection_period[1]
    assert equity["long_flat"].iloc[-1] - 1.0 == pytest.approx(
        trial.backtest.long_flat.total_return
    )
    assert equity.attrs == {"trial": 1, "cost_bps": 2.0, "execution": "next_bar"}


def test_report_writes_the_html_and_shows_itself_in_a_notebook(research: Research) -> None:
    report = research.trial(1).report()
    assert report.html == research.home / "reports" / "trial-1" / "report.html"
    assert report.html.is_file()
    shown = report._repr_html_()
    assert shown.startswith(f"<p><code>{report.html}</code></p><iframe srcdoc=")
    assert "&lt;html" in shown


def test_a_trial_not_read_from_a_home_cannot_draw(research: Research) -> None:
    detached = TrialResult.model_validate(research.trial(1).model_dump())
    loose = Trial.model_validate(detached.model_dump())
    with pytest.raises(ConfigError, match=r"not read from a data home; use Research.trial\(n\)"):
        loose.equity()


# --- train and finalize -----------------------------------------------------------------------
def test_train_with_a_config_and_keywords_takes_the_keywords(research: Research) -> None:
    assert research.trial(2).config.train_ratio == 0.7


def test_train_refuses_a_value_out_of_bounds_naming_it(tmp_path: Path) -> None:
    research = mltrainer.open(tmp_path)
    with pytest.raises(ConfigError, match=r"train_ratio: Input should be less than or equal to"):
        research.train(symbol="SPX", train_ratio=2)
    assert research.trials().empty


def test_train_refuses_an_unknown_field_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ratio: Extra inputs are not permitted"):
        mltrainer.open(tmp_path).train(symbol="SPX", ratio=0.7)


def test_finalize_refuses_a_second_look_at_the_holdout(research: Research) -> None:
    with pytest.raises(HoldoutAlreadyScored, match="look again on purpose with again=True"):
        research.finalize(2)
    assert research.trials().loc[2, "holdout_looks"] == 0


def test_finalize_again_looks_twice_and_adjusts_over_both(tmp_path: Path) -> None:
    research = mltrainer.open(tmp_path)
    first = research.train(**FAST)
    research.finalize(first.trial or 0)
    second = research.finalize(first.trial or 0, again=True)
    assert (second.look, second.family, second.again) == (2, 2, True)
    assert research.trials().loc[first.trial, "holdout_looks"] == 2


# --- sessions ---------------------------------------------------------------------------------
def test_sessions_of_an_empty_home_is_an_empty_frame_with_the_columns(tmp_path: Path) -> None:
    frame = mltrainer.open(tmp_path).sessions()
    assert frame.empty
    assert frame.columns.tolist() == list(SESSION_COLUMNS)
    assert (frame["trials"].dtype, frame["resumable"].dtype) == ("int64", "bool")


def test_sessions_lists_a_session_by_its_id() -> None:
    finish = AssistantTurn(
        "",
        (ToolCall("c1", "finish", json.dumps({"conclusion": "nothing tried"})),),
        Usage(),
        "tool_use",
    )
    summary = asyncio.run(
        start_session(
            ScriptedProvider([finish]),
            "Say nothing.",
            settings=load_settings(),
            session_id="quiet-one",
        )
    )
    frame = mltrainer.open().sessions()
    assert frame.index.tolist() == ["quiet-one"]
    row = frame.loc["quiet-one"]
    assert row["transcript"] == str(summary.transcript)
    assert (row["goal"], row["provider"], row["trials"]) == ("Say nothing.", "scripted", 0)
    assert row["conclusion"] == "nothing tried"
    assert row["status"].startswith("ended: ")
    assert isinstance(row["started"], pd.Timestamp)


def test_the_top_level_names_resolve_and_others_do_not() -> None:
    assert mltrainer.Research is Research
    assert mltrainer.Trial is Trial
    with pytest.raises(AttributeError, match="module 'mltrainer' has no attribute 'train'"):
        _ = mltrainer.train  # type: ignore[attr-defined]


def test_train_and_finalize_on_your_own_bars(tmp_path: Path) -> None:
    research = mltrainer.open(tmp_path)
    bars = synthetic_bars("MINE", n_bars=1500, seed=7)
    trial = research.train(symbol="MINE", model="logistic_regression", folds=2, data=bars)
    assert (trial.data_label, trial.provenance.source) == ("CALLER DATA", "caller")
    with pytest.raises(ConfigError, match="pass the same bars"):
        research.finalize(trial.trial or 0)
    final = research.finalize(trial.trial or 0, data=bars)
    assert (final.trial, final.look) == (trial.trial, 1)


def test_looks_are_the_trials_holdout_looks_as_of_now(research: Research) -> None:
    (look,) = research.trial(1).looks()
    assert (look.trial, look.look, look.dataset) == (1, 1, "sample:SPX:bars")
    assert research.trial(2).looks() == []
