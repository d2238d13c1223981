"""A scratch data home: a temporary copy of a data home as a recorded session found it, for
re-executing that session without touching the original.

It holds the original's data cache (so what was fetched is answered again without a request),
every dataset's locked holdout (the same boundaries), and the tries and holdout looks that
earlier sessions recorded on the session's datasets (the same counts, notes and adjusted
p-values). Everything re-executed there is recorded there and deleted with it: the original's
ledger gains no row and spends no look. The original database is opened read-only.
"""

from __future__ import annotations

import tempfile
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from pathlib import Path

from mltrainer.engine.data.cache import MarketCache
from mltrainer.engine.ledger import Ledger
from mltrainer.engine.settings import Settings
from mltrainer.engine.store import read_only


@contextmanager
def scratch_home(
    settings: Settings,
    *,
    datasets: Collection[str],
    before: str,
    session: str | None,
) -> Iterator[Settings]:
    """Settings whose data home is a temporary copy of `settings`' as it was at `before` (an
    ISO time) for `datasets`, leaving out what `session` itself recorded; removed on exit."""
    with tempfile.TemporaryDirectory(prefix="mltrainer-scratch-") as folder:
        scratch = settings.model_copy(update={"home": Path(folder)})
        scratch.ensure_home()
        ledger = Ledger(scratch.db_path)
        cache = MarketCache(scratch.db_path)
        if settings.db_path.is_file():
            with read_only(settings.db_path) as reader:
                cache.adopt(reader)
                ledger.adopt_history(reader, datasets=datasets, before=before, session=session)
        yield scratch
