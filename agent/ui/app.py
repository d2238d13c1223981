"""The entry point `mltrainer ui` hands to Streamlit: three pages over the same sessions, tools
and ledger as the CLI."""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="mltrainer", page_icon=":material/science:", layout="wide")
st.navigation(
    [
        st.Page("chat.py", title="Chat", icon=":material/chat:", default=True),
        st.Page("trials.py", title="Trials", icon=":material/table_chart:"),
        st.Page("sessions.py", title="Sessions", icon=":material/history:"),
    ]
).run()
