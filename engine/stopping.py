"""Stopping work nobody waits for any more: a session past its deadline, an MCP client that
left. Whoever gives up on a call sets its stop event; the engine checks it where it can stop
cleanly (between walk-forward folds and LSTM epochs in this process), and an executor waiting
on a worker process or a Dask worker terminates that worker instead of waiting it out.

A context variable carries the event, like the progress listener (`progress.py`), so it
reaches the thread a tool runs in without threading a flag through every call.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from mltrainer.engine.errors import MLTrainerError

_stop: ContextVar[threading.Event | None] = ContextVar("mltrainer_stop", default=None)


class StoppedError(MLTrainerError):
    """The work was stopped because its caller gave up on it (a deadline passed, a client
    disconnected); nothing of it was recorded."""


@contextmanager
def stop_when_set(event: threading.Event) -> Iterator[None]:
    """Work inside this block (and threads started from it with a copied context) stops when
    `event` is set."""
    token = _stop.set(event)
    try:
        yield
    finally:
        _stop.reset(token)


def stop_requested() -> bool:
    event = _stop.get()
    return event is not None and event.is_set()


def check_stopped(what: str) -> None:
    """`StoppedError` when this work's caller gave up; `what` says where it stopped."""
    if stop_requested():
        raise StoppedError(f"stopped {what}: its caller gave up on it; nothing was recorded")
