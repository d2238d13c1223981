"""The seed plan's Phase 4 functional test ("Data Integration"), ported.

Same input and expectations as `test_phase4_data.py` in the seed; `DataFetcher` replaces
`DataFetcherReal`. The seed set `fetcher.use_mock = True`; ours has no such switch and needs
none: offline, with no key and no synthetic fallback, AAPL's adjusted closes ship with
mltrainer (the sp20 universe), and the provenance says so. They are closes only, so the frame
holds the features a close allows (no volume ratio), never filled in.
"""

from __future__ import annotations

import pytest

from mltrainer.agent.seed import DataFetcher


@pytest.fixture(autouse=True)
def no_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLTRAINER_ALLOW_SYNTHETIC_FALLBACK", "false")


def test_data_pipeline() -> None:
    """Test complete data fetching and preparation"""
    fetcher = DataFetcher()

    features = fetcher.fetch_stock_data("AAPL", days=100)

    assert len(features) > 50  # Some rows lost to rolling calculations
    assert "returns" in features.columns
    assert "target" in features.columns

    assert features.attrs["provenance"]["kind"] == "real"
    assert features.attrs["provenance"]["source"] == "sp20"
    assert "volume_ratio" not in features.columns
    assert not features.isna().to_numpy().any()
