"""What every command shares: the console results print on, the `--json` option, and running a
coroutine (or a whole session, which Ctrl-C stops cleanly) with errors reported as one line."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console

from mltrainer.agent.cli.errors import errors, run_reported

if TYPE_CHECKING:
    import asyncio

# Results: a terminal's own width. Piped, lines are never wrapped (a table lays itself out for
# COLUMNS, or prints TSV, see `layout`).
console = Console(width=None if Console().is_terminal else 100_000)
T = TypeVar("T")
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def await_result(coroutine_factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    import asyncio

    return run_reported(lambda: asyncio.run(coroutine_factory()))


def await_session(session: Callable[[asyncio.Event], Coroutine[Any, Any, T]]) -> T:
    """Like `await_result`, with Ctrl-C stopping the session cleanly (see `interrupt`)."""
    from mltrainer.agent.cli.interrupt import run_interruptible

    return run_reported(lambda: run_interruptible(session, errors))
