"""The entry point `mltrainer ui` hands to Streamlit: three pages over the same sessions, tools
and ledger as the CLI, behind the token check (`login.py`) that runs before any of them."""

from __future__ import annotations

import streamlit as st

from mltrainer.agent.ui.login import require_access

# Streamlit runs this file as `__main__`, so a worker process the process executor spawns
# from the UI runs it again as `__mp_main__` to rebuild its parent's main module: there it must
# define nothing and ask for no token.
if __name__ != "__mp_main__":
    st.set_page_config(page_title="mltrainer", page_icon=":material/science:", layout="wide")
    require_access()
    st.navigation(
        [
            st.Page("chat.py", title="Chat", icon=":material/chat:", default=True),
            st.Page("trials.py", title="Trials", icon=":material/table_chart:"),
            st.Page("sessions.py", title="Sessions", icon=":material/history:"),
        ]
    ).run()
