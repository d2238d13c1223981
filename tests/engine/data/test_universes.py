"""Named universes, the shipped sp20 file (its bytes, licence and provenance), its close-only
stocks as a source, and a universe's closes as one panel."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from importlib.resources import files

import numpy as np
import pandas as pd
import pytest

from mltrainer.engine.data.base import BarSet, make_provenance
from mltrainer.engine.data.panel import PanelSet, resolve_panel, survivorship_of
from mltrainer.engine.data.sp20 import Sp20Source, sp20_closes
from mltrainer.engine.data.universes import (
    REGISTERED_UNIVERSES,
    SP20_MEMBERS,
    containing_universe,
    list_label,
    register_universe,
    universe_label,
    universe_members,
    universe_names,
)
from mltrainer.engine.errors import DataSourceError
from mltrainer.engine.settings import Settings

SHIPPED = files("mltrainer.engine.data") / "sp20"


@pytest.fixture
def universes() -> Iterator[None]:
    saved = dict(REGISTERED_UNIVERSES)
    yield
    REGISTERED_UNIVERSES.clear()
    REGISTERED_UNIVERSES.update(saved)


def test_the_shipped_file_is_skfolios_unchanged():
    data = (SHIPPED / "sp500_dataset.csv.gz").read_bytes()

    assert hashlib.sha256(data).hexdigest() == (
        "ee21cac28befb1d0a739a9ceb22184f995394726aa0cfde9a21941d1ac04ac0d"
    )
    assert len(data) == 426_065
    provenance = (SHIPPED / "PROVENANCE.md").read_text()
    assert "ee21cac28befb1d0a739a9ceb22184f995394726aa0cfde9a21941d1ac04ac0d" in provenance
    assert "skfolio 1.12.2" in provenance
    assert (SHIPPED / "LICENSE").read_text().startswith("BSD 3-Clause License")


def test_sp20_holds_20_stocks_on_every_date_from_1990_to_2022():
    closes = sp20_closes()

    assert list(closes.columns) == list(SP20_MEMBERS)
    assert (str(closes.index[0].date()), str(closes.index[-1].date()), len(closes)) == (
        "1990-01-02",
        "2022-12-28",
        8313,
    )
    assert not closes.isna().to_numpy().any()
    assert closes.loc["2022-12-28", "AAPL"] == 125.674


def test_sp20_is_the_built_in_universe():
    assert universe_names()[0] == "sp20"
    assert universe_members("sp20") == tuple(SP20_MEMBERS)
    assert universe_label("sp20") == "SP20"


def test_a_list_of_symbols_is_labelled_by_its_sorted_symbols():
    label = list_label(["MSFT", "aapl", "JPM", "KO", "XOM"])

    assert label == list_label(["XOM", "KO", "JPM", "AAPL", "MSFT"])
    assert label != list_label(["XOM", "KO", "JPM", "AAPL", "PEP"])
    assert label.startswith("LIST") and len(label) == 10


def test_a_list_inside_sp20_is_read_from_its_file():
    assert containing_universe(["AAPL", "MSFT"]) is REGISTERED_UNIVERSES["sp20"]
    assert containing_universe(["AAPL", "TSLA"]) is None


@pytest.mark.parametrize(
    ("name", "members", "message"),
    [
        ("Big", SP20_MEMBERS, "universe name 'Big' must be 2 to 32"),
        ("tiny", ["AAPL", "MSFT"], "needs 5 to 500 different symbols; got 2"),
        ("twice", ["AAPL", "AAPL", "MSFT", "KO", "PEP"], r"got 5 \(4 different\)"),
        ("sp20", SP20_MEMBERS, "a universe called 'sp20' is already registered"),
    ],
)
def test_a_bad_universe_is_refused(universes, name, members, message):
    with pytest.raises(ValueError, match=message):
        register_universe(name, members, description="d", survivorship="chosen by hand")


def test_a_universe_must_say_how_its_members_were_chosen(universes):
    with pytest.raises(ValueError, match="needs a survivorship statement"):
        register_universe("mine", SP20_MEMBERS[:5], description="d", survivorship=" ")


def test_an_offline_stock_has_its_closes_and_nothing_else():
    bars = Sp20Source().bars("aapl")

    assert bars.fields == ("close",)
    assert list(bars.frame.columns) == ["close"]
    assert "adjusted closes only" in bars.provenance.note
    assert survivorship_of(bars) == REGISTERED_UNIVERSES["sp20"].survivorship


def test_a_stock_sp20_does_not_have_is_refused_with_its_stocks():
    with pytest.raises(DataSourceError, match="sp20 has no 'TSLA'; its stocks are AAPL, AMD"):
        Sp20Source().bars("TSLA")


def test_the_named_universe_is_one_panel_with_its_survivorship():
    panel = resolve_panel("sp20", "auto", Settings())

    assert panel.members == tuple(SP20_MEMBERS)
    assert panel.frame.shape == (8313, 20)
    assert (panel.provenance.source, panel.provenance.symbol) == ("sp20", "SP20")
    assert panel.survivorship is not None and "chosen in hindsight" in panel.survivorship
    assert survivorship_of(panel) == panel.survivorship


def test_a_listed_universe_of_sp20_stocks_comes_from_the_same_file_from_start():
    panel = resolve_panel(["KO", "PEP", "JPM", "BAC", "XOM"], "auto", Settings(), start=None)
    later = resolve_panel(
        ["KO", "PEP", "JPM", "BAC", "XOM"], "auto", Settings(), start=pd.Timestamp("2020-01-02")
    )

    assert panel.members == ("KO", "PEP", "JPM", "BAC", "XOM")
    pd.testing.assert_frame_equal(
        panel.frame, sp20_closes()[["KO", "PEP", "JPM", "BAC", "XOM"]], check_names=False
    )
    assert str(later.frame.index[0].date()) == "2020-01-02"
    assert panel.provenance.symbol == list_label(["KO", "PEP", "JPM", "BAC", "XOM"])


def _bars(symbol: str, dates: pd.DatetimeIndex, seed: int) -> BarSet:
    close = 100 * np.exp(np.cumsum(np.random.default_rng(seed).normal(0, 0.01, len(dates))))
    frame = pd.DataFrame({"close": close}, index=dates.rename("date"))
    return BarSet(frame, make_provenance(frame, source="caller", kind="real", symbol=symbol))


def test_a_universe_of_the_callers_bars_joins_them_on_the_dates_all_have():
    dates = pd.bdate_range("2020-01-01", periods=50)
    caller = {s: _bars(s, dates, i) for i, s in enumerate(["AA", "BB", "CC", "DD", "EE"])}
    caller["EE"] = BarSet(caller["EE"].frame.iloc[3:], caller["EE"].provenance)

    panel = resolve_panel(["AA", "BB", "CC", "DD", "EE"], "auto", Settings(), caller=caller)

    assert panel.frame.shape == (47, 5)
    assert panel.provenance.source == "caller"
    assert panel.provenance.note == (
        "5 stocks joined on the 47 dates all of them have (3 dates some lacked were dropped)"
    )
    assert panel.survivorship is None


def test_a_panel_needs_two_stocks_in_date_order():
    dates = pd.bdate_range("2020-01-01", periods=5)
    frame = pd.DataFrame({"AA": np.arange(5.0)}, index=dates)
    provenance = make_provenance(frame, source="caller", kind="real", symbol="X")

    with pytest.raises(ValueError, match="a panel needs at least two stocks"):
        PanelSet(frame, provenance)
