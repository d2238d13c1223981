"""The source catalog: the built-in sources are registered through `register_source` with what
the rest of the engine reads (kinds served, key, live or offline, place in `auto`), a taken
name is refused unless replaced, and the keys of every registered source are known."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mltrainer.engine.data.catalog import (
    REGISTERED_SOURCES,
    auto_sources,
    bar_source_names,
    file_source_names,
    is_live,
    is_synthetic,
    register_source,
    series_source_names,
    source_keys,
    source_names,
)
from mltrainer.engine.data.sample import SampleSource
from mltrainer.engine.settings import Settings


@pytest.fixture
def catalog() -> Iterator[None]:
    saved = dict(REGISTERED_SOURCES)
    yield
    REGISTERED_SOURCES.clear()
    REGISTERED_SOURCES.update(saved)


def test_the_built_ins_carry_what_the_engine_reads():
    rows = [
        (s.name, s.bars, s.series, s.kind, s.live, s.auto, s.needs_key)
        for s in REGISTERED_SOURCES.values()
    ]

    assert rows == [
        ("sample", True, True, "real", False, 1, None),
        ("synthetic", True, False, "synthetic", False, 4, None),
        ("polygon", True, False, "real", True, 2, "POLYGON_API_KEY"),
        ("fred", False, True, "real", True, 0, "FRED_API_KEY"),
        ("sp20", True, False, "real", False, 3, None),
        ("csv", True, False, "real", False, None, None),
    ]


def test_names_and_the_auto_order_come_from_the_registrations():
    assert source_names() == ("sample", "synthetic", "polygon", "fred", "sp20", "csv")
    assert bar_source_names() == ("auto", "sample", "synthetic", "polygon", "sp20", "csv")
    assert series_source_names() == ("fred", "sample")
    assert file_source_names() == ("csv",)
    assert [s.name for s in auto_sources()] == ["sample", "polygon", "sp20", "synthetic"]
    assert [s.name for s in auto_sources(series=True)] == ["fred", "sample"]
    assert (is_live("polygon"), is_live("sample"), is_live("auto")) == (True, False, False)
    assert (is_synthetic("synthetic"), is_synthetic("SAMPLE"), is_synthetic(None)) == (
        True,
        False,
        False,
    )


def test_a_built_in_name_is_taken_like_any_other(catalog: None):
    with pytest.raises(ValueError, match="a source called 'sample' is already registered"):
        register_source("sample", lambda settings: SampleSource(), serves="a copy")


def test_auto_is_not_a_source_name(catalog: None):
    with pytest.raises(ValueError, match="'auto' picks a source for each request"):
        register_source("auto", lambda settings: SampleSource(), serves="a copy")


def test_a_source_of_nothing_is_refused(catalog: None):
    with pytest.raises(ValueError, match="serves neither bars nor series"):
        register_source("empty", lambda settings: SampleSource(), serves="-", bars=False)


def test_a_registered_source_without_an_auto_place_is_reached_only_by_name(catalog: None):
    register_source("copy", lambda settings: SampleSource(), serves="a copy")

    assert source_names()[-1] == "copy"
    assert "copy" not in [s.name for s in auto_sources()]


def test_the_keys_of_every_registered_source_are_known(
    catalog: None, monkeypatch: pytest.MonkeyPatch
):
    register_source(
        "quotes", lambda settings: SampleSource(), serves="quotes", needs_key="QUOTES_KEY"
    )
    monkeypatch.setenv("MASSIVE_API_KEY", "massive-secret")  # polygon's other name
    monkeypatch.setenv("QUOTES_KEY", "quotes-secret")

    assert source_keys(Settings()) == ["massive-secret", "quotes-secret"]
