"""The threads tool handlers run in: daemon threads, so a tool abandoned at a deadline never
keeps the process alive.

A handler blocks (a trial computes for seconds, a data source waits on HTTP), so it runs off
the event loop. `asyncio.to_thread` would use the loop's default pool, whose threads every
process waits for at exit: one trial still fitting on the local executor kept `mltrainer run`
alive past its `--max-seconds` with no summary printed. These threads are daemons: the
session ends, prints its summary and closes its transcript, and the process exits without
them. At most `size` run at once, as in the default pool, however many calls a turn holds.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")
_Job = tuple[Future[Any], contextvars.Context, Callable[..., Any], tuple[Any, ...]]


class DaemonThreads:
    """A pool of at most `size` daemon threads, started as work arrives."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = self._idle = self._queued = 0

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """`function(*args)` on one of the threads, in a copy of the caller's context (so the
        engine's progress listener and stop event reach it, as with `asyncio.to_thread`)."""
        future: Future[T] = Future()
        with self._lock:
            self._queued += 1
            start = self._queued > self._idle and self._threads < self.size
            self._threads += start
        self._jobs.put((future, contextvars.copy_context(), function, args))
        if start:
            threading.Thread(target=self._work, name="mltrainer-tool", daemon=True).start()
        return await asyncio.wrap_future(future)

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            future, context, function, args = self._jobs.get()
            with self._lock:
                self._idle -= 1
                self._queued -= 1
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = context.run(function, *args)
            except BaseException as error:
                future.set_exception(error)
            else:
                future.set_result(result)


# As many as asyncio's default pool: enough for a turn's parallel calls on any machine.
TOOL_THREADS = DaemonThreads(min(32, (os.cpu_count() or 1) + 4))
