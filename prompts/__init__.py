"""Prompt texts (system prompt, feedback templates, the demo's research script) as package data."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def load_text(name: str) -> str:
    """The text of `prompts/<name>`, read through importlib.resources so it works when installed."""
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
