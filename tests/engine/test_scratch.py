"""The scratch data home a replay check runs in: a copy of the data home as a session found it,
which leaves the original untouched."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

import pandas as pd
import pytest

from mltrainer.engine.data.cache import DateRange, MarketCache
from mltrainer.engine.ledger import Ledger
from mltrainer.engine.scratch import scratch_home
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import Settings, load_settings
from mltrainer.engine.trial import TrialConfig

SPX = "sample:SPX:bars"
LONG_AGO = "2000-01-01T00:00:00+00:00"
LATER = "2999-01-01T00:00:00+00:00"


def fast(symbol: str = "SPX") -> TrialConfig:
    return TrialConfig(symbol=symbol, model="naive_bayes", days=1500, save_model=False)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A data home with one trial on SPX (session "earlier"), one on IXIC, a look at SPX's
    holdout, and a cached polygon bar."""
    settings = Settings(MLTRAINER_HOME=tmp_path_factory.mktemp("scratch") / "home")
    earlier = ResearchService(settings, session="earlier")
    earlier.train(fast(), call_id="c1")
    earlier.train(fast("IXIC"), call_id="c2")
    earlier.finalize(1, call_id="c3")
    frame = pd.DataFrame(
        {c: [1.0] for c in ("open", "high", "low", "close", "volume")},
        index=pd.DatetimeIndex(["2024-05-01"], name="date"),
    )
    MarketCache(settings.db_path).store_bars(
        "polygon",
        "AAPL",
        frame,
        covered=[DateRange(date(2024, 5, 1), date(2024, 5, 1))],
        fetched_at=datetime(2024, 5, 2, tzinfo=UTC),
        fingerprint="f",
    )
    return settings


def test_the_copy_holds_the_tries_and_looks_on_the_named_datasets(home: Settings):
    with scratch_home(home, datasets={SPX}, before=LATER, session="checked") as scratch:
        ledger = Ledger(scratch.db_path)

        assert [row.trial for row in ledger.rows()] == [1]
        assert [look.trial for look in ledger.looks()] == [1]


def test_the_copy_holds_every_locked_holdout(home: Settings):
    with scratch_home(home, datasets={SPX}, before=LATER, session="checked") as scratch:
        ledger = Ledger(scratch.db_path)

        assert ledger.dataset(SPX) == Ledger(home.db_path).dataset(SPX)
        assert ledger.dataset("sample:IXIC:bars") == Ledger(home.db_path).dataset(
            "sample:IXIC:bars"
        )


def test_the_copy_leaves_out_what_the_checked_session_recorded(home: Settings):
    with scratch_home(home, datasets={SPX}, before=LATER, session="earlier") as scratch:
        ledger = Ledger(scratch.db_path)

        assert ledger.count() == 0
        assert ledger.looks() == []


def test_the_copy_leaves_out_what_was_recorded_after_the_session_began(home: Settings):
    with scratch_home(home, datasets={SPX}, before=LONG_AGO, session="checked") as scratch:
        assert Ledger(scratch.db_path).count() == 0


def test_the_copy_holds_the_data_cache(home: Settings):
    with scratch_home(home, datasets=set(), before=LATER, session=None) as scratch:
        cached = MarketCache(scratch.db_path).read_bars(
            "polygon", "AAPL", date(2024, 1, 1), date(2024, 12, 31)
        )

        assert cached.frame["close"].tolist() == [1.0]


def test_new_trials_in_the_copy_continue_the_numbering(home: Settings):
    with scratch_home(home, datasets={SPX}, before=LATER, session="checked") as scratch:
        trained = ResearchService(scratch, session="checked").train(fast(), call_id="c9")

        assert trained.result.trial == 2
        assert trained.result.tries == 2


def database_digest(settings: Settings) -> str:
    """The database file and its write-ahead log, where WAL-mode writes land first."""
    digest = hashlib.sha256()
    for path in (settings.db_path, settings.db_path.with_name(settings.db_path.name + "-wal")):
        digest.update(path.read_bytes() if path.exists() else b"")
    return digest.hexdigest()


def test_the_data_home_is_left_exactly_as_it_was(home: Settings):
    before = database_digest(home)

    with scratch_home(home, datasets={SPX}, before=LATER, session="checked") as scratch:
        ResearchService(scratch, session="checked").finalize(1, again=True, call_id="c10")

    assert database_digest(home) == before
    assert Ledger(home.db_path).count() == 2
    assert len(Ledger(home.db_path).looks()) == 1


def test_the_copy_is_removed_on_exit(home: Settings):
    with scratch_home(home, datasets={SPX}, before=LATER, session="checked") as scratch:
        folder = scratch.home

    assert not folder.exists()


def test_a_data_home_without_a_database_gives_an_empty_copy():
    settings = load_settings()

    with scratch_home(settings, datasets={SPX}, before=LATER, session=None) as scratch:
        assert Ledger(scratch.db_path).count() == 0

    assert not settings.db_path.exists()
