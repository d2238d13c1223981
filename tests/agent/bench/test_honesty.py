"""The benchmark's runner: any provider, one session per world, each in its own data home."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from mltrainer.agent.bench.honesty import BenchError, run_bench
from mltrainer.agent.messages import AssistantTurn, Message, ToolCall
from mltrainer.agent.providers.function import FunctionInfo, FunctionProvider
from mltrainer.engine.honesty import make_worlds
from mltrainer.engine.settings import load_settings


def concludes_without_looking(messages: tuple[Message, ...], info: FunctionInfo) -> AssistantTurn:
    return AssistantTurn("", (ToolCall("c1", "finish", '{"conclusion": "no look taken"}'),))


def test_a_function_provider_is_scored_on_every_world_in_its_own_home(tmp_path: Path) -> None:
    worlds = make_worlds(1, 2, (0.3,), seed=5)
    seen = []

    report = asyncio.run(
        run_bench(
            lambda world: FunctionProvider(concludes_without_looking),
            worlds,
            settings=load_settings(),
            folder=tmp_path,
            n_bars=600,
            on_world=seen.append,
        )
    )

    assert [o.world for o in report.outcomes] == [0, 1, 2] == [o.world for o in seen]
    assert [(o.tries, o.looks, o.claim_p, o.significant) for o in report.outcomes] == [
        (0, 0, None, False)
    ] * 3
    assert sorted(p.name for p in (tmp_path / "worlds").iterdir()) == ["W000", "W001", "W002"]
    assert all(Path(o.transcript).parent.parent.parent == tmp_path / "worlds" for o in seen)
    assert [(g.kind, g.worlds, g.significant) for g in report.groups] == [
        ("noise", 1, 0),
        ("signal", 2, 0),
    ]


def test_a_world_whose_home_exists_is_refused(tmp_path: Path) -> None:
    (tmp_path / "worlds" / "W000").mkdir(parents=True)

    with pytest.raises(BenchError, match="W000 exists already; give the benchmark an empty"):
        asyncio.run(
            run_bench(
                lambda world: FunctionProvider(concludes_without_looking),
                make_worlds(1, 0, ()),
                settings=load_settings(),
                folder=tmp_path,
                n_bars=600,
            )
        )
