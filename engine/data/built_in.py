"""The built-in data sources, registered through `register_source` as a plugin's would be.
Each is built on first use, so reading the catalog imports neither pandas nor an HTTP client.

`csv` reads the file a trial names in `path`; it is never picked by `auto`.

`auto` order: FRED's point-in-time vintages before the sample's latest-vintage copy of a
series; for bars, the shipped sample (the same real data, offline) before Polygon, then the
shipped closes of the 20 sp20 stocks (offline, but close only and ending in 2022, so a Polygon
key's full bars come first), and the synthetic walk last, as the labelled fallback policy may
allow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mltrainer.engine.data.catalog import register_source

if TYPE_CHECKING:
    from mltrainer.engine.data.base import DataSource
    from mltrainer.engine.settings import Settings


def _sample(settings: Settings) -> DataSource:
    from mltrainer.engine.data.sample import SampleSource

    return SampleSource()


def _sp20(settings: Settings) -> DataSource:
    from mltrainer.engine.data.sp20 import Sp20Source

    return Sp20Source()


def _synthetic(settings: Settings) -> DataSource:
    from mltrainer.engine.data.synthetic import SyntheticSource

    return SyntheticSource()


def _files(settings: Settings) -> DataSource:
    from mltrainer.engine.data.files import FileSource

    return FileSource()


def _polygon(settings: Settings) -> DataSource:
    from mltrainer.engine.data.polygon import PolygonSource

    return PolygonSource(settings)


def _fred(settings: Settings) -> DataSource:
    from mltrainer.engine.data.fred import FredSource

    return FredSource(settings)


def register_built_in_sources() -> None:
    register_source(
        "sample",
        _sample,
        serves="bars and series shipped in PyPI packages (offline)",
        series=True,
        auto=1,
    )
    register_source(
        "synthetic",
        _synthetic,
        serves="seeded random-walk bars for any ticker",
        kind="synthetic",
        auto=4,
    )
    register_source(
        "polygon",
        _polygon,
        serves="daily adjusted bars for any US ticker (Polygon/Massive; cached ranges offline)",
        needs_key="POLYGON_API_KEY",
        read_key=lambda settings: settings.polygon_api_key,
        live=True,
        auto=2,
    )
    register_source(
        "fred",
        _fred,
        serves="any FRED macro series, point in time via ALFRED vintages (cached offline)",
        needs_key="FRED_API_KEY",
        read_key=lambda settings: settings.fred_api_key,
        bars=False,
        series=True,
        live=True,
        auto=0,
    )
    register_source(
        "sp20",
        _sp20,
        serves="adjusted daily closes of 20 large S&P 500 stocks, 1990-2022 (offline, close "
        "only; the sp20 universe)",
        auto=3,
    )
    register_source(
        "csv",
        _files,
        serves="daily bars from your own CSV or Parquet file (give its path)",
        files=True,
    )
