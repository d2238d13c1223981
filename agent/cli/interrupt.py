"""Ctrl-C during a session: the first stops it cleanly, the second quits at once.

The first Ctrl-C sets the session's interrupt: a model call in flight is cancelled, running
tools finish and are recorded, then the session ends with its summary and a transcript that
`mltrainer resume` continues. A second Ctrl-C exits immediately: what finished is already on
disk (the transcript line by line, the ledger per trial), and resume adopts the rest.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from rich.console import Console

T = TypeVar("T")
QUIT_NOW_EXIT_CODE = 130


def run_interruptible(
    session: Callable[[asyncio.Event], Coroutine[Any, Any, T]], errors: Console
) -> T:
    """Run `session(interrupt)` to completion with Ctrl-C wired to `interrupt`."""

    async def main() -> T:
        interrupt = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_sigint() -> None:
            if interrupt.is_set():
                errors.print(
                    "Quitting now. Finished trials are recorded; continue the session with "
                    "`mltrainer resume TRANSCRIPT`."
                )
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(QUIT_NOW_EXIT_CODE)
            interrupt.set()
            errors.print(
                "Stopping: running tools finish and are recorded, then the summary prints "
                "(Ctrl-C again to quit at once)."
            )

        loop.add_signal_handler(signal.SIGINT, on_sigint)
        try:
            return await session(interrupt)
        finally:
            loop.remove_signal_handler(signal.SIGINT)

    return asyncio.run(main())
