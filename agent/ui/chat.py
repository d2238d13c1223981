"""Chat: state a goal or an instruction; the session runs in the background and this page
follows it. The URL carries the session id, so a reload or a second tab reattaches to it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from mltrainer.agent.providers.base import Provider
from mltrainer.agent.providers.registry import (
    ProviderEntry,
    provider_entries,
    provider_entry,
    speaks_for_a_person,
)
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
from mltrainer.agent.ui.widgets import render_events, settings
from mltrainer.engine.errors import MLTrainerError
from mltrainer.engine.paths import inside, safe_name
from mltrainer.engine.settings import Settings

# What the sidebar can ask a person for; a provider needing anything else (a recorded
# transcript) is not offered here.
_ASKABLE = (None, "base_url", "script", "person")


def offered_providers() -> dict[str, ProviderEntry]:
    """The registered providers this page can start, built-ins and plugins', by name."""
    return {e.name: e for e in provider_entries() if e.needs in _ASKABLE}


def default_provider(offered: dict[str, ProviderEntry]) -> str:
    """The first provider whose key is set; else the first that needs no key (direct)."""
    entries = list(offered.values())
    keyed = (e.name for e in entries if e.key_env is not None and e.key() is not None)
    keyless = (e.name for e in entries if e.key_env is None)
    return next(keyed, next(keyless, entries[0].name))


def sidebar_choices(config: Settings, live: LiveSession | None) -> dict[str, Any]:
    """Provider and budgets for the next session (a running one keeps what it started with)."""
    locked = live is not None and live.running
    st.sidebar.header("New session")
    offered = offered_providers()
    names = list(offered)
    kind = st.sidebar.selectbox(
        "Provider",
        names,
        index=names.index(default_provider(offered)),
        format_func=lambda name: offered[name].label,
        disabled=locked,
        key="provider",
    )
    entry = offered[kind]
    choice: dict[str, Any] = {"kind": kind}
    if entry.speaks_for_a_person:
        st.sidebar.caption(
            "Your own words go through the bridge, as an LLM's would: offline, no key. "
            "Each instruction builds on the last trial ('switch to logistic regression')."
        )
    if entry.chooses_model:
        choice["model"] = st.sidebar.text_input("Model", entry.default_model or "", disabled=locked)
    if entry.needs == "base_url":
        choice["base_url"] = st.sidebar.text_input(
            "Base URL", entry.default_base_url or "", disabled=locked
        )
    if entry.needs == "script":
        choice["script"] = st.sidebar.text_input("Turns file (YAML or JSON)", disabled=locked)
    with st.sidebar.expander("Budgets", expanded=False):
        defaults = Budgets()
        minutes = 60.0 if entry.speaks_for_a_person else defaults.max_seconds / 60
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


def build_provider(choice: dict[str, Any]) -> tuple[Provider, dict[str, Any]]:
    """The provider of the chosen kind and what the transcript records of it."""
    entry = provider_entry(choice["kind"])
    if entry.needs == "script":
        named = str(choice.get("script") or "").strip()
        if not named:
            raise MLTrainerError(f"name the turns file for the {entry.name} provider")
        script = Path(named).expanduser()
        return entry.build(script=script), {"script": str(script.resolve())}
    base_url = choice.get("base_url")
    provider = entry.build(model=choice.get("model"), base_url=base_url)
    return provider, ({} if entry.speaks_for_a_person else {"base_url": base_url})


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
    """A session this server does not run: its transcript's events, and whether it is direct.
    Only a transcript inside the data home is opened (`?session=` comes from a URL)."""
    try:
        path = inside(config.transcripts_dir, f"{safe_name(session_id, 'session id')}.jsonl")
        records = read_events(path)
    except MLTrainerError as error:
        st.error(str(error))
        return [], False
    direct = any(
        r.get("event") == "session_start" and speaks_for_a_person(str(r.get("provider")))
        for r in records
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
