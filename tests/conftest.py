"""Every test gets its own data home and a clean environment: nothing touches the real home."""

from __future__ import annotations

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
