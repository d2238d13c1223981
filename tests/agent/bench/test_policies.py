"""The reference policies drive whole sessions through the tools, as an LLM would."""

from __future__ import annotations

import asyncio
from pathlib import Path

from mltrainer.agent.bench.honesty import run_world
from mltrainer.agent.bench.policies import Planned, Policy, disciplined, p_hacker_tries
from mltrainer.agent.session.transcript import read_events
from mltrainer.engine.honesty import World
from mltrainer.engine.settings import load_settings


def finalize_calls(transcript: str) -> list[dict[str, object]]:
    return [
        e["arguments"]
        for e in read_events(Path(transcript))
        if e.get("event") == "tool_run" and e.get("name") == "finalize"
    ]


def test_the_disciplined_policy_finalizes_its_best_try_once(tmp_path: Path) -> None:
    world = World(number=0, seed=1, strength=0.0)

    outcome = asyncio.run(
        run_world(
            world,
            disciplined(world.symbol).provider(),
            settings=load_settings(),
            home=tmp_path / "w",
            n_bars=800,
        )
    )

    assert (outcome.reason, outcome.tries, outcome.looks) == ("finished", 3, 1)
    assert [call.get("again", False) for call in finalize_calls(outcome.transcript)] == [False]


def test_the_p_hacker_looks_again_at_the_next_best_tries(tmp_path: Path) -> None:
    world = World(number=0, seed=2, strength=0.0)
    hacker = Policy(
        "p-hacker",
        world.symbol,
        (*p_hacker_tries(("logistic_regression",), (5, 20), (None,)), Planned("naive_bayes")),
        relooks=2,
    )

    outcome = asyncio.run(
        run_world(
            world, hacker.provider(), settings=load_settings(), home=tmp_path / "w", n_bars=800
        )
    )

    calls = finalize_calls(outcome.transcript)
    assert (outcome.reason, outcome.tries, outcome.looks) == ("finished", 3, 3)
    assert [call.get("again", False) for call in calls] == [False, True, True]
    assert len({call["trial"] for call in calls}) == 3
