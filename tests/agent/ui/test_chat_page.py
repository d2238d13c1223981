"""The Chat page through AppTest: a direct-mode instruction trains on SPX and shows its card; a
message added mid-session is the next turn; Stop ends a scripted session with its summary;
a reload or a second tab reattaches to the running session and nothing runs twice; a
provider a plugin registers is in the provider list and runs a session when chosen."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from streamlit.testing.v1 import AppTest

from mltrainer.agent import AssistantTurn, Provider, ToolCall, register_provider
from mltrainer.agent.providers.registry import PROVIDERS
from mltrainer.agent.session.live import get_session, running_sessions
from mltrainer.engine.ledger import Ledger
from mltrainer.engine.settings import load_settings
from tests.agent.ui.apptest import metric_values, rerun_until

INSTRUCTION = "Train a naive bayes model on SPX using the last 1500 days."


def has_card(count: int = 1) -> Callable[[AppTest], bool]:
    return lambda at: len(metric_values(at, "Selection accuracy")) >= count


def test_direct_is_the_provider_when_no_llm_key_is_set(app):
    at = app().run()

    assert at.sidebar.selectbox(key="provider").value == "direct"
    assert not at.exception


def test_a_direct_mode_instruction_trains_on_spx_and_shows_its_card(app):
    at = app().run()
    at.chat_input(key="chat-input").set_value(INSTRUCTION).run()
    rerun_until(at, has_card())

    trial = Ledger(load_settings().db_path).result(1)
    assert trial is not None
    assert (trial["symbol"], trial["model"]) == ("SPX", "naive_bayes")
    assert metric_values(at, "Selection accuracy") == [f"{trial['selection_accuracy']:.1%}"]
    best = trial["baselines"]["best_accuracy"]
    assert metric_values(at, "Best baseline (accuracy)") == [f"{best:.1%}"]
    assert metric_values(at, "accuracy test p-value") == [f"{trial['baselines']['p_value']:.3f}"]
    verdict = trial["return_test"]
    assert metric_values(at, "Excess Sharpe after costs") == [f"{verdict['excess_sharpe']:.2f}"]
    assert metric_values(at, "Return p-value") == [f"{verdict['p_value']:.3f}"]
    assert [m.value for m in at.chat_message[0].markdown] == [INSTRUCTION]
    assert "**Trial 1** · naive_bayes on SPX · REAL data" in [m.value for m in at.markdown]
    assert len(at.image) >= 1  # the card's equity curve


def test_a_message_added_while_the_session_runs_is_its_next_turn(app):
    at = app().run()
    at.chat_input(key="chat-input").set_value(INSTRUCTION).run()
    rerun_until(at, has_card())

    at.chat_input(key="chat-input").set_value("Switch to logistic regression.").run()
    rerun_until(at, has_card(2))

    ledger = Ledger(load_settings().db_path)
    assert [ledger.result(t)["model"] for t in (1, 2)] == ["naive_bayes", "logistic_regression"]  # type: ignore[index]
    assert len(running_sessions()) == 1


def test_stop_ends_a_scripted_session_with_its_summary(app, tmp_path: Path):
    turn = {
        "text": "Another try.",
        "tool_calls": [
            {
                "name": "train_model",
                "arguments": {"symbol": "SPX", "model": "naive_bayes", "days": 1500},
            }
        ],
    }
    script = tmp_path / "twenty.yaml"
    script.write_text(yaml.safe_dump([turn] * 20), encoding="utf-8")
    at = app().run()
    at.sidebar.selectbox(key="provider").set_value("scripted").run()
    at.sidebar.text_input[-1].set_value(str(script)).run()
    at.chat_input(key="chat-input").set_value("Train the same model twenty times.").run()
    rerun_until(at, has_card())

    at.sidebar.button(key="stop-session").click().run()
    at = rerun_until(at, lambda at: any(i.value.startswith("Session ended:") for i in at.info))

    ended = [i.value for i in at.info if i.value.startswith("Session ended:")]
    assert len(ended) == 1
    assert ended[0].startswith("Session ended: stopped by the user after ")
    trials = int(ended[0].split(" tool calls, ")[1].split(" trials")[0])
    assert 1 <= trials < 20
    assert len(metric_values(at, "Selection accuracy")) == trials
    live = get_session(at.query_params["session"])
    assert live is not None and not live.running
    assert at.sidebar.button(key="new-session")  # offered once the session has ended


def test_a_reload_and_a_second_tab_reattach_to_the_running_session(app):
    first = app().run()
    first.chat_input(key="chat-input").set_value(INSTRUCTION).run()
    rerun_until(first, has_card())
    session = first.query_params["session"]

    second_tab = app().run()  # no session in its URL: the one running here
    reload = app()
    reload.query_params["session"] = session
    reload.run()

    for tab in (second_tab, reload):
        assert tab.query_params["session"] == session
        assert len(metric_values(tab, "Selection accuracy")) == 1
    assert [s.session_id for s in running_sessions()] == [session]
    assert Ledger(load_settings().db_path).count() == 1  # nothing ran twice


def test_an_llm_provider_without_its_key_is_refused_with_the_reason(app):
    at = app().run()
    at.sidebar.selectbox(key="provider").set_value("anthropic").run()
    at.chat_input(key="chat-input").set_value("Is SPX predictable?").run()

    assert any("Could not start:" in e.value and "ANTHROPIC_API_KEY" in e.value for e in at.error)
    assert running_sessions() == []


def test_words_with_nothing_to_run_get_a_hint_and_the_session_goes_on(app):
    at = app().run()
    at.chat_input(key="chat-input").set_value("hello there").run()
    rerun_until(at, lambda at: any("Nothing to run in that" in m.value for m in at.markdown))

    at.chat_input(key="chat-input").set_value("still there?").run()
    rerun_until(at, lambda at: sum("Nothing to run in that" in m.value for m in at.markdown) == 2)

    (live,) = running_sessions()
    assert live.running  # a person is never cut off for chatting, unlike an LLM
    at.chat_input(key="chat-input").set_value(INSTRUCTION).run()
    rerun_until(at, has_card())


class Rulebook(Provider):
    """A plugin's provider: it finishes at once, saying which model it is."""

    name = "rulebook"
    offline = True

    def __init__(self, model: str, base_url: str | None = None) -> None:
        self.model = model

    async def complete(self, *, system, messages, tools, timeout=None) -> AssistantTurn:  # type: ignore[no-untyped-def]
        conclusion = json.dumps({"conclusion": f"{self.model} has nothing to add"})
        return AssistantTurn("", (ToolCall("rule_1", "finish", conclusion),), model=self.model)


