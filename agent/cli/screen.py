"""What reaches the terminal from a model, a tool or a server: redacted of every known secret
and key-shaped string, and shortened when long.

The transcript keeps every word; the screen needs the gist. Rich lays a long text out line by
line (a 15 MB reply held a session past its deadline there), and a model can echo a key it was
shown, so nothing a model or a server wrote is printed without passing through here.
"""

from __future__ import annotations

from mltrainer.engine.redaction import redact_text

SCREEN_CHARS = 2000
# Redaction runs on a little more than is shown, so a secret that starts before the cut is
# replaced whole rather than shown in part (keys are far shorter than this).
_SECRET_MARGIN = 512


def on_screen(text: str, limit: int = SCREEN_CHARS) -> str:
    """`text` redacted, and cut to `limit` characters with a note saying how much more the
    transcript holds."""
    if len(text) <= limit:
        return redact_text(text)
    shown = redact_text(text[: limit + _SECRET_MARGIN])[:limit]
    return f"{shown} [... {len(text) - limit:,} more characters, all in the transcript]"
