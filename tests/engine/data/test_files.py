"""The `csv` source: a user's own daily bars from a CSV or Parquet file, refused with the rule
and the first date that breaks it when they do not fit."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from mltrainer.engine.data.files import FileSource
from mltrainer.engine.data.registry import resolve_bars
from mltrainer.engine.errors import DataSourceError
from mltrainer.engine.settings import load_settings


def bars_frame(rows: int = 5) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Date": pd.bdate_range("2021-01-04", periods=rows).strftime("%Y-%m-%d"),
            "Open": [10.0 + i for i in range(rows)],
            "High": [11.0 + i for i in range(rows)],
            "Low": [9.0 + i for i in range(rows)],
            "Close": [10.5 + i for i in range(rows)],
            "Volume": [1000 * (i + 1) for i in range(rows)],
        }
    )


def write(tmp_path: Path, frame: pd.DataFrame, name: str = "mine.csv") -> Path:
    path = tmp_path / name
    if name.endswith(".parquet"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return path


def test_a_csv_file_reads_as_daily_bars_in_any_column_case(tmp_path: Path) -> None:
    path = write(tmp_path, bars_frame())

    bars = FileSource().file_bars(path, "MINE")

    assert list(bars.frame.columns) == ["open", "high", "low", "close", "volume"]
    assert bars.frame.index[0] == pd.Timestamp("2021-01-04")
    assert bars.frame["close"].tolist() == [10.5, 11.5, 12.5, 13.5, 14.5]
    assert (bars.provenance.source, bars.provenance.symbol, bars.provenance.rows) == (
        "csv",
        "MINE",
        5,
    )
    assert bars.provenance.note.startswith(f"file {path} (sha256 ")


def test_a_parquet_file_with_a_date_index_reads_the_same(tmp_path: Path) -> None:
    frame = bars_frame().set_index("Date")
    frame.index = pd.DatetimeIndex(frame.index, name="date")
    path = tmp_path / "mine.parquet"
    frame.to_parquet(path)

    bars = FileSource().file_bars(path, "MINE", start=date(2021, 1, 5))

    assert bars.frame["close"].tolist() == [11.5, 12.5, 13.5, 14.5]


def test_an_adjusted_close_is_used_with_the_prices_scaled_and_said(tmp_path: Path) -> None:
    frame = bars_frame()
    frame["Adj Close"] = frame["Close"] / 2
    path = write(tmp_path, frame)

    bars = FileSource().file_bars(path, "MINE")

    assert bars.frame["close"].tolist() == [5.25, 5.75, 6.25, 6.75, 7.25]
    assert bars.frame["open"].iloc[0] == 5.0
    assert "adjusted close, open/high/low scaled to match" in bars.provenance.note


def test_a_missing_column_is_refused_naming_what_the_file_has(tmp_path: Path) -> None:
    path = write(tmp_path, bars_frame().drop(columns="Volume"))

    with pytest.raises(DataSourceError, match=r"lacks the column\(s\) \['volume'\].*it has"):
        FileSource().file_bars(path, "MINE")


def test_a_repeated_date_is_refused(tmp_path: Path) -> None:
    frame = bars_frame()
    frame.loc[3, "Date"] = frame.loc[2, "Date"]
    path = write(tmp_path, frame)

    with pytest.raises(DataSourceError, match=r"1 repeated date\(s\), first 2021-01-06"):
        FileSource().file_bars(path, "MINE")


def test_a_non_numeric_price_is_refused_with_its_date(tmp_path: Path) -> None:
    frame = bars_frame().astype({"Close": object})
    frame.loc[1, "Close"] = "n/a"
    path = write(tmp_path, frame)

    with pytest.raises(
        DataSourceError,
        match=r"column 'close' has 1 missing or non-numeric value\(s\), first on 2021-01-05",
    ):
        FileSource().file_bars(path, "MINE")


def test_a_non_positive_close_is_refused(tmp_path: Path) -> None:
    frame = bars_frame()
    frame.loc[4, "Close"] = 0.0
    path = write(tmp_path, frame)

    with pytest.raises(DataSourceError, match=r"close must be positive.*first 2021-01-08"):
        FileSource().file_bars(path, "MINE")


def test_a_file_that_is_not_there_or_not_bars_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match=r"no file .*gone.csv; name an existing CSV file"):
        FileSource().file_bars(tmp_path / "gone.csv", "MINE")
    with pytest.raises(DataSourceError, match=r"ending in .csv, .csv.gz, .parquet, .pq"):
        FileSource().file_bars(tmp_path / "notes.txt", "MINE")


def test_the_source_needs_a_path() -> None:
    with pytest.raises(DataSourceError, match=r"reads bars from a file: give its path"):
        resolve_bars("MINE", "csv", load_settings())


def test_a_path_is_refused_for_a_source_that_reads_no_files(tmp_path: Path) -> None:
    path = write(tmp_path, bars_frame())

    with pytest.raises(
        DataSourceError, match=r"a source that reads files \(csv\), not for 'sample'"
    ):
        resolve_bars("SPX", "sample", load_settings(), path=path)
