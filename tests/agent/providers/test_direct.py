"""The direct provider: a person's words, in order, as turns; leaving ends the session."""

from __future__ import annotations

import asyncio
import threading

import pytest

from mltrainer.agent.providers.base import ScriptFinished
from mltrainer.agent.providers.direct import DirectProvider


async def test_turns_are_the_persons_words_in_order() -> None:
    provider = DirectProvider()
    provider.say("Train a random forest on SPX")
    provider.say("switch to logistic regression")

    first = await provider.complete(system="", messages=[], tools=[])
    second = await provider.complete(system="", messages=[], tools=[])

    assert (first.text, second.text) == (
        "Train a random forest on SPX",
        "switch to logistic regression",
    )
    assert first.tool_calls == ()


async def test_waits_for_words_typed_on_another_thread() -> None:
    provider = DirectProvider()
    threading.Timer(0.05, provider.say, args=("continue",)).start()

    turn = await asyncio.wait_for(provider.complete(system="", messages=[], tools=[]), 5)

    assert turn.text == "continue"


async def test_leaving_wakes_a_waiting_turn_and_ends_later_ones() -> None:
    provider = DirectProvider()
    threading.Timer(0.05, provider.leave, args=("stopped by the user",)).start()

    with pytest.raises(ScriptFinished, match="stopped by the user"):
        await asyncio.wait_for(provider.complete(system="", messages=[], tools=[]), 5)
    with pytest.raises(ScriptFinished, match="stopped by the user"):
        await provider.complete(system="", messages=[], tools=[])


def test_the_cli_cannot_play_a_person_and_says_where_direct_sessions_run() -> None:
    from mltrainer.agent.providers import ProviderConfigError, make_provider

    with pytest.raises(ProviderConfigError, match="chat of `mltrainer ui`"):
        make_provider("direct", model="person")
