"""Names that become paths under the data home, checked before they do.

A session id, a report folder or a transcript name can come from a transcript someone handed
over, an MCP caller or a URL (`?session=`), and `home / "transcripts" / f"{id}.jsonl"` with id
`../../../X` is a file anywhere. So a name is one path component from a safe character set,
and the path built from it is resolved and compared with the folder it must stay in.
"""

from __future__ import annotations

import re
from pathlib import Path

from mltrainer.engine.errors import DataHomeError

# Well inside a file system's 255 characters, with room for what names add (".jsonl").
LONGEST_ID = 128
NAME_CHARACTERS = (
    f"letters, digits, '.', '_' and '-' ({LONGEST_ID} at most, first a letter or digit)"
)
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class UnsafeNameError(DataHomeError):
    """A name that would make a path outside its folder in the data home, or no path at all."""


def is_safe_name(name: str, longest: int = LONGEST_ID) -> bool:
    """Whether `name` is one path component of the safe set (no separator, no `..`)."""
    return isinstance(name, str) and len(name) <= longest and _SAFE_NAME.fullmatch(name) is not None


def safe_name(name: str, what: str, longest: int = LONGEST_ID) -> str:
    """`name`, or `UnsafeNameError` naming `what` it is and the characters allowed."""
    if not is_safe_name(name, longest):
        shown = repr(name) if len(str(name)) <= 80 else repr(str(name)[:80]) + "..."
        raise UnsafeNameError(f"{what} {shown} is not a safe name: use {NAME_CHARACTERS}")
    return name


def inside(folder: Path, name: str) -> Path:
    """`folder / name`, resolved, and refused unless it stays in `folder` (a symbolic link
    pointing out of the data home is refused too)."""
    base = folder.resolve()
    path = (base / name).resolve()
    if path == base or base not in path.parents:
        raise UnsafeNameError(f"{name!r} leads outside {base}; it must stay inside it")
    return path
