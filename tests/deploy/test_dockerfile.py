"""The Dockerfile's own logic, run here: the requirements its dependency stage installs for the
EXTRAS build argument (read from pyproject.toml exactly as the build reads it), and a name
pyproject.toml has no extra for stopping the build with the names it has."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"


@pytest.fixture(scope="module")
def requirements_program() -> str:
    """The Python program the dependency stage runs to list what it installs."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    (program,) = re.findall(r"python3 -c '([^']*tomllib[^']*)'", text)
    return program


def requirements(program: str, extras: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", program, str(PYPROJECT), extras],
        capture_output=True,
        text=True,
        timeout=60,
    )


def project() -> dict:
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]


def test_the_default_extras_install_the_dependencies_and_the_chat(requirements_program):
    listed = requirements(requirements_program, "ui")

    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [*project()["dependencies"], "streamlit>=1.61"]


def test_no_extras_install_the_dependencies_alone(requirements_program):
    listed = requirements(requirements_program, "")

    assert listed.stdout.splitlines() == project()["dependencies"]


def test_several_extras_are_comma_separated(requirements_program):
    listed = requirements(requirements_program, " ui , dask ")

    optional = project()["optional-dependencies"]
    assert listed.stdout.splitlines() == [
        *project()["dependencies"],
        *optional["ui"],
        *optional["dask"],
    ]


def test_an_extra_pyproject_lacks_stops_the_build_naming_those_it_has(requirements_program):
    listed = requirements(requirements_program, "ui,gui")

    assert listed.returncode == 1
    assert listed.stdout == ""
    assert listed.stderr.strip() == (
        "EXTRAS names ['gui'], which pyproject.toml does not have; "
        "it has ['dask', 'deep', 'dev', 'ui']"
    )
