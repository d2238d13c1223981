"""Chat: state a goal or an instruction; the session runs in the background and this page
follows it. The URL carries the session id, so a reload or a second tab reattaches to it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from mltrainer.agent.providers import make_provider
from mltrainer.agent.providers.base import Provider
from mltrainer.agent.session.live import (
    LiveEvent,
    LiveSession,
    events_from_transcript,
    get_session,
    running_sessions,
    start_live,
)
from mltrainer.agent.session.state import Budgets
from mltrainer.agent.session.transcript import read_events
from mltrainer.agent.settings import AgentSettings, load_agent_settings
from mltrainer.agent.ui.widgets import render_events, settings
from mltrainer.engine.errors import MLTrainerError
from mltrainer.engine.settings import Settings

PROVIDERS = {
    "direct": "Direct (no LLM)",
    "openai": "OpenAI",
    "anthropic": "Anthropic",
    "compatible": "OpenAI-compatible server",
    "scripted": "Scripted: a turns file",
}
MODELS = {"openai": "gpt-4.1-mini", "anthropic": "claude-haiku-4-5", "compatible": "qwen2.5"}


def default_provider(keys: AgentSettings) -> str:
    """Direct unless an LLM key is set: then the provider that key is for."""
    if keys.openai_api_key is not None:
        return "openai"
    if keys.anthropic_api_key is not None:
        return "anthropic"
    return "direct"


def sidebar_choices(config: Settings, live: LiveSession | None) -> dict[str, Any]:
    """Provider and budgets for the next session (a running one keeps what it started with)."""
    locked = live is not None and live.running
    st.sidebar.header("New session")
    names = list(PROVIDERS)
    kind = st.sidebar.selectbox(
        "Provider",
        names,
        index=names.index(default_provider(load_agent_settings())),
        format_func=PROVIDERS.__getitem__,
        disabled=locked,
        key="provider",
    )
    choice: dict[str, Any] = {"kind": kind}
    if kind == "direct":
        st.sidebar.caption(
            "Your own words go through the bridge, as an LLM's would: offline, no key. "
            "Each instruction builds on the last trial ('switch to logistic regression')."
        )
    if kind in MODELS:
        choice["model"] = st.sidebar.text_input("Model", MODELS[kind], disabled=locked)
    if kind == "compatible":
        choice["base_url"] = st.sidebar.text_input(
            "Base URL", "http://127.0.0.1:11434/v1", disabled=locked
        )
    if kind == "scripted":
        choice["script"] = st.sidebar.text_input("Turns file (YAML or JSON)", disabled=locked)
    with st.sidebar.expander("Budgets", expanded=False):
        defaults = Budgets()
        minutes = 60.0 if kind == "direct" else defaults.max_seconds / 60
        cost = st.number_input("Max cost (USD, 0 = none)", 0.0, 100.0, 0.0, 0.05, disabled=locked)
        choice["budgets"] = Budgets(
            max_turns=int(
                st.number_input("Max turns", 1, 500, defaults.max_turns, disabled=locked)
            ),
            max_tool_calls=int(
                st.number_input("Max tool calls", 1, 2000, defaults.max_tool_calls, disabled=locked)
            ),
            max_tokens=int(
                st.number_input(
                    "Max tokens", 1000, 10_000_000, defaults.max_tokens, 1000, disabled=locked
                )
            ),
            max_cost_usd=cost or None,
            max_seconds=60.0
            * st.number_input("Max minutes", 1.0, 1440.0, minutes, 5.0, disabled=locked),
        )
    return choice


def build_provider(choice: dict[str, Any]) -> tuple[Provider | None, dict[str, Any]]:
    """The LLM for the chosen kind (None for direct) and what the transcript records of it."""
    kind = choice["kind"]
    if kind == "direct":
        return None, {}
    if kind == "scripted":
        script = Path(str(choice.get("script") or "")).expanduser()
        if not str(choice.get("script") or "").strip():
            raise MLTrainerError("name the turns file for the scripted provider")
        provider = make_provider("scripted", model="scripted", script=script)
        return provider, {"script": str(script.resolve())}
    base_url = choice.get("base_url") if kind == "compatible" else None
    name = "openai" if kind == "compatible" else kind
    return make_provider(name, model=choice["model"], base_url=base_url), {"base_url": base_url}


def attached(config: Settings) -> tuple[LiveSession | None, str | None]:
    """The session this page follows: the one in the URL, else the newest running here."""
    wanted = st.query_params.get("session")
    if wanted:
        return get_session(wanted), wanted
    running = running_sessions()
    if running:
        st.query_params["session"] = running[0].session_id
        return running[0], running[0].session_id
    return None, None


def start(goal: str, choice: dict[str, Any], config: Settings) -> None:
    try:
        provider, options = build_provider(choice)
    except MLTrainerError as error:
        st.error(f"Could not start: {error}")
        return
    live = start_live(
        goal,
        settings=config,
        provider=provider,
        budgets=choice["budgets"],
        provider_options=options,
    )
    st.query_params["session"] = live.session_id
    st.rerun()


def show_progress(live: LiveSession) -> None:
    if not live.running:
        return
    doing = "; ".join(live.doing())
    if live.control.stop_reason:
        st.caption(":material/hourglass_top: stopping after the current step ...")
    elif doing:
        st.caption(f":material/progress_activity: {doing} ...")
    elif live.direct:
        st.caption("Waiting for your next instruction.")
    else:
        st.caption(":material/progress_activity: waiting for the model ...")


def follow(live: LiveSession, config: Settings) -> None:
    """The conversation so far, refreshed every second while the session runs."""
    was_running = live.running

    def conversation() -> None:
        render_events(live.events(), direct=live.direct, config=config)
        show_progress(live)
        if was_running and not live.running:
            st.rerun()

    st.fragment(conversation, run_every=1.0 if was_running else None)()


def recorded(session_id: str, config: Settings) -> tuple[list[LiveEvent], bool]:
    """A session this server does not run: its transcript's events, and whether it is direct."""
    path = config.transcripts_dir / f"{session_id}.jsonl"
    try:
        records = read_events(path)
    except MLTrainerError:
        return [], False
    direct = any(
        r.get("event") == "session_start" and r.get("provider") == "direct" for r in records
    )
    return events_from_transcript(records), direct


