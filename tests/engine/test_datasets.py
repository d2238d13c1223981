"""A holdout is bound to its bars, not their name: the same bars under another symbol, a
registered source, caller data or a CSV file inherit the lock, its tries and its looks; bars
that only reuse a name do not."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mltrainer.engine.data.base import BarSet, DataSource, SymbolInfo, make_provenance
from mltrainer.engine.data.catalog import REGISTERED_SOURCES, register_source
from mltrainer.engine.data.sample import SampleSource
from mltrainer.engine.data.synthetic import synthetic_bars
from mltrainer.engine.errors import ConfigError, InsufficientDataError
from mltrainer.engine.holdout import lock_holdout
from mltrainer.engine.ledger import Ledger
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import load_settings
from mltrainer.engine.trial import TrialConfig, TrialResult

QUICK = {"model": "logistic_regression", "folds": 2, "save_model": False}
SPX_HOLDOUT = date(2014, 12, 31)  # the last fifth of the sample's 5031 SPX bars


def spx() -> pd.DataFrame:
    return SampleSource().bars("SPX").frame


def train(service: ResearchService, symbol: str, **settings: object) -> TrialResult:
    config = TrialConfig.model_validate({"symbol": symbol, **QUICK, **settings})
    return service.train(config).result


class Mirror(DataSource):
    """A plugin source that serves the sample's SPX bars under any symbol."""

    name = "mirror"

    def symbols(self) -> list[SymbolInfo]:
        return []

    def bars(self, symbol: str, start: date | None = None, end: date | None = None) -> BarSet:
        frame = spx()
        return BarSet(frame, make_provenance(frame, source="mirror", kind="real", symbol=symbol))


@pytest.fixture
def mirror() -> Iterator[None]:
    saved = dict(REGISTERED_SOURCES)
    register_source("mirror", lambda settings: Mirror(), serves="SPX under any name")
    yield
    REGISTERED_SOURCES.clear()
    REGISTERED_SOURCES.update(saved)


def test_the_same_bars_as_caller_data_under_another_symbol_inherit_the_lock() -> None:
    first = train(ResearchService(load_settings(), session="a"), "SPX")
    renamed = ResearchService(load_settings(), session="b", data={"MINE": spx()})

    result = train(renamed, "MINE")

    assert first.dataset.key == result.dataset.key == "sample:SPX:bars"
    assert result.dataset.holdout == first.dataset.holdout
    assert result.dataset.holdout.start == SPX_HOLDOUT
    assert result.tries == 2
    assert result.data_label == "CALLER DATA"
    assert any("match the locked dataset sample:SPX:bars" in note for note in result.notes)


def test_the_same_bars_from_a_registered_source_inherit_the_lock(mirror: None) -> None:
    train(ResearchService(load_settings(), session="a"), "SPX")

    result = train(ResearchService(load_settings(), session="b"), "IDX", source="mirror")

    assert result.provenance.source == "mirror"
    assert result.dataset.key == "sample:SPX:bars"
    assert result.tries == 2


def test_the_same_bars_in_a_csv_file_scaled_rounded_and_shorter_inherit_the_lock(
    tmp_path: Path,
) -> None:
    train(ResearchService(load_settings(), session="a"), "SPX")
    frame = spx().loc["2005-06-01":]
    prices = ["open", "high", "low", "close"]
    frame[prices] = (frame[prices] / 10).round(2)
    frame.reset_index().to_csv(tmp_path / "spy.csv", index=False)

    result = train(
        ResearchService(load_settings(), session="b"),
        "SPYISH",
        source="csv",
        path=str(tmp_path / "spy.csv"),
    )

    assert result.provenance.source == "csv"
    assert result.dataset.key == "sample:SPX:bars"
    assert result.dataset.holdout.start == SPX_HOLDOUT
    assert result.dataset.used.start == date(2005, 6, 1)


