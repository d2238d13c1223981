"""The entry point `mltrainer ui` hands to Streamlit: three pages over the same sessions, tools
and ledger as the CLI, behind the token check (`login.py`) that runs before any of them."""

from __future__ import annotations

import streamlit as st

from mltrainer.agent.ui.login import require_access

st.set_page_config(page_title="mltrainer", page_icon=":material/science:", layout="wide")
require_access()
st.navigation(
    [
        st.Page("chat.py", title="Chat", icon=":material/chat:", default=True),
        st.Page("trials.py", title="Trials", icon=":material/table_chart:"),
        st.Page("sessions.py", title="Sessions", icon=":material/history:"),
    ]
).run()
