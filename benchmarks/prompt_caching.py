"""What prompt caching saves: a recorded 20-turn session's token counts replayed against the
price lists, with and without caching.

Every turn resends the system prompt, the tool schemas and the whole history. With caching,
the part of a turn's prompt that was the previous turn's prompt is read from the cache
(Anthropic: 10% of the input price; OpenAI: 25-50%, automatic for prefixes of 1,024 tokens or
more) and only what is new is paid in full (Anthropic bills writing it to the cache at 125%).

The input tokens of each turn come from the transcript when a real provider recorded them.
A scripted session records none, so they are estimated from the exact Anthropic request the
provider would build for that turn (its JSON at 4 characters a token; the real tokenizers are
not available offline). Without `--transcript`, the benchmark first records a 20-turn scripted
session (19 trials on the offline samples, then finish) in a temporary data home.

Example:
    python benchmarks/prompt_caching.py
    python benchmarks/prompt_caching.py --transcript ~/.local/share/mltrainer/transcripts/X.jsonl
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from timing import benchmark_parser

CHARS_PER_TOKEN = 4
OPENAI_MIN_CACHED_PREFIX = 1024
MODELS = (
    ("anthropic", "claude-sonnet-4-5"),
    ("anthropic", "claude-haiku-4-5"),
    ("openai", "gpt-4.1"),
)


@dataclass(frozen=True)
class Turn:
    input_tokens: int
    output_tokens: int


def record_session(folder: Path) -> Path:
    """A 20-turn scripted session on the offline samples; its transcript's path."""
    import yaml

    from mltrainer.agent.providers import ScriptedProvider
    from mltrainer.agent.session.runs import start_session
    from mltrainer.agent.session.state import Budgets
    from mltrainer.engine.settings import load_settings

    grid = [
        (symbol, model, lookback)
        for symbol in ("SPX", "IXIC", "MSFT")
        for model in ("logistic_regression", "random_forest", "lightgbm", "gradient_boosting")
        for lookback in (10, 30)
    ][:19]
    turns: list[object] = [
        {
            "text": f"Trial {i}: {model} on {symbol}, lookback {lookback}.",
            "tool_calls": [
                {
                    "name": "train_model",
                    "arguments": {
                        "symbol": symbol,
                        "source": "sample",
                        "model": model,
                        "lookback": lookback,
                        "days": 1500,
                    },
                }
            ],
        }
        for i, (symbol, model, lookback) in enumerate(grid, 1)
    ]
    turns.append(
        {
            "tool_calls": [
                {
                    "name": "finish",
                    "arguments": {"conclusion": "No configuration beat its baseline after Holm."},
                }
            ]
        }
    )
    script = folder / "twenty_turns.yaml"
    script.write_text(yaml.safe_dump(turns, sort_keys=False))
    summary = asyncio.run(
        start_session(
            ScriptedProvider.from_file(script, model="claude-sonnet-4-5"),
            "Does any model beat its baseline on the offline samples?",
            settings=load_settings(),
            budgets=Budgets(max_turns=25, max_tool_calls=25),
        )
    )
    return Path(str(summary.transcript))


def replay_turns(transcript: Path) -> tuple[list[Turn], str]:
    """Each assistant turn's input and output tokens: recorded, or estimated from the request
    the Anthropic provider would send for it."""
    from mltrainer.agent.messages import AssistantTurn
    from mltrainer.agent.providers.anthropic import _to_wire, _tools_to_wire
    from mltrainer.agent.session.state import tool_specs
    from mltrainer.agent.session.transcript import messages_from_events, read_events, session_header

    events = read_events(transcript)
    header = session_header(events)
    messages = list(messages_from_events(events))
    prefix = len(header.get("system", "")) + len(json.dumps(_tools_to_wire(tool_specs())))
    recorded = [m for m in messages if isinstance(m, AssistantTurn)]
    if recorded and all(m.usage.input_tokens for m in recorded):
        return [Turn(m.usage.input_tokens, m.usage.output_tokens) for m in recorded], "recorded"
    turns: list[Turn] = []
    for index, message in enumerate(messages):
        if not isinstance(message, AssistantTurn):
            continue
        asked = prefix + len(json.dumps(_to_wire(messages[:index])))
        said = len(message.text) + sum(len(c.name) + len(c.arguments) for c in message.tool_calls)
        turns.append(Turn(asked // CHARS_PER_TOKEN, max(said // CHARS_PER_TOKEN, 1)))
    return turns, f"estimated at {CHARS_PER_TOKEN} characters a token"


def session_cost(provider: str, model: str, turns: list[Turn], *, caching: bool) -> float:
    """USD for the session: each turn's prompt is the previous turn's prompt plus what is new."""
    from mltrainer.agent.messages import Usage
    from mltrainer.agent.providers.pricing import price_of

    price = price_of(provider, model)
    assert price is not None, f"{model} has no price"
    total = 0.0
    previous = 0
    for turn in turns:
        cached = written = 0
        if caching and provider == "anthropic":
            cached = min(previous, turn.input_tokens)
            written = turn.input_tokens - cached
        elif caching and previous >= OPENAI_MIN_CACHED_PREFIX:
            # OpenAI caches in 128-token steps past the first 1,024.
            cached = min(previous, turn.input_tokens) // 128 * 128
        total += price.cost_usd(Usage(turn.input_tokens, turn.output_tokens, None, cached, written))
        previous = turn.input_tokens
    return total


def main() -> None:
    parser = benchmark_parser(__doc__, "python benchmarks/prompt_caching.py")
    parser.add_argument("--transcript", type=Path, help="a recorded session (default: record one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        transcript = args.transcript
        if transcript is None:
            os.environ["MLTRAINER_HOME"] = folder
            print("recording a 20-turn scripted session on the offline samples ...", flush=True)
            transcript = record_session(Path(folder))
        turns, source = replay_turns(transcript)
    prompt = sum(t.input_tokens for t in turns)
    print(f"{len(turns)} turns, {prompt:,} input tokens in all ({source})")
    print(f"{'model':<22} {'no caching':>12} {'caching':>12} {'caching/no caching':>20}")
    for provider, model in MODELS:
        plain = session_cost(provider, model, turns, caching=False)
        cached = session_cost(provider, model, turns, caching=True)
        print(f"{model:<22} {f'${plain:.4f}':>12} {f'${cached:.4f}':>12} {cached / plain:>20.2f}")


if __name__ == "__main__":
    main()