def test_a_second_look_under_another_name_is_refused_naming_the_first() -> None:
    original = ResearchService(load_settings(), session="a")
    train(original, "SPX")
    original.finalize(1)
    renamed = ResearchService(load_settings(), session="b", data={"MINE": spx() * 3})
    train(renamed, "MINE")

    with pytest.raises(
        ConfigError,
        match=r"holdout of sample:SPX:bars was already scored: look 1, trial 1 \(session a\)",
    ):
        renamed.finalize(2)
    assert len(renamed.ledger.looks("sample:SPX:bars")) == 1


def test_the_looks_of_the_renamed_bars_count_on_the_one_holdout() -> None:
    original = ResearchService(load_settings(), session="a")
    train(original, "SPX")
    original.finalize(1)
    renamed = ResearchService(load_settings(), session="b", data={"MINE": spx()})
    later = train(renamed, "MINE")

    final = renamed.finalize(2, again=True)

    assert later.dataset.holdout_looks == 1
    assert (final.dataset, final.look, final.untouched, final.family) == (
        "sample:SPX:bars",
        2,
        False,
        2,
    )


def test_bars_that_only_reuse_a_name_are_another_dataset() -> None:
    first = ResearchService(
        load_settings(), data={"OWN": synthetic_bars("OWN", n_bars=1500, seed=1)}
    )
    other = ResearchService(
        load_settings(), data={"OWN": synthetic_bars("OWN", n_bars=1500, seed=2)}
    )

    one, two = train(first, "OWN"), train(other, "OWN")

    assert (one.dataset.key, two.dataset.key) == ("caller:OWN:bars", "caller:OWN:bars#2")
    assert two.tries == 1
    assert any("differ from the bars locked as caller:OWN:bars" in n for n in two.notes)


def test_a_file_of_only_the_years_before_the_holdout_has_nothing_to_finalize(
    tmp_path: Path,
) -> None:
    train(ResearchService(load_settings(), session="a"), "SPX")
    spx().loc[:"2012-12-31"].to_parquet(tmp_path / "early.parquet")
    early = ResearchService(load_settings(), session="b")
    result = train(early, "EARLY", source="csv", path=str(tmp_path / "early.parquet"))

    assert result.dataset.key == "sample:SPX:bars"
    with pytest.raises(
        InsufficientDataError, match=r"end on 2012-12-31, before the locked holdout"
    ):
        early.finalize(2)


def test_a_registered_name_holds_its_dataset_over_a_range_it_has_not_stored() -> None:
    ledger = Ledger(load_settings().db_path)
    walk = synthetic_bars("OWN", n_bars=3000, seed=1)
    early = BarSet(walk.iloc[:1500], make_provenance(walk, source="x", kind="real", symbol="A"))
    late = BarSet(walk.iloc[1500:] * np.exp(0.02), early.provenance)

    def lock(bars: BarSet, trust_name: bool) -> str:
        return lock_holdout(
            ledger, bars, "x:A:bars", trust_name=trust_name, share=0.2, min_bars=250
        ).dataset.dataset

    assert lock(early, True) == "x:A:bars"
    assert lock(late, True) == "x:A:bars"
    assert lock(late, False) == "x:A:bars#2"


def test_bars_seen_once_are_found_again_by_their_month_keys() -> None:
    caller = ResearchService(load_settings(), data={"MINE": spx().round(1)})
    train(ResearchService(load_settings()), "SPX")
    train(caller, "MINE")

    with Ledger(load_settings().db_path).writing() as connection:
        owners = {
            row[0] for row in connection.execute("SELECT DISTINCT dataset FROM dataset_months")
        }

    assert owners == {"sample:SPX:bars"}
    assert train(caller, "MINE").tries == 3


def test_a_forked_name_finds_its_own_dataset_again_without_a_note() -> None:
    first = ResearchService(
        load_settings(), data={"OWN": synthetic_bars("OWN", n_bars=1500, seed=1)}
    )
    other = ResearchService(
        load_settings(), data={"OWN": synthetic_bars("OWN", n_bars=1500, seed=2)}
    )
    train(first, "OWN")
    train(other, "OWN")

    again = train(other, "OWN", model="naive_bayes")

    assert (again.dataset.key, again.tries) == ("caller:OWN:bars#2", 2)
    assert not any("locked dataset" in note or "differ from" in note for note in again.notes)