@pytest.fixture
def rulebook() -> Iterator[None]:
    saved = dict(PROVIDERS)
    register_provider("rulebook", Rulebook, label="Rulebook (a plugin)", default_model="rb-1")
    yield
    PROVIDERS.clear()
    PROVIDERS.update(saved)


def test_a_registered_provider_is_listed_and_can_be_chosen(app, rulebook: None):
    at = app().run()
    provider = at.sidebar.selectbox(key="provider")

    assert provider.options[-1] == "Rulebook (a plugin)"
    provider.set_value("rulebook").run()
    assert [box.value for box in at.sidebar.text_input] == ["rb-1"]  # its model, offered
    at.sidebar.text_input[0].set_value("rb-2").run()
    at.chat_input(key="chat-input").set_value("Is SPX predictable?").run()
    at = rerun_until(at, lambda at: any(i.value.startswith("Session ended:") for i in at.info))

    live = get_session(at.query_params["session"])
    assert live is not None
    assert live.provider_name == "rulebook"
    assert live.summary is not None
    assert live.summary.conclusion == "rb-2 has nothing to add"


def test_compare_the_trials_in_direct_mode_shows_a_table(app):
    at = app().run()
    at.chat_input(key="chat-input").set_value(INSTRUCTION).run()
    rerun_until(at, has_card())
    at.chat_input(key="chat-input").set_value("Switch to logistic regression.").run()
    rerun_until(at, has_card(2))

    at.chat_input(key="chat-input").set_value("compare the trials").run()
    at = rerun_until(at, lambda at: len(at.dataframe) >= 1)

    table = at.dataframe[0].value
    assert sorted(table["trial"].tolist()) == [1, 2]
    assert set(table["model"]) == {"naive_bayes", "logistic_regression"}
    assert not any(m.value.lstrip("( ").startswith("{") for m in at.markdown)  # no JSON blob


def test_finalize_the_best_trial_in_direct_mode_scores_the_holdout(app):
    at = app().run()
    at.chat_input(key="chat-input").set_value(INSTRUCTION).run()
    rerun_until(at, has_card())

    at.chat_input(key="chat-input").set_value("finalize the best trial").run()
    at = rerun_until(at, lambda at: len(metric_values(at, "Holdout accuracy")) == 1)

    [look] = Ledger(load_settings().db_path).looks()
    assert look.trial == 1
    shown = metric_values(at, "Holdout accuracy")
    assert shown == [f"{look.result['holdout']['accuracy']:.1%}"]
