"""The HTML report of one trial: one title, the session it came from by name, and holdout
looks numbered among the looks at their own dataset."""

from __future__ import annotations

import re

import pytest

from mltrainer.agent.report.writer import session_name, trial_report
from mltrainer.agent.session.transcript import Transcript
from mltrainer.engine.service import ResearchService
from mltrainer.engine.settings import Settings
from mltrainer.engine.trial import TrialConfig


def fast(symbol: str) -> TrialConfig:
    return TrialConfig(symbol=symbol, model="naive_bayes", days=1500, save_model=False)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Trial 1 on IXIC and trial 2 on SPX, both finalized (IXIC first), in session "s1"."""
    settings = Settings(MLTRAINER_HOME=tmp_path_factory.mktemp("writer") / "home")
    service = ResearchService(settings, session="s1")
    service.train(fast("IXIC"), call_id="c1")
    service.train(fast("SPX"), call_id="c2")
    service.finalize(1, call_id="c3")
    service.finalize(2, call_id="c4")
    return settings


@pytest.fixture(scope="module")
def html(home: Settings) -> str:
    return trial_report(home, 2, repeats=1).html.read_text(encoding="utf-8")


def test_the_trial_report_has_its_title_once(html: str):
    headings = re.findall(r"<h[12]>([^<]*)</h[12]>", html)

    assert headings.count("Trial 2: naive_bayes on SPX") == 1


def test_a_look_is_numbered_among_the_looks_at_its_own_dataset(html: str):
    assert "locked holdout (look 1 at it)" in html
    assert "look 2" not in html


def test_a_session_is_named_by_its_id_and_goal_when_its_transcript_is_here(home: Settings):
    transcript = Transcript(home.transcripts_dir / "s1.jsonl", [])
    transcript.write(
        {"event": "session_start", "session_id": "s1", "provider": "direct", "goal": "Is SPX up?"}
    )
    transcript.close()

    assert session_name(home, "s1") == "session s1 (direct: Is SPX up?)"


def test_a_session_without_its_transcript_is_named_by_its_id(home: Settings):
    assert session_name(home, "gone") == "session gone"


def test_a_trial_recorded_outside_a_session_says_so(home: Settings):
    assert session_name(home, None) == "recorded outside a session (the Python API without one)"
