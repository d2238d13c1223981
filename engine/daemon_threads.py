"""Running a batch of blocking calls on daemon threads: a sweep's configurations.

A sweep abandoned at its session's deadline must not hold the process open at exit, which the
threads of a `ThreadPoolExecutor` do (every process joins them before it ends). Daemon threads
are left behind instead, and each stops at its trial's next fold once its caller gave up
(`stopping.py`).
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def run_on_daemon_threads(calls: Sequence[Callable[[], T]], threads: int, name: str) -> list[T]:
    """Every call's result, in order, with at most `threads` running at once, each in a copy of
    the caller's context (so engine progress and stop events reach it). An exception from a
    call is raised here, after all have ended."""
    results: list[T | None] = [None] * len(calls)
    errors: list[BaseException] = []
    pending = iter(range(len(calls)))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                index = next(pending, None)
            if index is None:
                return
            try:
                results[index] = calls[index]()
            except BaseException as error:
                with lock:
                    errors.append(error)

    workers = [
        threading.Thread(
            target=contextvars.copy_context().run, args=(work,), name=name, daemon=True
        )
        for _ in range(max(1, min(threads, len(calls))))
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if errors:
        raise errors[0]
    return results  # type: ignore[return-value]  # every slot was filled, or an error raised
