"""The door in front of every page. `app.py` calls `require_access()` before it builds the
navigation, so no page's script runs (no session, no trial, no provider and so no key) for a
visitor who has not entered the operator's token. The rule itself is in `access.py`."""

from __future__ import annotations

import time

import streamlit as st
from pydantic import SecretStr

from mltrainer.agent.ui.access import (
    TOKEN_ENV,
    TOKEN_FILE_ENV,
    UIAccessError,
    token_digest,
    token_matches,
    ui_token,
)
from mltrainer.engine.binding import is_loopback

ADMITTED = "ui-admitted"
# A wrong token holds its tab this long; the token's minimum length does the rest.
WRONG_TOKEN_PAUSE_SECONDS = 1.0


def require_access() -> None:
    """Return when this browser session may see the pages; otherwise show the token form (or
    why the UI cannot be used) and end this script run."""
    try:
        token = ui_token()
    except UIAccessError as error:
        st.error(f"The UI is not available: {error}.")
        st.stop()
    if token is None:
        address = st.get_option("server.address")
        if is_loopback(address):
            return
        st.error(
            f"This UI is served beyond this machine ({address or 'every interface'}) with no "
            f"token set, so it shows nothing. The operator sets {TOKEN_ENV} (or "
            f"{TOKEN_FILE_ENV}) and starts it again, or serves it on 127.0.0.1."
        )
        st.stop()
    if st.session_state.get(ADMITTED) == token_digest(token):
        return
    token_form(token)
    st.stop()


def token_form(token: SecretStr) -> None:
    """Ask for the token; a right one lets this browser session in and reruns the app."""
    st.title("mltrainer")
    with st.form("access", clear_on_submit=True, border=True):
        given = st.text_input(
            "Access token",
            type="password",
            help=f"The token this server's operator set in {TOKEN_ENV}.",
        )
        entered = st.form_submit_button("Enter", type="primary")
    if not entered:
        return
    if token_matches(given, token):
        st.session_state[ADMITTED] = token_digest(token)
        st.rerun()
    time.sleep(WRONG_TOKEN_PAUSE_SECONDS)
    st.error("That is not this server's token.")
