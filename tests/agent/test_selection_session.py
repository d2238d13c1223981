"""A whole research session is as trustworthy as its trials: a scripted LLM tries 40
configurations on a seeded random walk, picks the best on the selection segment and finalizes
it on the locked holdout. The holdout shows no skill and the deflated Sharpe ratio does not
pass; across 20 walks the finalized p-values are significant about as often as chance allows.
The same session on a planted signal finds it on the holdout.
"""

from __future__ import annotations

import asyncio
import json
from itertools import product
from typing import Any

import pytest

from mltrainer.agent.loop import SessionSummary
from mltrainer.agent.messages import AssistantTurn, ToolCall
from mltrainer.agent.providers import ScriptedProvider
from mltrainer.agent.runs import start_session
from mltrainer.engine.data.synthetic import synthetic_bars
from mltrainer.engine.settings import load_settings

N_BARS = 1500  # six years of business days: 300 holdout bars, 240 selection days per trial
SHORT_FEATURES = ["returns", "rsi", "momentum", "volatility"]


def forty_configurations(symbol: str) -> list[dict[str, Any]]:
    """What a diligent LLM might sweep: two model families, five lookbacks, two feature sets,
    three tree depths. All share one selection window, so PBO can be computed over them."""
    base = {"symbol": symbol, "folds": 2, "save_model": False}
    configs = [
        {**base, "model": "naive_bayes", "lookback": lookback, "features": features}
        for lookback, features in product((5, 10, 20, 40, 60), (None, SHORT_FEATURES))
    ]
    configs += [
        {
            **base,
            "model": "decision_tree",
            "lookback": lookback,
            "features": features,
            "params": {"max_depth": depth},
        }
        for lookback, features, depth in product(
            (5, 10, 20, 40, 60), (None, SHORT_FEATURES), (2, 4, 8)
        )
    ]
    return [{k: v for k, v in c.items() if v is not None} for c in configs]


def research_script(symbol: str) -> list[AssistantTurn]:
    """Four turns of ten parallel trials, a comparison, one finalize, then finish."""
    numbers = iter(range(1, 100))

    def call(name: str, arguments: dict[str, Any]) -> ToolCall:
        return ToolCall(f"call_{next(numbers)}", name, json.dumps(arguments))

    configs = forty_configurations(symbol)
    turns = [
        AssistantTurn("", tuple(call("train_model", c) for c in configs[i : i + 10]))
        for i in range(0, 40, 10)
    ]
    turns.append(AssistantTurn("", (call("compare_trials", {}),)))
    turns.append(AssistantTurn("", (call("finalize", {}),)))
    turns.append(AssistantTurn("", (call("finish", {"conclusion": "Reporting the holdout."}),)))
    return turns


def run(symbol: str, seed: int, signal: float = 0.0) -> SessionSummary:
    frame = synthetic_bars(symbol, n_bars=N_BARS, seed=seed, signal=signal)
    return asyncio.run(
        start_session(
            ScriptedProvider(research_script(symbol)),
            f"Is {symbol} predictable?",
            settings=load_settings(),
            data={symbol: frame},
        )
    )


def finalized_payload(summary: SessionSummary) -> dict[str, Any]:
    events = [json.loads(line) for line in summary.transcript.read_text().splitlines()]  # type: ignore[union-attr]
    (payload,) = [
        e["payload"] for e in events if e["event"] == "tool_run" and e["name"] == "finalize"
    ]
    return payload


def test_forty_tries_on_a_random_walk_finalize_to_no_skill() -> None:
    summary = run("RW", seed=0)

    assert summary.finished
    assert len(summary.trials) == 40
    (final,) = summary.finalized
    payload = finalized_payload(summary)
    stats = payload["selection_stats"]
    # The winner of 40 looks good on the selection days it was picked on ...
    assert final["selection_accuracy"] == max(t["selection_accuracy"] for t in summary.trials)
    assert stats["tries"] == 40
    # ... but not better than the best of 40 coin flips, and not on the holdout.
    assert final["selection_accuracy"] < stats["noise_bar_95"]
    assert final["p_value"] >= 0.05
    assert stats["dsr"] < 0.95
    assert stats["pbo"] is not None and stats["pbo_trials"] == 40
    assert (final["look"], final["untouched"]) == (1, True)


def test_the_same_session_on_a_planted_signal_finds_it_on_the_holdout() -> None:
    summary = run("SIG", seed=1, signal=0.5)

    (final,) = summary.finalized
    assert final["data"] == "CALLER DATA"
    assert final["holdout_accuracy"] > final["baseline_accuracy"] + 0.05
    assert final["p_value"] < 0.01
    assert final["mcnemar_p_value"] < 0.01


@pytest.mark.slow
def test_over_twenty_random_walks_at_most_three_finalized_results_are_significant() -> None:
    p_values = []
    for seed in range(20):
        (final,) = run(f"RW{seed:02d}", seed=100 + seed).finalized
        p_values.append(final["p_value"])

    # With no skill each finalized p-value is below 0.05 with probability at most 5%: about 1
    # of 20 expected; 4 or more happens with probability ~1.6% (Binomial(20, 0.05)).
    assert sum(p < 0.05 for p in p_values) <= 3, p_values
