"""The locked holdout: proposed once per dataset from its history, stored in the ledger, and
clipped away from every trial's bars, with notes saying what was clipped."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from mltrainer.engine.data.base import BarSet, make_provenance
from mltrainer.engine.data.synthetic import synthetic_bars
from mltrainer.engine.errors import InsufficientDataError
from mltrainer.engine.holdout import (
    dataset_key,
    development_bars,
    lock_holdout,
    propose_holdout,
)
from mltrainer.engine.ledger import DatasetRow, Ledger
from mltrainer.engine.settings import load_settings
from mltrainer.engine.trial import TrialConfig


def bars(n_bars: int, symbol: str = "OWN") -> BarSet:
    frame = synthetic_bars(symbol, n_bars=n_bars, seed=1)
    return BarSet(frame, make_provenance(frame, source="caller", kind="real", symbol=symbol))


def test_holdout_is_the_last_fifth_of_a_long_history() -> None:
    index = bars(2000).frame.index

    start, end, rows = propose_holdout(index, share=0.2, min_bars=250)

    assert rows == 400
    assert (start, end) == (index[1600], index[-1])


def test_holdout_is_at_least_min_bars_of_a_short_history() -> None:
    index = bars(600).frame.index

    start, _, rows = propose_holdout(index, share=0.2, min_bars=250)

    assert rows == 250
    assert start == index[350]


def test_a_history_too_short_for_a_holdout_and_trials_is_refused() -> None:
    with pytest.raises(InsufficientDataError, match=r"400 bars are too few .* at least 500 bars"):
        propose_holdout(bars(400).frame.index, share=0.2, min_bars=250)


def test_dataset_key_is_source_symbol_kind() -> None:
    assert dataset_key("sample", "spx") == "sample:SPX:bars"


def lock(ledger: Ledger, history: BarSet, share: float = 0.2) -> DatasetRow:
    return lock_holdout(
        ledger, history, "caller:OWN:bars", trust_name=False, share=share, min_bars=250
    ).dataset


def test_holdout_is_fixed_the_first_time_and_kept_after() -> None:
    ledger = Ledger(load_settings().db_path)
    longer = bars(3000)
    first = lock(ledger, BarSet(longer.frame.iloc[:2000], longer.provenance))

    # A later, longer history of the same bars (or another share) does not move the boundary.
    again = lock(ledger, longer, share=0.5)

    assert again == first
    assert Ledger(load_settings().db_path).dataset("caller:OWN:bars") == first


def test_development_bars_stop_before_the_holdout() -> None:
    ledger = Ledger(load_settings().db_path)
    history = bars(2000)
    dataset = lock(ledger, history)

    development = development_bars(history, dataset, TrialConfig(symbol="OWN"), looks=0)

    frame = development.bars.frame
    assert frame.index[-1] < pd.Timestamp(dataset.holdout_start)
    assert len(frame) == 1600
    assert development.info.used.rows == 1600
    assert development.info.holdout.rows == 400
    assert development.notes[0].startswith(f"locked holdout {dataset.holdout_start} to")


def test_an_end_inside_the_holdout_is_clipped_and_said() -> None:
    ledger = Ledger(load_settings().db_path)
    history = bars(2000)
    dataset = lock(ledger, history)
    config = TrialConfig(symbol="OWN", end=date(2030, 1, 1))

    development = development_bars(history, dataset, config, looks=0)

    assert len(development.bars.frame) == 1600
    assert any(
        "end 2030-01-01 reaches into the locked holdout; clipped" in n for n in development.notes
    )


def test_days_count_bars_before_the_holdout() -> None:
    ledger = Ledger(load_settings().db_path)
    history = bars(2000)
    dataset = lock(ledger, history)

    development = development_bars(history, dataset, TrialConfig(symbol="OWN", days=500), looks=0)
    longer = development_bars(history, dataset, TrialConfig(symbol="OWN", days=5000), looks=0)

    assert development.bars.frame.index[-1] == history.frame.index[1599]
    assert len(development.bars.frame) == 500
    assert len(longer.bars.frame) == 1600
    assert any("days=5000 asked for more bars than the 1600" in n for n in longer.notes)


def test_a_range_entirely_inside_the_holdout_is_refused() -> None:
    ledger = Ledger(load_settings().db_path)
    history = bars(2000)
    dataset = lock(ledger, history)
    late = history.frame[history.frame.index >= pd.Timestamp(dataset.holdout_start)]

    with pytest.raises(InsufficientDataError, match="no bars of OWN before the locked holdout"):
        development_bars(
            BarSet(late, history.provenance), dataset, TrialConfig(symbol="OWN"), looks=0
        )


def test_looks_are_noted_once_the_holdout_was_scored() -> None:
    ledger = Ledger(load_settings().db_path)
    history = bars(2000)
    dataset = lock(ledger, history)

    development = development_bars(history, dataset, TrialConfig(symbol="OWN"), looks=2)

    assert development.info.holdout_looks == 2
    assert any(
        "scored 2 time(s) by finalize; it is no longer an untouched test" in n
        for n in development.notes
    )
