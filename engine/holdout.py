"""Each dataset's locked final holdout: the most recent part of its history, fixed in the ledger
the first time the dataset is used, so every later session and process sees the same boundary.
A dataset is its bars' content, not their name (`engine/datasets.py`): the same bars under
another symbol or source get the same boundary.

```
|<------------- development ------------->|<--- selection --->|<-- locked holdout -->|
```

Trials only ever get the bars before the holdout; a request whose `end` or `days` would reach
into it is clipped, and the result says so. `finalize` is the one way to score on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import pandas as pd

from mltrainer.engine.data.base import BarSet, content_hash
from mltrainer.engine.data.catalog import source_entry
from mltrainer.engine.data.panel import PanelSet
from mltrainer.engine.datasets import bind
from mltrainer.engine.errors import InsufficientDataError
from mltrainer.engine.fingerprint import Fingerprint
from mltrainer.engine.ledger import DatasetRow, Ledger
from mltrainer.engine.trial import DatasetInfo, Segment, TrialConfig

# Trials need this many bars before the holdout: two years of daily bars, enough for
# walk-forward folds and a selection segment of a few hundred days.
MIN_DEVELOPMENT_BARS = 250


def dataset_key(source: str, symbol: str, kind: str = "bars") -> str:
    """The name a dataset is stored under when its bars are new to the ledger."""
    return f"{source}:{symbol.upper()}:{kind}"


def names_its_data(source: str) -> bool:
    """Whether a symbol of `source` names one series (a registered source's SPX is SPX, over
    any range), unlike a caller's or a file's symbol, which is only the label it was given."""
    entry = source_entry(source)
    return entry is not None and not entry.files


def propose_holdout(
    index: pd.DatetimeIndex, *, share: float, min_bars: int
) -> tuple[pd.Timestamp, pd.Timestamp, int]:
    """The last `share` of the bars, at least `min_bars`; refuses a history too short to leave
    `MIN_DEVELOPMENT_BARS` before it."""
    n_bars = len(index)
    rows = max(math.ceil(n_bars * share), min_bars)
    if n_bars - rows < MIN_DEVELOPMENT_BARS:
        raise InsufficientDataError(
            f"{n_bars} bars are too few to lock a final holdout of {rows} bars (the last "
            f"{share:.0%}, at least {min_bars}) and keep {MIN_DEVELOPMENT_BARS} bars for trials; "
            f"use a symbol or date range with at least {rows + MIN_DEVELOPMENT_BARS} bars"
        )
    return index[n_bars - rows], index[-1], rows


def dataset_kind(data: BarSet | PanelSet) -> str:
    """`bars` for one symbol, `panel` for a universe: a universe's holdout covers the same
    final dates for every member."""
    return "panel" if isinstance(data, PanelSet) else "bars"


def proposed_holdout(
    history: BarSet | PanelSet, key: str, *, share: float, min_bars: int
) -> DatasetRow:
    """What the holdout of `key` would be if it were fixed on `history` now."""
    start, end, rows = propose_holdout(
        pd.DatetimeIndex(history.frame.index), share=share, min_bars=min_bars
    )
    provenance = history.provenance
    return DatasetRow(
        dataset=key,
        source=provenance.source,
        symbol=provenance.symbol.upper(),
        kind=dataset_kind(history),
        holdout_start=start.date(),
        holdout_end=end.date(),
        holdout_rows=rows,
        created_at="",
    )


@dataclass(frozen=True)
class Locked:
    """The dataset bars were bound to, its holdout as the ledger fixed it, how often that
    holdout was scored, and why the dataset is not the bars' own name's, when it is not."""

    dataset: DatasetRow
    looks: int
    note: str | None


def content_of(history: BarSet | PanelSet) -> Fingerprint:
    """What binds a dataset: one series' closes, or a universe's closes with its members in
    alphabetical order, so the same stocks listed in another order are the same dataset (and
    a universe is never mistaken for one of its members: the number of series differs)."""
    if isinstance(history, PanelSet):
        return Fingerprint.of(history.frame[sorted(history.frame.columns)])
    return Fingerprint.of(history.frame["close"])


def lock_holdout(
    ledger: Ledger,
    history: BarSet | PanelSet,
    key: str,
    *,
    trust_name: bool,
    share: float,
    min_bars: int,
) -> Locked:
    """The holdout of the dataset `history` is, by content (`engine/datasets.py`): the one the
    ledger stored for bars with the same returns, under any name; or, for bars it has not seen,
    the last part of `history` under `key` (then stored, so every later caller gets the same
    boundary). `trust_name`: `key` names a registered source's symbol, which holds its dataset
    even over a range whose bars it has not stored yet."""
    content = content_of(history)

    def propose(name: str) -> DatasetRow:
        return proposed_holdout(history, name, share=share, min_bars=min_bars)

    with ledger.writing() as connection:
        binding = bind(connection, content, key, trust_name=trust_name, propose=propose)
    dataset = binding.dataset
    return Locked(dataset, ledger.look_count(dataset.dataset), binding.note)


@dataclass(frozen=True)
class Development:
    """What a trial may use: the bars before the holdout, after its `end` and `days`."""

    bars: BarSet | PanelSet
    info: DatasetInfo
    notes: list[str]


def development_bars(
    bars: BarSet | PanelSet, dataset: DatasetRow, config: TrialConfig, *, looks: int
) -> Development:
    """Clip `bars` to the development and selection segments; say what was clipped."""
    frame = bars.frame
    boundary = pd.Timestamp(dataset.holdout_start)
    notes = [
        f"locked holdout {dataset.holdout_start} to {dataset.holdout_end} "
        f"({dataset.holdout_rows} bars) is not used by trials; `finalize` scores one trial "
        "on it once"
    ]
    if config.end is not None and pd.Timestamp(config.end) >= boundary:
        notes.append(
            f"end {config.end} reaches into the locked holdout; clipped to the last bar before "
            f"{dataset.holdout_start}"
        )
    usable = frame[frame.index < boundary]
    if config.end is not None:
        usable = usable[usable.index <= pd.Timestamp(config.end)]
    if config.days is not None:
        if config.days > len(usable):
            notes.append(
                f"days={config.days} asked for more bars than the {len(usable)} before the "
                "locked holdout; used those"
            )
        usable = usable.iloc[-config.days :]
    if looks:
        notes.append(
            f"this dataset's holdout has been scored {looks} time(s) by finalize; it is no "
            "longer an untouched test"
        )
    if usable.empty:
        raise InsufficientDataError(
            f"no bars of {config.symbol} before the locked holdout (from "
            f"{dataset.holdout_start}) in the requested range (start={config.start}, "
            f"end={config.end}); move start earlier"
        )
    info = DatasetInfo(
        key=dataset.dataset,
        holdout=Segment(
            start=dataset.holdout_start, end=dataset.holdout_end, rows=dataset.holdout_rows
        ),
        holdout_looks=looks,
        used=Segment(start=usable.index[0].date(), end=usable.index[-1].date(), rows=len(usable)),
        used_hash=content_hash(usable),
    )
    return Development(replace(bars, frame=usable), info, notes)


def split_for_trials(
    bars: BarSet | PanelSet, config: TrialConfig, *, share: float = 0.2, min_bars: int = 250
) -> Development:
    """Propose a holdout on `bars` and clip them for `config`, without a ledger: for running the
    trial function alone (benchmarks, a worker that was handed its data). Nothing is stored,
    so nothing is locked across calls; the service is what locks holdouts."""
    key = dataset_key(bars.provenance.source, bars.provenance.symbol, dataset_kind(bars))
    dataset = proposed_holdout(bars, key, share=share, min_bars=min_bars)
    return development_bars(bars, dataset, config, looks=0)
