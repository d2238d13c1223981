"""A session's bridge remembers the last trial, through the real loop: scripted replies that
only say "continue", "retrain with a 0.9 ratio" or "switch to ..." run whole trials; tool-call
trials are remembered too; resume and replay rebuild the same memory from the transcript."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from mltrainer.agent.messages import AssistantTurn, Message, ToolCall, ToolSpec, UserMessage
from mltrainer.agent.providers import ScriptedProvider
from mltrainer.agent.session.loop import SessionSummary
from mltrainer.agent.session.runs import replay_session, resume_session, start_session
from mltrainer.agent.session.transcript import messages_from_events, read_events
from mltrainer.agent.session.turn import REMINDER
from mltrainer.engine.settings import load_settings

GOAL = "Is the next day's direction of SPX predictable?"
FIRST = "Train a naive Bayes model on SPX using the last 1500 days with an 80% train ratio."
REPLIES = ["continue", "retrain with a 0.9 ratio", "switch to logistic regression"]


def text(words: str) -> AssistantTurn:
    return AssistantTurn(words)


def tool_call(name: str, arguments: dict[str, Any]) -> AssistantTurn:
    return AssistantTurn("", (ToolCall(f"c_{name}", name, json.dumps(arguments)),))


async def run(turns: Sequence[AssistantTurn], path: Path, **options: Any) -> SessionSummary:
    return await start_session(
        ScriptedProvider(turns), GOAL, settings=load_settings(), transcript_path=path, **options
    )


def trial_runs(path: Path) -> list[dict[str, Any]]:
    return [
        e["arguments"]
        for e in read_events(path)
        if e["event"] == "tool_run" and e["name"] == "train_model"
    ]


def user_texts(path: Path) -> list[str]:
    return [m.text for m in messages_from_events(read_events(path)) if isinstance(m, UserMessage)]


def shape(config: dict[str, Any]) -> tuple[Any, ...]:
    return (config["symbol"], config["model"], config["train_ratio"], config["days"])


async def test_replies_that_build_on_the_first_instruction_run_without_a_reminder(tmp_path: Path):
    path = tmp_path / "s.jsonl"

    summary = await run([text(FIRST), *map(text, REPLIES)], path)

    assert summary.reason == "script finished"
    assert [shape(c) for c in trial_runs(path)] == [
        ("SPX", "naive_bayes", 0.8, 1500),
        ("SPX", "naive_bayes", 0.8, 1500),
        ("SPX", "naive_bayes", 0.9, 1500),
        ("SPX", "logistic_regression", 0.9, 1500),
    ]
    assert [(t.model, t.symbol) for t in summary.trials][1:] == [
        ("naive_bayes", "SPX"),
        ("naive_bayes", "SPX"),
        ("logistic_regression", "SPX"),
    ]
    assert not any(REMINDER in message for message in user_texts(path))


async def test_replies_build_on_a_trial_the_llm_ran_with_a_tool_call(tmp_path: Path):
    path = tmp_path / "s.jsonl"
    first = {"symbol": "IXIC", "model": "naive_bayes", "days": 1200, "train_ratio": 0.75}

    await run([tool_call("train_model", first), text("switch to logistic regression")], path)

    runs = trial_runs(path)
    assert [shape(c) for c in runs] == [
        ("IXIC", "naive_bayes", 0.75, 1200),
        ("IXIC", "logistic_regression", 0.75, 1200),
    ]


async def test_each_reply_says_what_it_read_and_what_carried_over(tmp_path: Path):
    path = tmp_path / "s.jsonl"

    await run([text(FIRST), text("retrain with a 0.9 ratio")], path)

    feedback = user_texts(path)[-1]
    assert feedback.startswith(
        "(Read from your text: train_ratio=0.9; the rest as in the last trial.) Trial 2 ("
    )
    assert "Ran naive_bayes on SPX: source=auto, days=1500, train_ratio=0.9, " in feedback


async def test_a_reply_asking_for_something_impossible_runs_nothing_and_says_why(
    tmp_path: Path,
):
    path = tmp_path / "s.jsonl"

    summary = await run(
        [text(FIRST), text("now train a transformer"), text("retrain with train ratio 1.5")], path
    )

    assert summary.reason == "script finished"
    assert len(trial_runs(path)) == 1
    assert user_texts(path)[-2:] == [
        "Not done, nothing was run: model 'transformer': there is no transformer model "
        "(allowed: random_forest, extra_trees, decision_tree, gradient_boosting, lightgbm, "
        "logistic_regression, svm, knn, naive_bayes, mlp, lstm).",
        "Not done, nothing was run: 'train ratio 1.5': train_ratio 1.5 is out of range "
        "(allowed: 0.5 to 0.95 (a share: 0.8 or 80%)).",
    ]


async def test_a_reply_without_a_symbol_and_nothing_to_build_on_is_told_what_is_missing(
    tmp_path: Path,
):
    path = tmp_path / "s.jsonl"

    await run([text("switch to logistic regression")], path)

    assert user_texts(path)[-1] == (
        "Nothing was run: no symbol was named, and no earlier trial to build on. " + REMINDER
    )


async def test_the_message_hook_sees_every_message_in_order(tmp_path: Path):
    seen: list[Message] = []

    summary = await run([text(FIRST)], tmp_path / "s.jsonl", on_message=seen.append)

    assert summary.transcript is not None
    assert seen == list(messages_from_events(read_events(summary.transcript)))


# --- resume and replay rebuild the same memory --------------------------------------------------


class SimulatedKill(BaseException):
    """What a SIGKILL looks like from inside: nothing in the loop handles it."""


class KilledAtTurn(ScriptedProvider):
    def __init__(self, turns: Sequence[AssistantTurn], kill_at: int) -> None:
        super().__init__(turns)
        self.kill_at = kill_at

    async def complete(
        self, *, system: str, messages: Sequence[Message], tools: Sequence[ToolSpec]
    ) -> AssistantTurn:
        if self._next + 1 == self.kill_at:
            raise SimulatedKill
        return await super().complete(system=system, messages=messages, tools=tools)


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "script.yaml"
    first = {"symbol": "IXIC", "model": "naive_bayes", "days": 1200, "save_model": False}
    lines = [
        "- tool_calls:\n    - name: train_model\n      arguments: " + json.dumps(first),
        f"- {json.dumps(FIRST)}",
        '- "retrain with a 0.9 ratio"',
        '- "same on IXIC"',
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def test_resume_rebuilds_the_memory_from_the_recorded_trials(script: Path, tmp_path: Path):
    transcript = tmp_path / "s.jsonl"
    provider = KilledAtTurn(ScriptedProvider.from_file(script).turns, kill_at=3)
    with pytest.raises(SimulatedKill):
        await start_session(
            provider,
            GOAL,
            settings=load_settings(),
            transcript_path=transcript,
            provider_options={"script": str(script)},
        )

    summary = await resume_session(transcript, settings=load_settings())

    assert summary.reason == "script finished"
    assert [shape(c) for c in trial_runs(transcript)] == [
        ("IXIC", "naive_bayes", 0.8, 1200),
        ("SPX", "naive_bayes", 0.8, 1500),
        ("SPX", "naive_bayes", 0.9, 1500),
        ("IXIC", "naive_bayes", 0.9, 1500),
    ]


async def test_replay_of_a_conversation_reproduces_it_and_ends_as_the_script_did(
    script: Path, tmp_path: Path
):
    transcript = tmp_path / "s.jsonl"
    recorded = await start_session(
        ScriptedProvider.from_file(script),
        GOAL,
        settings=load_settings(),
        transcript_path=transcript,
    )

    report = await replay_session(transcript, settings=load_settings(), check=True)

    assert recorded.reason == report.summary.reason == "script finished"
    assert report.differences == []
    assert report.checked == 4
    assert report.summary.trials == recorded.trials
