"""Streamlit's AppTest runs the real app in the test process: real sessions, tools and engine.
The app is served as `mltrainer ui` serves it by default, on 127.0.0.1. Sessions a test starts
are stopped after it, so no thread outlives its data home."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path

import pytest
from streamlit import config as streamlit_config
from streamlit.testing.v1 import AppTest

from mltrainer.agent.session.live import running_sessions

APP = Path(str(resources.files("mltrainer.agent.ui").joinpath("app.py")))


@pytest.fixture
def app() -> Callable[[], AppTest]:
    """A fresh browser tab on the app (its own session state and URL)."""
    return lambda: AppTest.from_file(str(APP), default_timeout=60)


@pytest.fixture(autouse=True)
def served_on_loopback() -> Iterator[None]:
    """`server.address` as `mltrainer ui` sets it; unset it means every interface, where the
    app shows nothing without a token (tests/agent/ui/test_login.py)."""
    before = streamlit_config.get_option("server.address")
    streamlit_config.set_option("server.address", "127.0.0.1")
    yield
    streamlit_config.set_option("server.address", before)


@pytest.fixture(autouse=True)
def stop_sessions_after_the_test() -> Iterator[None]:
    yield
    for live in running_sessions():
        live.stop()
        live.wait(60)
