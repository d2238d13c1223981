"""The Sessions page through AppTest: every transcript with goal, status, trials and conclusion;
opening one shows the conversation; a killed session resumes from there into the Chat page."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from typer.testing import CliRunner

from mltrainer.agent.cli.app import app as cli
from mltrainer.agent.messages import AssistantTurn, ToolCall, UserMessage
from mltrainer.agent.providers import ScriptedProvider
from mltrainer.agent.providers.direct import DirectProvider
from mltrainer.agent.session.live import get_session
from mltrainer.agent.session.runs import replay_session, start_session
from mltrainer.engine.settings import load_settings
from tests.agent.ui.apptest import metric_values, rerun_until

TRAIN = "Train a naive bayes model on SPX using the last 1500 days."


def finished_session() -> str:
    turns = [
        AssistantTurn(TRAIN),
        AssistantTurn(
            "", (ToolCall("c9", "finish", '{"conclusion": "Nothing beats the baseline."}'),)
        ),
    ]
    summary = asyncio.run(
        start_session(ScriptedProvider(turns), "Is SPX predictable?", settings=load_settings())
    )
    assert summary.transcript is not None
    return summary.transcript.stem


def killed_direct_session() -> str:
    """A direct session whose process died after its first trial: no session_end."""
    provider = DirectProvider()
    provider.say(TRAIN)

    def leave_after_the_first_answer(message: object) -> None:
        if isinstance(message, UserMessage) and message.text.startswith("(Read from"):
            provider.leave("killed")

    summary = asyncio.run(
        start_session(
            provider, TRAIN, settings=load_settings(), on_message=leave_after_the_first_answer
        )
    )
    assert summary.transcript is not None
    lines = summary.transcript.read_text(encoding="utf-8").splitlines(keepends=True)
    summary.transcript.write_text("".join(lines[:-1]), encoding="utf-8")  # as if killed
    return summary.transcript.stem


def test_every_session_is_listed_with_goal_status_trials_and_conclusion(app):
    done = finished_session()
    killed = killed_direct_session()

    at = app().run().switch_page("sessions.py").run()

    table = at.dataframe(key="sessions-table").value.set_index("session")
    assert table.loc[done, "goal"] == "Is SPX predictable?"
    assert table.loc[done, "status"] == "ended: finished"
    assert table.loc[done, "trials"] == 1
    assert table.loc[done, "conclusion"] == "Nothing beats the baseline."
    assert table.loc[killed, "status"] == "not ended (killed, or running in another process)"
    assert table.loc[killed, "provider"] == "direct (person)"


def test_train_and_replays_are_listed_with_what_made_them(app):
    trained = CliRunner().invoke(cli, ["train", TRAIN, "--json"])
    assert trained.exit_code == 0, trained.output
    train = Path(json.loads(trained.stdout)["transcript"])
    done = finished_session()
    replayed = asyncio.run(
        replay_session(load_settings().transcripts_dir / f"{done}.jsonl", settings=load_settings())
    )
    assert replayed.summary.transcript is not None

    at = app().run().switch_page("sessions.py").run()

    table = at.dataframe(key="sessions-table").value.set_index("session")
    assert table.loc[train.stem, "kind"] == "train"
    assert table.loc[train.stem, "trials"] == 1
    assert table.loc[done, "kind"] == "agent"
    assert table.loc[replayed.summary.transcript.stem.removeprefix("replay-"), "kind"] == (
        f"replay of {done}"
    )


def test_opening_a_replay_says_what_it_replays(app):
    done = finished_session()
    replayed = asyncio.run(
        replay_session(load_settings().transcripts_dir / f"{done}.jsonl", settings=load_settings())
    )
    assert replayed.summary.transcript is not None
    at = app().run().switch_page("sessions.py").run()

    at.selectbox[0].set_value(replayed.summary.transcript.stem.removeprefix("replay-")).run()

    assert any(i.value.startswith(f"A replay of {done}") for i in at.info)


def test_opening_a_session_shows_its_conversation(app):
    done = finished_session()
    at = app().run().switch_page("sessions.py").run()

    at.selectbox[0].set_value(done).run()

    assert "**Goal:** Is SPX predictable?" in [m.value for m in at.markdown]
    assert len(metric_values(at, "Selection accuracy")) == 1
    assert any(i.value.startswith("Session ended: finished after 2 turns") for i in at.info)
    assert not [b for b in at.button if b.label == "Resume this session"]


def test_a_killed_session_resumes_from_here_and_runs_on_the_chat_page(app):
    killed = killed_direct_session()
    at = app().run().switch_page("sessions.py").run()
    at.selectbox[0].set_value(killed).run()

    next(b for b in at.button if b.label == "Resume this session").click().run()

    live = get_session(killed)
    assert live is not None and live.running
    assert at.query_params["session"] == killed
    # AppTest's later runs stay on the page it was given; a browser follows st.switch_page.
    at.switch_page("chat.py").run()
    assert len(metric_values(at, "Selection accuracy")) == 1  # the history, from the transcript
    at.chat_input(key="chat-input").set_value("Switch to logistic regression.").run()
    rerun_until(at, lambda at: len(metric_values(at, "Selection accuracy")) == 2)
