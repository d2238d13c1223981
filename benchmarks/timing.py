"""Timing helpers the benchmarks share. Benchmarks run as scripts, so this sits beside them."""

from __future__ import annotations

import argparse
import functools
import time
from collections.abc import Callable
from typing import Any


class Clock:
    """Seconds and calls spent inside wrapped callables, outermost calls only."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0
        self._depth = 0

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._depth += 1
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self.seconds += time.perf_counter() - started
                    self.calls += 1

        return timed


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def benchmark_parser(doc: str | None, example: str) -> argparse.ArgumentParser:
    """A benchmark's command line: its docstring's first paragraph as the description, the
    whole docstring kept as written, and an example call."""
    return argparse.ArgumentParser(
        description=doc.split("\n\n")[0] if doc else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"Example: {example}",
    )
