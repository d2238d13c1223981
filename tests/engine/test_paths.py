"""Names from input become paths only inside their folder of the data home."""

from __future__ import annotations

from pathlib import Path

import pytest

from mltrainer.engine.paths import UnsafeNameError, inside, is_safe_name, safe_name


@pytest.mark.parametrize(
    "name",
    ["20240101-120000-abcdef", "mcp-3f2a", "a", "A.b_c-d", "replay-x", "x" * 128, "a..b"],
)
def test_safe_names(name: str) -> None:
    assert is_safe_name(name)


@pytest.mark.parametrize(
    "name",
    ["", "..", ".", "../../../X", "a/b", "a\\b", "-rf", ".hidden", "x" * 129, "a b", "é", "a\0b"],
)
def test_unsafe_names(name: str) -> None:
    assert not is_safe_name(name)


def test_an_unsafe_name_is_refused_naming_what_it_is_and_what_is_allowed() -> None:
    with pytest.raises(
        UnsafeNameError,
        match=r"session id '\.\./\.\./\.\./X' is not a safe name: use letters, digits, '\.', "
        r"'_' and '-'",
    ):
        safe_name("../../../X", "session id")


def test_inside_keeps_a_path_in_its_folder(tmp_path: Path) -> None:
    assert inside(tmp_path, "report.html") == tmp_path.resolve() / "report.html"


def test_inside_refuses_a_path_that_climbs_out(tmp_path: Path) -> None:
    with pytest.raises(UnsafeNameError, match="leads outside"):
        inside(tmp_path / "reports", "../escaped")


def test_inside_refuses_a_link_that_points_out(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "link").symlink_to(tmp_path.parent)

    with pytest.raises(UnsafeNameError, match="leads outside"):
        inside(tmp_path / "reports", "link")
