"""Waiting on a page in AppTest and reading its metrics: shared by the page tests."""

from __future__ import annotations

import time
from collections.abc import Callable

from streamlit.testing.v1 import AppTest


def rerun_until(at: AppTest, done: Callable[[AppTest], bool], seconds: float = 120) -> AppTest:
    """Rerun the page (as its one-second refresh does) until `done` holds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        if done(at):
            return at
        time.sleep(0.2)
    raise AssertionError(f"timed out; the page shows: {[m.value for m in at.markdown]}")


def metric_values(at: AppTest, label: str) -> list[str]:
    return [m.value for m in at.metric if m.label == label]
