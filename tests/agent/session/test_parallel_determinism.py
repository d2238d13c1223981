"""The same seed and script give the same finalized trial and the same numbers, even when the
trials of a turn run in parallel and finish in whatever order the machine makes. Trial numbers
follow the finishing order; what is chosen, and what it scores, must not."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from mltrainer.agent.messages import AssistantTurn, ToolCall
from mltrainer.agent.providers import ScriptedProvider
from mltrainer.agent.session.runs import start_session
from mltrainer.engine.data.synthetic import synthetic_bars
from mltrainer.engine.settings import load_settings

BASE = {"symbol": "PAR", "folds": 2, "save_model": False}
# Six configurations in one turn. Logistic regression ignores its seed, so seeds 1 and 2 make
# the same calls and tie exactly on every score: which of them is "best" must not depend on
# which finished first.
CONFIGURATIONS = (
    {"model": "logistic_regression", "seed": 1},
    {"model": "logistic_regression", "seed": 2},
    {"model": "naive_bayes"},
    {"model": "knn", "params": {"n_neighbors": 25}},
    {"model": "decision_tree", "params": {"max_depth": 2}},
    {"model": "decision_tree", "params": {"max_depth": 4}},
)
RUNS = 3


def script() -> list[AssistantTurn]:
    calls = tuple(
        ToolCall(id=f"call_{n}", name="train_model", arguments=json.dumps(BASE | extra))
        for n, extra in enumerate(CONFIGURATIONS, start=1)
    )
    return [
        AssistantTurn("Six configurations at once.", calls),
        AssistantTurn("", (ToolCall(id="compare", name="compare_trials", arguments="{}"),)),
        AssistantTurn("", (ToolCall(id="final", name="finalize", arguments="{}"),)),
        AssistantTurn(
            "", (ToolCall(id="end", name="finish", arguments=json.dumps({"conclusion": "Done."})),)
        ),
    ]


def payloads(transcript: Path) -> dict[str, dict[str, Any]]:
    events = [json.loads(line) for line in transcript.read_text().splitlines()]
    return {e["name"]: e["payload"] for e in events if e["event"] == "tool_run"}


def without_numbering(value: Any) -> Any:
    """`value` without what follows the finishing order: trial numbers and the session."""
    if isinstance(value, dict):
        return {
            k: without_numbering(v)
            for k, v in value.items()
            if k not in {"trial", "session", "timings", "notes"}
        }
    if isinstance(value, list):
        return [without_numbering(v) for v in value]
    return value


@pytest.mark.slow
def test_parallel_calls_give_the_same_finalized_trial_and_numbers_every_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bars = synthetic_bars("PAR", n_bars=1500, seed=11)
    outcomes = []
    for run in range(RUNS):
        monkeypatch.setenv("MLTRAINER_HOME", str(tmp_path / f"home-{run}"))
        summary = asyncio.run(
            start_session(
                ScriptedProvider(script()),
                "Is PAR predictable?",
                settings=load_settings(),
                data={"PAR": bars},
            )
        )
        assert summary.finished, summary.reason
        assert summary.transcript is not None
        recorded = payloads(Path(summary.transcript))
        outcomes.append(
            {
                "finalized": without_numbering(recorded["finalize"]),
                "best": without_numbering(recorded["compare_trials"]["best"]),
                "ranked": [row["model_id"] for row in recorded["compare_trials"]["trials"]],
            }
        )

    first = outcomes[0]
    assert first["finalized"]["config"]["model"] == first["best"]["model"]
    assert all(outcome == first for outcome in outcomes[1:])
