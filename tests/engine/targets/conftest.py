from __future__ import annotations

from collections.abc import Iterator

import pytest

from mltrainer.engine.targets import register_target
from mltrainer.engine.targets.registry import REGISTERED_TARGETS
from tests.engine.targets.large_move import DESCRIPTION


@pytest.fixture
def targets() -> Iterator[None]:
    """The registry as it was before the test, restored after it."""
    saved = dict(REGISTERED_TARGETS)
    yield
    REGISTERED_TARGETS.clear()
    REGISTERED_TARGETS.update(saved)


@pytest.fixture
def large_move(targets: None) -> None:
    """`large_move` registered as a plugin registers it: by where to import it from."""
    register_target(
        "large_move", "tests.engine.targets.large_move:LargeMove", description=DESCRIPTION
    )
