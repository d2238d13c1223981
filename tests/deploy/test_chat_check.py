"""The check `make image-test` runs against the container's chat, run here against `mltrainer ui`
on this machine with a token and an operator's key set: a real browser sees the token form
first, is refused a wrong token, enters the right one, picks the direct provider over the keyed
one, trains a trial on SPX and reads its accuracy as the ledger recorded it, and never sees the
key. So the image test's browser half is exercised by `make test` too, in a minute instead of
after a build."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.agent.ui.serving import served_ui

CHECK = Path(__file__).resolve().parents[2] / "deploy" / "container" / "chat_check.py"
OPERATOR_KEY = "sk-operator-canary-7f3a9c2e41d8b6a0"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (Path("/usr/bin/chromium").exists() and Path("/usr/bin/chromedriver").exists()),
        reason="needs Debian's chromium and chromium-driver (`make browser` installs them)",
    ),
]


def test_the_chat_check_passes_through_the_token_form_to_a_trial(
    isolated_home: Path, tmp_path: Path
):
    token = tmp_path / "ui-token"
    token.write_text("k3R9-vX2q_Lm8PzT4wYb\n", encoding="utf-8")
    environment = {"MLTRAINER_UI_TOKEN_FILE": str(token), "OPENAI_API_KEY": OPERATOR_KEY}

    with served_ui([], tmp_path / "ui.log", environment) as url:
        checked = subprocess.run(
            [
                sys.executable, str(CHECK), url,
                "--token-file", str(token),
                "--ledger", str(isolated_home / "mltrainer.db"),
                "--provider", "Direct (no LLM)",
                "--secret-env", "OPERATOR_KEY",
                "--screenshot", str(tmp_path / "chat.png"),
            ],
            capture_output=True,
            text=True,
            timeout=400,
            env={**os.environ, "OPERATOR_KEY": OPERATOR_KEY, "NO_PROXY": "127.0.0.1"},
        )  # fmt: skip

    assert checked.returncode == 0, checked.stdout + checked.stderr
    lines = checked.stdout.splitlines()
    assert lines[:5] == [
        f"chat: {url}/_stcore/health answers ok",
        "chat: the page shows the token form and nothing else",
        "chat: a wrong token is refused; the chat stays closed",
        "chat: the right token opens the chat",
        "chat: provider: Direct (no LLM)",
    ]
    assert lines[5].startswith(
        "chat: 'Train a naive bayes model on SPX using the last 1500 days' trained trial 1 "
        "(naive_bayes on SPX); its card shows selection accuracy "
    )
    assert lines[6] == "chat: no value of 1 operator key(s) in the page at any step"
    assert (tmp_path / "chat.png").stat().st_size > 10_000