def page() -> None:
    config = settings()
    live, session_id = attached(config)
    choice = sidebar_choices(config, live)
    st.title("Chat")
    if live is not None:
        state = "running" if live.running else "ended"
        st.sidebar.divider()
        st.sidebar.markdown(f"**Session** `{live.session_id}` ({live.provider_name}, {state})")
        st.sidebar.caption(f"Transcript: {live.transcript}")
        if live.running and st.sidebar.button(
            "Stop", type="primary", icon=":material/stop_circle:", key="stop-session",
            disabled=bool(live.control.stop_reason),
        ):  # fmt: skip
            live.stop()
            st.rerun()
    ended = session_id is not None and (live is None or not live.running)
    if ended and st.sidebar.button("New session", icon=":material/add:", key="new-session"):
        del st.query_params["session"]
        st.rerun()
    if live is None and session_id is None:
        st.caption(
            "State a research goal for the LLM, or in direct mode an instruction such as "
            "'Train a random forest on SPX with an 80/20 split'. Every number shown is out of "
            "sample (the selection segment), next to the baselines it has to beat."
        )
    elif live is None and session_id is not None:
        st.caption(
            f"Session {session_id} is not running in this server; as recorded (resume a killed "
            "session from the Sessions page):"
        )
        events, direct = recorded(session_id, config)
        render_events(events, direct=direct, config=config)
    else:
        assert live is not None
        follow(live, config)
    running = live is not None and live.running
    hint = "Add a message to the session" if running else "A research goal or an instruction"
    said = st.chat_input(hint, key="chat-input")
    if said:
        if running:
            assert live is not None
            live.send(said)
            st.rerun()
        else:
            start(said, choice, config)


page()
