"""Sessions: every transcript with its goal, status, trials and conclusion. Opening one shows
the conversation; a killed session can be resumed from here, and then runs in this server."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from mltrainer.agent.providers.registry import speaks_for_a_person
from mltrainer.agent.session.index import SessionInfo, list_sessions
from mltrainer.agent.session.live import events_from_transcript, resume_live
from mltrainer.agent.session.transcript import read_events
from mltrainer.agent.ui.markdown import without_images
from mltrainer.agent.ui.widgets import render_events, settings
from mltrainer.engine.errors import MLTrainerError


def table(infos: list[SessionInfo]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "session": [i.session_id for i in infos],
            "started": [i.started for i in infos],
            "goal": [i.goal for i in infos],
            "provider": [f"{i.provider} ({i.model})" for i in infos],
            "status": [i.status for i in infos],
            "trials": [i.trials for i in infos],
            "conclusion": [i.conclusion or "" for i in infos],
        }
    )


def opened(info: SessionInfo) -> None:
    config = settings()
    st.subheader(f"Session {info.session_id}")
    st.markdown(f"**Goal:** {without_images(info.goal)}")
    st.caption(f"{info.status} · {info.trials} trials · transcript {info.path}")
    left, right = st.columns(2)
    if info.resumable and left.button(
        "Resume this session", type="primary", icon=":material/play_arrow:"
    ):
        try:
            live = resume_live(info.path, settings=config)
        except MLTrainerError as error:
            st.error(f"Could not resume: {error}")
        else:
            st.switch_page("chat.py", query_params={"session": live.session_id})
    if right.button("Write the HTML report", icon=":material/description:"):
        from mltrainer.agent.report.writer import session_report

        with st.spinner("drawing the report ..."):
            try:
                written = session_report(config, info.path)
            except MLTrainerError as error:
                st.error(str(error))
            else:
                st.success(f"Written: {written.html}")
    records = read_events(info.path)
    direct = speaks_for_a_person(info.provider)
    render_events(events_from_transcript(records), direct=direct, config=config)


def page() -> None:
    config = settings()
    st.title("Sessions")
    infos = list_sessions(config.transcripts_dir)
    if not infos:
        st.info("No sessions yet. Start one on the Chat page, or with `mltrainer run` or `demo`.")
        return
    picked = st.dataframe(
        table(infos),
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key="sessions-table",
        width="stretch",
        column_config={
            "goal": st.column_config.TextColumn("goal", width="large"),
            "conclusion": st.column_config.TextColumn("conclusion", width="large"),
        },
    )
    rows = list(picked.selection.rows)
    ids = [i.session_id for i in infos]
    chosen = ids[rows[0]] if rows else st.session_state.get("open-session")
    options = [None, *ids]
    choice = st.selectbox(
        "Open session",
        options,
        index=options.index(chosen) if chosen in options else 0,
        format_func=lambda s: "-" if s is None else s,
    )
    if choice is not None:
        st.session_state["open-session"] = choice
        opened(next(i for i in infos if i.session_id == choice))


page()
