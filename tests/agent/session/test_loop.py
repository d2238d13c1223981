"""The agent loop, end to end through `start_session`: a scripted LLM, the real bridge, tools and
engine. Every session ends with a readable reason and an intact transcript."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from mltrainer.agent.messages import (
    AssistantTurn,
    Message,
    ToolCall,
    ToolResults,
    Usage,
    UserMessage,
)
from mltrainer.agent.providers import ProviderError, ScriptedProvider
from mltrainer.agent.session.loop import SessionSummary
from mltrainer.agent.session.runs import start_session
from mltrainer.agent.session.state import Budgets
from mltrainer.agent.session.transcript import messages_from_events, read_events
from mltrainer.agent.session.turn import REMINDER
from mltrainer.engine.ledger import Ledger
from mltrainer.engine.settings import load_settings

GOAL = "Is the next day's direction of SPX predictable?"
FAST_TRIAL = {"symbol": "SPX", "model": "naive_bayes", "days": 1500, "save_model": False}
FINISH_TEXT = "No model beats the majority-class baseline."


def calls(*specs: tuple[str, dict[str, Any] | str], usage: Usage | None = None) -> AssistantTurn:
    """One assistant turn with the given tool calls; call ids are unique across the module."""
    tool_calls = tuple(
        ToolCall(
            f"call_{next(_ids)}",
            name,
            arguments if isinstance(arguments, str) else json.dumps(arguments),
        )
        for name, arguments in specs
    )
    return AssistantTurn("", tool_calls, usage or Usage(), "tool_use", "scripted")


_ids = itertools.count(1)
FINISH = ("finish", {"conclusion": FINISH_TEXT})
LIST_SOURCES = ("list_sources", {})


async def run(
    turns: list[AssistantTurn], tmp_path: Path, budgets: Budgets | None = None
) -> SessionSummary:
    return await start_session(
        ScriptedProvider(turns),
        GOAL,
        settings=load_settings(),
        budgets=budgets,
        transcript_path=tmp_path / "session.jsonl",
    )


def events_of(summary: SessionSummary) -> list[dict[str, Any]]:
    assert summary.transcript is not None
    return read_events(summary.transcript)


def messages_of(summary: SessionSummary) -> list[Message]:
    return list(messages_from_events(events_of(summary)))


# --- ending on finish ---------------------------------------------------------------------------


async def test_session_ends_on_finish_with_a_summary(tmp_path: Path):
    summary = await run([calls(LIST_SOURCES), calls(FINISH)], tmp_path)

    assert summary.reason == "finished"
    assert summary.finished is True
    assert summary.conclusion == FINISH_TEXT
    assert summary.best_trial is None
    assert summary.turns == 2
    assert summary.tool_calls == 2
    assert summary.trials == []
    assert summary.transcript == tmp_path / "session.jsonl"


async def test_transcript_runs_from_session_start_to_session_end(tmp_path: Path):
    summary = await run([calls(LIST_SOURCES), calls(FINISH)], tmp_path)

    assert [e["event"] for e in events_of(summary)] == [
        "session_start",
        "user",
        "assistant",
        "tool_run",
        "tool_results",
        "assistant",
        "tool_run",
        "tool_results",
        "session_end",
    ]


async def test_session_start_records_provider_goal_tools_and_budgets(tmp_path: Path):
    summary = await run([calls(FINISH)], tmp_path, Budgets(max_turns=7))

    header = events_of(summary)[0]
    assert header["provider"] == "scripted"
    assert header["model"] == "scripted"
    assert header["goal"] == GOAL
    assert header["tools"] == [
        "list_sources",
        "list_symbols",
        "list_models",
        "fetch_data",
        "train_model",
        "sweep",
        "evaluate_trial",
        "compare_trials",
        "finalize",
        "finish",
    ]
    assert header["budgets"]["max_turns"] == 7
    assert header["system"]


async def test_goal_is_the_first_user_turn(tmp_path: Path):
    summary = await run([calls(FINISH)], tmp_path)

    assert messages_of(summary)[0] == UserMessage(GOAL)


async def test_session_end_records_reason_conclusion_and_counts(tmp_path: Path):
    summary = await run([calls(FINISH)], tmp_path)

    end = events_of(summary)[-1]
    assert end["event"] == "session_end"
    assert end["reason"] == "finished"
    assert end["conclusion"] == FINISH_TEXT
    assert end["turns"] == 1
    assert end["tool_calls"] == 1


async def test_finish_with_best_trial_is_reported(tmp_path: Path):
    summary = await run(
        [
            calls(("train_model", FAST_TRIAL)),
            calls(("finish", {"conclusion": FINISH_TEXT, "best_trial": 1})),
        ],
        tmp_path,
    )

    assert summary.best_trial == 1
    assert [(t.trial, t.model, t.symbol) for t in summary.trials] == [(1, "naive_bayes", "SPX")]
    assert summary.trials[0].data == "REAL DATA"


async def test_trials_are_recorded_under_the_session_id(tmp_path: Path):
    summary = await run([calls(("train_model", FAST_TRIAL)), calls(FINISH)], tmp_path)

    session_id = events_of(summary)[0]["session_id"]
    assert Ledger(load_settings().db_path).count(session=session_id) == 1


async def test_session_goes_on_after_a_malformed_tool_call(tmp_path: Path):
    summary = await run(
        [calls(("train_model", '{"symbol": "SPX", "train_ratio": ')), calls(FINISH)], tmp_path
    )

    assert summary.reason == "finished"
    results = [m for m in messages_of(summary) if isinstance(m, ToolResults)]
    assert results[0].results[0].is_error is True
    assert "arguments are not valid JSON" in results[0].results[0].content


async def test_a_tool_failing_past_its_retry_budget_ends_the_session(tmp_path: Path):
    bad = ("train_model", {"symbol": "SPX", "train_ratio": 1.5})
    summary = await run([calls(bad), calls(bad), calls(bad), calls(bad), calls(FINISH)], tmp_path)

    assert summary.reason == "tool 'train_model' failed 4 times in a row"
    assert summary.finished is False
    assert summary.turns == 4


# --- budgets ------------------------------------------------------------------------------------


async def test_turn_budget_ends_the_session(tmp_path: Path):
    summary = await run([calls(LIST_SOURCES) for _ in range(5)], tmp_path, Budgets(max_turns=2))

    assert summary.reason == "turn budget reached (2 turns)"
    assert summary.finished is False
    assert summary.turns == 2


async def test_tool_call_budget_ends_the_session(tmp_path: Path):
    summary = await run(
        [calls(LIST_SOURCES) for _ in range(5)], tmp_path, Budgets(max_tool_calls=3)
    )

    assert summary.reason == "tool-call budget reached (3 calls)"
    assert summary.tool_calls == 3
    assert summary.turns == 3


async def test_token_budget_ends_the_session(tmp_path: Path):
    turns = [calls(LIST_SOURCES, usage=Usage(400, 200)) for _ in range(5)]

    summary = await run(turns, tmp_path, Budgets(max_tokens=1000))

    assert summary.reason == "token budget reached (1200 >= 1000)"
    assert summary.turns == 2
    assert summary.usage == Usage(800, 400)


async def test_cost_budget_ends_the_session(tmp_path: Path):
    turns = [calls(LIST_SOURCES, usage=Usage(10, 10, 0.03)) for _ in range(5)]

    summary = await run(turns, tmp_path, Budgets(max_cost_usd=0.05))

    assert summary.reason == "cost budget reached ($0.0600 >= $0.05)"
    assert summary.turns == 2
    assert summary.usage.cost_usd == pytest.approx(0.06)


async def test_wall_time_budget_ends_the_session(tmp_path: Path):
    summary = await run([calls(FINISH)], tmp_path, Budgets(max_seconds=1e-9))

    assert summary.reason == "wall-time budget reached (0 s)"
    assert summary.turns == 0


async def test_budget_stop_still_writes_session_end(tmp_path: Path):
    summary = await run([calls(LIST_SOURCES) for _ in range(3)], tmp_path, Budgets(max_turns=1))

    end = events_of(summary)[-1]
    assert end["event"] == "session_end"
    assert end["reason"] == "turn budget reached (1 turns)"


# --- free text: the regex fallback --------------------------------------------------------------


async def test_free_text_instruction_runs_a_trial(tmp_path: Path):
    summary = await run(
        [AssistantTurn("Train a logistic regression on SPX with 80% train ratio"), calls(FINISH)],
        tmp_path,
    )

    assert summary.reason == "finished"
    assert [(t.model, t.symbol) for t in summary.trials] == [("logistic_regression", "SPX")]
    run_event = next(e for e in events_of(summary) if e["event"] == "tool_run")
    assert run_event["call_id"] == "text_1"
    assert run_event["name"] == "train_model"
    assert run_event["arguments"]["train_ratio"] == 0.8


async def test_free_text_feedback_is_the_next_user_message(tmp_path: Path):
    summary = await run(
        [AssistantTurn("Train a logistic regression on SPX with 80% train ratio"), calls(FINISH)],
        tmp_path,
    )

    messages = messages_of(summary)
    assert isinstance(messages[1], AssistantTurn)
    feedback = messages[2]
    assert isinstance(feedback, UserMessage)
    assert feedback.text.startswith(
        "(Read from your text: symbol=SPX, model=logistic_regression, train_ratio=0.8.) "
        "Trial 1 (SPX-logistic_regression-"
    )
    assert "Ran logistic_regression on SPX: source=auto, dates=all, train_ratio=0.8, " in (
        feedback.text
    )
    assert ". Selection accuracy " in feedback.text
    assert feedback.text.endswith("continue, retrain, or switch?")


async def test_text_without_instruction_gets_one_reminder(tmp_path: Path):
    summary = await run(
        [AssistantTurn("let me think about this for a moment."), calls(FINISH)], tmp_path
    )

    assert summary.reason == "finished"
    assert messages_of(summary)[2] == UserMessage(REMINDER)


async def test_second_text_without_instruction_ends_the_session(tmp_path: Path):
    summary = await run(
        [
            AssistantTurn("let me think about this for a moment."),
            AssistantTurn("markets are mostly efficient, i believe."),
            calls(FINISH),
        ],
        tmp_path,
    )

    assert summary.reason == (
        "the model replied without a tool call or a runnable instruction twice"
    )
    assert summary.turns == 2
    assert sum(m == UserMessage(REMINDER) for m in messages_of(summary)) == 1


# --- provider failure ---------------------------------------------------------------------------


class FailsWhenDone(ScriptedProvider):
    """Plays its turns, then fails the way a server does."""

    async def complete(self, **kwargs: Any) -> AssistantTurn:
        if self._next >= len(self.turns):
            raise ProviderError("HTTP 500: upstream overloaded", status=500)
        return await super().complete(**kwargs)


async def run_failing(turns: list[AssistantTurn], tmp_path: Path) -> SessionSummary:
    return await start_session(
        FailsWhenDone(turns), GOAL, settings=load_settings(), transcript_path=tmp_path / "s.jsonl"
    )


async def test_provider_error_ends_the_session_with_a_readable_reason(tmp_path: Path):
    summary = await run_failing([calls(LIST_SOURCES)], tmp_path)

    assert summary.reason == "provider error: HTTP 500: upstream overloaded"
    assert summary.finished is False
    assert summary.turns == 1


async def test_a_script_that_ends_without_finish_ends_as_script_finished(tmp_path: Path):
    summary = await run([calls(LIST_SOURCES)], tmp_path)

    assert summary.reason == "script finished"
    assert summary.finished is False
    assert summary.turns == 1


async def test_provider_error_leaves_an_intact_transcript(tmp_path: Path):
    summary = await run_failing([calls(LIST_SOURCES)], tmp_path)

    events = events_of(summary)
    assert [e["event"] for e in events] == [
        "session_start",
        "user",
        "assistant",
        "tool_run",
        "tool_results",
        "session_end",
    ]
    assert events[-1]["reason"] == "provider error: HTTP 500: upstream overloaded"


# --- parallel calls -----------------------------------------------------------------------------


async def test_parallel_results_are_one_message_in_call_order(tmp_path: Path):
    turn = calls(("train_model", FAST_TRIAL), LIST_SOURCES, ("list_symbols", {"source": "x"}))
    summary = await run([turn, calls(FINISH)], tmp_path)

    messages = messages_of(summary)
    assert isinstance(messages[2], ToolResults)
    assert [r.call_id for r in messages[2].results] == [c.id for c in turn.tool_calls]
    assert [r.name for r in messages[2].results] == ["train_model", "list_sources", "list_symbols"]
    assert [r.is_error for r in messages[2].results] == [False, False, True]
    assert isinstance(messages[3], AssistantTurn)


async def test_each_parallel_call_has_a_tool_run_event_written_as_it_finishes(tmp_path: Path):
    turn, finish = calls(("train_model", FAST_TRIAL), LIST_SOURCES), calls(FINISH)
    summary = await run([turn, finish], tmp_path)

    runs = [e for e in events_of(summary) if e["event"] == "tool_run"]
    # list_sources returns long before the trial does, and is on disk before it.
    assert [(e["call_id"], e["name"]) for e in runs] == [
        (turn.tool_calls[1].id, "list_sources"),
        (turn.tool_calls[0].id, "train_model"),
        (finish.tool_calls[0].id, "finish"),
    ]
    assert runs[1]["payload"]["status"] == "success"


# --- secrets ------------------------------------------------------------------------------------


async def test_configured_api_key_never_reaches_the_session_transcript(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("OPENAI_API_KEY", "openai-test-key-0123456789")
    leaky = calls(("finish", {"conclusion": "my key is openai-test-key-0123456789"}))

    summary = await run([leaky], tmp_path)

    assert summary.transcript is not None
    assert "openai-test-key-0123456789" not in summary.transcript.read_text(encoding="utf-8")
    assert events_of(summary)[-1]["conclusion"] == "my key is [REDACTED]"


# --- durability -----------------------------------------------------------------------------


async def test_transcript_is_fsynced_once_per_turn_and_on_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    import mltrainer.agent.session.transcript as transcript_module

    synced: list[int] = []
    real_fsync = transcript_module.os.fsync

    def counting_fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(transcript_module.os, "fsync", counting_fsync)
    summary = await run([calls(LIST_SOURCES), calls(LIST_SOURCES), calls(FINISH)], tmp_path)

    assert summary.turns == 3
    assert len(synced) == 3 + 1


async def test_a_free_text_conclusion_finishes_without_training(tmp_path: Path):
    text = "In conclusion, the random forest on SPX did not beat the majority baseline."

    summary = await run([AssistantTurn(text)], tmp_path)

    assert (summary.reason, summary.conclusion) == ("finished", text)
    assert Ledger(load_settings().db_path).count() == 0


async def test_a_free_text_request_to_compare_runs_compare_trials(tmp_path: Path):
    trial = ("train_model", FAST_TRIAL)
    turns = [
        calls(trial),
        calls(trial),
        AssistantTurn("Let's compare the trials so far."),
        calls(FINISH),
    ]

    summary = await run(turns, tmp_path)

    runs = [e for e in events_of(summary) if e["event"] == "tool_run"]
    assert [r["name"] for r in runs] == ["train_model", "train_model", "compare_trials", "finish"]
    assert runs[2]["payload"]["type"] == "comparison"


async def test_a_free_text_request_naming_trials_compares_those(tmp_path: Path):
    trial = ("train_model", FAST_TRIAL)
    turns = [calls(trial), calls(trial), calls(trial), AssistantTurn("compare trials 1 and 3")]

    summary = await run(turns, tmp_path)

    runs = [e for e in events_of(summary) if e["event"] == "tool_run"]
    assert runs[-1]["arguments"]["trials"] == [1, 3]
    assert sorted(t["trial"] for t in runs[-1]["payload"]["trials"]) == [1, 3]


async def test_a_comparison_read_from_text_leads_with_the_best_trials_verdict(tmp_path: Path):
    trial = ("train_model", FAST_TRIAL)
    turns = [calls(trial), calls(trial), AssistantTurn("compare the trials")]

    summary = await run(turns, tmp_path)

    feedback = [m.text for m in messages_of(summary) if isinstance(m, UserMessage)][-1]
    assert feedback.startswith(
        "(Read from your text: compare_trials {}.) Best of 2 by return test: trial "
    )


@pytest.mark.parametrize(
    ("text", "arguments"),
    [
        ("finalize the best trial", {}),
        ("Finalize trial 2", {"trial": 2}),
        ("Score the best trial by Sharpe on the locked holdout", {"rank_by": "sharpe"}),
    ],
)
async def test_a_free_text_request_to_finalize_runs_finalize(
    tmp_path: Path, text: str, arguments: dict[str, Any]
):
    trial = ("train_model", FAST_TRIAL)
    turns = [calls(trial), calls(trial), AssistantTurn(text)]

    summary = await run(turns, tmp_path)

    runs = [e for e in events_of(summary) if e["event"] == "tool_run"]
    assert (runs[-1]["name"], runs[-1]["arguments"]["trial"]) == (
        "finalize",
        arguments.get("trial"),
    )
    assert runs[-1]["payload"]["type"] == "finalized"
    assert len(summary.finalized) == 1


async def test_a_finalize_put_off_runs_nothing_of_the_kind(tmp_path: Path):
    turns = [
        calls(("train_model", FAST_TRIAL)),
        AssistantTurn("Before we finalize, try logistic regression on SPX with 1500 days."),
    ]

    summary = await run(turns, tmp_path)

    runs = [e for e in events_of(summary) if e["event"] == "tool_run"]
    assert [r["name"] for r in runs] == ["train_model", "train_model"]
    assert summary.finalized == []


async def test_a_cost_budget_with_an_unpriced_model_stops_instead_of_running_blind(tmp_path: Path):
    unpriced = AssistantTurn(
        "", calls(LIST_SOURCES).tool_calls, Usage(100, 20, None), "tool_use", "local-model"
    )

    summary = await run([unpriced, calls(FINISH)], tmp_path, Budgets(max_cost_usd=1.0))

    assert summary.reason == (
        "a cost budget was set but no price is known for model 'local-model', so it cannot be "
        "enforced; use --max-tokens instead"
    )
