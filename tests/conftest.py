"""Every test gets its own data home and a clean environment: nothing touches the real home."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

_SECRETS = (
    "POLYGON_API_KEY",
    "MASSIVE_API_KEY",
    "FRED_API_KEY",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "POLYGON_BASE_URL",
    "FRED_BASE_URL",
    "MLTRAINER_ALLOWED_SOURCES",
    "MLTRAINER_STRICT",
    "MLTRAINER_ALLOW_SYNTHETIC_FALLBACK",
    "MLTRAINER_EXECUTOR",
    "MLTRAINER_SCHEDULER",
    "MLTRAINER_WORKERS",
    "MLTRAINER_UI_TOKEN",
    "MLTRAINER_UI_TOKEN_FILE",
    "MLTRAINER_UI_ALLOW_REMOTE",
    "MLTRAINER_MAX_REPLY_BYTES",
    "MLTRAINER_MCP_TOKEN",
    "MLTRAINER_MCP_TOKEN_FILE",
    "MLTRAINER_MCP_ALLOWED_HOSTS",
)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("MLTRAINER_HOME", str(home))
    for name in _SECRETS:
        monkeypatch.delenv(name, raising=False)
    # `.env` in the working directory must not leak a developer's keys into tests.
    monkeypatch.chdir(tmp_path)
    return home


@pytest.fixture(scope="session")
def dask_scheduler() -> Iterator[str]:
    """A real two-worker Dask cluster (worker processes, one thread each) for the whole run;
    tests send trials to its scheduler address as a remote cluster would get them."""
    distributed = pytest.importorskip("distributed", reason="needs mltrainer[dask]")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        yield cluster.scheduler_address
