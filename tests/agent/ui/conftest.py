"""Streamlit's AppTest runs the real app in the test process: real sessions, tools and engine.
Sessions a test starts are stopped after it, so no thread outlives its data home."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mltrainer.agent.session.live import running_sessions

APP = Path(str(resources.files("mltrainer.agent.ui").joinpath("app.py")))


@pytest.fixture
def app() -> Callable[[], AppTest]:
    """A fresh browser tab on the app (its own session state and URL)."""
    return lambda: AppTest.from_file(str(APP), default_timeout=60)


@pytest.fixture(autouse=True)
def stop_sessions_after_the_test() -> Iterator[None]:
    yield
    for live in running_sessions():
        live.stop()
        live.wait(60)
