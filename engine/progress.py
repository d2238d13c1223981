"""Progress of long work inside the engine (fold i of k), for whoever is watching: the CLI's
status line, the UI's chat. Optional and out of the way: the runner calls `report`, which does
nothing unless a caller installed a listener with `listening`.

A context variable carries the listener, so it reaches the worker thread a tool runs in
(`asyncio.to_thread` copies the context) without threading a callback through every call.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

ProgressListener = Callable[[str, int, int], None]

_listener: ContextVar[ProgressListener | None] = ContextVar("mltrainer_progress", default=None)


def report(stage: str, done: int, total: int) -> None:
    """`stage` names the work ("walk-forward fold", "final fit"); `done` of `total` steps."""
    listener = _listener.get()
    if listener is not None:
        listener(stage, done, total)


@contextmanager
def listening(listener: ProgressListener | None) -> Iterator[None]:
    """Send the engine's progress reports made inside this block (and the threads it starts
    with a copied context) to `listener`."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


def progress_text(stage: str, done: int, total: int) -> str:
    """'walk-forward fold 3 of 5', or the stage alone when it is a single step."""
    if total > 1:
        return f"{stage} {done} of {total}"
    return stage
