"""The door in front of every page, through AppTest on the real app: with a token set, a tab sees
only the token form until it enters the token; a wrong one shows nothing more; served beyond
loopback without a token, the app shows nothing at all."""

from __future__ import annotations

import pytest
from streamlit import config as streamlit_config
from streamlit.proto.TextInput_pb2 import TextInput as TextInputProto
from streamlit.testing.v1 import AppTest

from mltrainer.agent.ui import login

TOKEN = "k3R9-vX2q_Lm8PzT4wYb"


@pytest.fixture(autouse=True)
def no_pause_after_a_wrong_token(monkeypatch):
    monkeypatch.setattr(login, "WRONG_TOKEN_PAUSE_SECONDS", 0.0)


def shows_a_page(at: AppTest) -> bool:
    """Whether any page of the app ran: each has a title and the navigation."""
    return any(t.value in ("Chat", "Trials", "Sessions") for t in at.title)


def enter(at: AppTest, token: str) -> AppTest:
    at.text_input[0].input(token)
    return at.button[0].click().run()


def test_with_a_token_set_a_new_tab_sees_only_the_token_form(app, monkeypatch):
    monkeypatch.setenv("MLTRAINER_UI_TOKEN", TOKEN)

    at = app().run()

    assert [t.value for t in at.title] == ["mltrainer"]
    assert [(i.label, TextInputProto.Type.Name(i.proto.type)) for i in at.text_input] == [
        ("Access token", "PASSWORD")
    ]
    assert not shows_a_page(at)
    assert len(at.chat_input) == 0 and len(at.sidebar.selectbox) == 0
    assert not at.exception


def test_a_wrong_token_is_refused_and_shows_nothing_more(app, monkeypatch):
    monkeypatch.setenv("MLTRAINER_UI_TOKEN", TOKEN)

    at = enter(app().run(), "not-the-token-at-all")

    assert [e.value for e in at.error] == ["That is not this server's token."]
    assert not shows_a_page(at)
    assert len(at.chat_input) == 0


def test_the_right_token_opens_the_chat_and_keeps_it_open(app, monkeypatch):
    monkeypatch.setenv("MLTRAINER_UI_TOKEN", TOKEN)

    at = enter(app().run(), TOKEN)
    at.run()

    assert [t.value for t in at.title] == ["Chat"]
    assert len(at.chat_input) == 1
    assert len(at.text_input) == 0  # the form is gone, and the token with it
    assert not at.exception


def test_another_tab_must_enter_the_token_too(app, monkeypatch):
    monkeypatch.setenv("MLTRAINER_UI_TOKEN", TOKEN)
    enter(app().run(), TOKEN)

    other = app().run()

    assert not shows_a_page(other)
    assert [i.label for i in other.text_input] == ["Access token"]


def test_every_page_is_behind_the_form(app, monkeypatch):
    monkeypatch.setenv("MLTRAINER_UI_TOKEN", TOKEN)
    at = app()
    at.switch_page("trials.py").run()

    assert not shows_a_page(at)
    assert [i.label for i in at.text_input] == ["Access token"]


def test_a_changed_token_sends_an_open_tab_back_to_the_form(app, monkeypatch, tmp_path):
    held = tmp_path / "ui-token"
    held.write_text(TOKEN, encoding="utf-8")
    monkeypatch.setenv("MLTRAINER_UI_TOKEN_FILE", str(held))
    at = enter(app().run(), TOKEN)
    assert shows_a_page(at)

    held.write_text(TOKEN + "-rotated", encoding="utf-8")
    at.run()

    assert not shows_a_page(at)
    assert [i.label for i in at.text_input] == ["Access token"]


def test_served_beyond_loopback_without_a_token_the_app_shows_nothing(app):
    streamlit_config.set_option("server.address", "0.0.0.0")

    at = app().run()

    assert [e.value for e in at.error] == [
        "This UI is served beyond this machine (0.0.0.0) with no token set, so it shows "
        "nothing. The operator sets MLTRAINER_UI_TOKEN (or MLTRAINER_UI_TOKEN_FILE) and starts "
        "it again, or serves it on 127.0.0.1."
    ]
    assert not shows_a_page(at)
    assert len(at.text_input) == 0


def test_streamlits_default_bind_is_every_interface_and_needs_a_token(app):
    streamlit_config.set_option("server.address", None)

    at = app().run()

    assert "(every interface) with no token set" in at.error[0].value
    assert not shows_a_page(at)


def test_an_unreadable_token_file_shows_why_and_nothing_else(app, monkeypatch, tmp_path):
    missing = tmp_path / "ui-token"
    monkeypatch.setenv("MLTRAINER_UI_TOKEN_FILE", str(missing))

    at = app().run()

    assert [e.value for e in at.error] == [
        f"The UI is not available: cannot read the UI token file {missing} "
        "(MLTRAINER_UI_TOKEN_FILE): No such file or directory."
    ]
    assert not shows_a_page(at)
