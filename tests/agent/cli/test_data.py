"""`mltrainer data` fetch/list/clear through typer's CliRunner, against the fake data server."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

# The fake Polygon/FRED server lives with the engine's data tests.
from mltrainer.agent.cli.data import data_app
from mltrainer.engine.data.catalog import REGISTERED_SOURCES, register_source
from tests.engine.data.market_fakes import FRED_KEY, POLYGON_KEY, FakeMarket
from tests.engine.data.test_data_registry import Vault

runner = CliRunner()


@pytest.fixture
def market(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMarket]:
    server = FakeMarket().start()
    monkeypatch.setenv("POLYGON_API_KEY", POLYGON_KEY)
    monkeypatch.setenv("FRED_API_KEY", FRED_KEY)
    monkeypatch.setenv("POLYGON_BASE_URL", server.url)
    monkeypatch.setenv("FRED_BASE_URL", server.url)
    monkeypatch.setenv("POLYGON_REQUESTS_PER_MINUTE", "100000")
    monkeypatch.setenv("FRED_REQUESTS_PER_MINUTE", "100000")
    yield server
    server.stop()


def fetch_json(*args: str) -> dict[str, object]:
    result = runner.invoke(data_app, ["fetch", *args, "--json"])
    assert result.exit_code == 0, result.output
    payload: dict[str, object] = json.loads(result.stdout)
    return payload


def test_fetch_polygon_json_reports_provenance(market: FakeMarket) -> None:
    payload = fetch_json(
        "MSFT", "--source", "polygon", "--start", "2015-01-01", "--end", "2015-01-31"
    )

    provenance = payload["provenance"]
    assert isinstance(provenance, dict)
    assert (provenance["source"], provenance["rows"], provenance["cached"]) == (
        "polygon",
        20,
        False,
    )
    assert payload["dataset"] == "bars"
    assert payload["last_rows"][-1]["date"] == "2015-01-30"  # type: ignore[index]


def test_second_fetch_of_the_same_range_comes_from_the_cache(market: FakeMarket) -> None:
    args = ("MSFT", "--source", "polygon", "--start", "2015-01-01", "--end", "2015-01-31")
    fetch_json(*args)

    payload = fetch_json(*args)

    assert payload["provenance"]["cached"] is True  # type: ignore[index]
    assert len(market.requests) == 1


def test_fetch_fred_is_point_in_time_by_default(market: FakeMarket) -> None:
    payload = fetch_json(
        "GDPC1", "--source", "fred", "--start", "2000-01-01", "--end", "2000-12-31"
    )

    assert payload["dataset"] == "series"
    assert payload["point_in_time"] is True
    assert payload["provenance"]["rows"] == 8  # type: ignore[index]


def test_fetch_fred_latest_is_labelled_not_point_in_time(market: FakeMarket) -> None:
    payload = fetch_json(
        "GDPC1", "--source", "fred", "--latest", "--start", "2000-01-01", "--end", "2000-12-31"
    )

    assert payload["point_in_time"] is False
    assert payload["provenance"]["rows"] == 4  # type: ignore[index]


def test_fetch_sample_prints_tables() -> None:
    result = runner.invoke(
        data_app,
        ["fetch", "MSFT", "--source", "sample", "--start", "2015-01-01", "--end", "2015-01-31"],
    )

    assert result.exit_code == 0
    assert "MSFT from sample" in result.stdout
    assert "2015-01-30" in result.stdout


def test_fetch_sample_series_by_id() -> None:
    payload = fetch_json("UNRATE", "--source", "sample")

    assert payload["dataset"] == "series"
    assert payload["provenance"]["source"] == "sample"  # type: ignore[index]


def test_fetch_synthetic_says_synthetic_data() -> None:
    result = runner.invoke(data_app, ["fetch", "ZZZ", "--source", "synthetic"])

    assert result.exit_code == 0
    assert "SYNTHETIC DATA" in result.stdout


def test_fetch_without_key_is_one_line_on_stderr_and_exit_1() -> None:
    result = runner.invoke(
        data_app, ["fetch", "AAPL", "--source", "polygon", "--end", "2015-01-31"]
    )

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: polygon cannot deliver AAPL")
    assert "POLYGON_API_KEY" in result.stderr


def test_fetch_refused_by_the_gate_is_one_line_and_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLTRAINER_STRICT", "true")

    result = runner.invoke(data_app, ["fetch", "ZZZ", "--source", "synthetic"])

    assert result.exit_code == 1
    assert result.stderr.startswith("error: ")
    assert "strict mode" in result.stderr


def test_fetch_with_an_unknown_source_is_a_usage_error_naming_the_sources() -> None:
    result = runner.invoke(data_app, ["fetch", "MSFT", "--source", "bloomberg"])

    shown = " ".join(result.stderr.replace("│", " ").split())  # unwrapped from rich's box
    assert result.exit_code == 2
    assert "'bloomberg' is not one of sample, synthetic, polygon, fred, sp20, csv" in shown


def test_fetch_reaches_a_registered_source() -> None:
    saved = dict(REGISTERED_SOURCES)
    register_source("vault", lambda settings: Vault(), serves="one ticker")
    try:
        payload = fetch_json("ZZZQ", "--source", "vault", "--end", "2015-01-31")
    finally:
        REGISTERED_SOURCES.clear()
        REGISTERED_SOURCES.update(saved)

    assert payload["dataset"] == "bars"
    assert payload["provenance"]["source"] == "vault"  # type: ignore[index]


def test_list_json_shows_what_was_fetched(market: FakeMarket) -> None:
    fetch_json("MSFT", "--source", "polygon", "--start", "2015-01-01", "--end", "2015-01-31")
    fetch_json("GDPC1", "--source", "fred", "--start", "2000-01-01", "--end", "2000-12-31")

    result = runner.invoke(data_app, ["list", "--json"])

    entries = json.loads(result.stdout)
    assert [(e["source"], e["symbol"], e["dataset"], e["rows"]) for e in entries] == [
        ("fred", "GDPC1", "vintages", 8),
        ("polygon", "MSFT", "bars", 20),
    ]
    assert entries[1]["covered"] == ["2015-01-01..2015-01-31"]
    assert entries[1]["fetched_at"] is not None


def test_list_prints_a_table(market: FakeMarket, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    fetch_json("MSFT", "--source", "polygon", "--start", "2015-01-01", "--end", "2015-01-31")

    result = runner.invoke(data_app, ["list"])

    assert result.exit_code == 0
    assert "MSFT" in result.stdout
    assert "2015-01-02 .. 2015-01-30" in result.stdout


def test_list_of_an_empty_cache_says_how_to_fill_it() -> None:
    result = runner.invoke(data_app, ["list"])

    assert "the cache is empty" in result.stdout


def test_clear_with_yes_removes_only_the_chosen_source(market: FakeMarket) -> None:
    fetch_json("MSFT", "--source", "polygon", "--start", "2015-01-01", "--end", "2015-01-31")
    fetch_json("GDPC1", "--source", "fred", "--start", "2000-01-01", "--end", "2000-12-31")

    result = runner.invoke(data_app, ["clear", "--source", "polygon", "--yes"])

    assert result.exit_code == 0
    assert "removed 20 cached row(s) (source=polygon)" in result.stdout
    listed = json.loads(runner.invoke(data_app, ["list", "--json"]).stdout)
    assert [e["source"] for e in listed] == ["fred"]


def test_clear_asks_first_and_keeps_data_when_declined(market: FakeMarket) -> None:
    fetch_json("MSFT", "--source", "polygon", "--start", "2015-01-01", "--end", "2015-01-31")

    result = runner.invoke(data_app, ["clear"], input="n\n")

    assert result.exit_code == 1
    assert len(json.loads(runner.invoke(data_app, ["list", "--json"]).stdout)) == 1
