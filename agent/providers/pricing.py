"""What model calls cost: one price table for every priced provider, and the arithmetic.

Prices are USD per million tokens from the vendors' published price lists. A prompt-cache read
is billed at a fraction of the input price (OpenAI: 50% or 25% by model; Anthropic: 10%), and
Anthropic bills a cache write (five-minute lifetime) at 125% of it. A model missing here is
unpriced (`None`), and the loop refuses to run a cost budget blind on it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mltrainer.agent.messages import Usage


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float
    cached_input: float
    cache_write: float

    def cost_usd(self, usage: Usage) -> float:
        return (
            usage.uncached_input_tokens * self.input
            + usage.cached_input_tokens * self.cached_input
            + usage.cache_write_tokens * self.cache_write
            + usage.output_tokens * self.output
        ) / 1_000_000


def _anthropic(input_price: float, output_price: float) -> Price:
    return Price(input_price, output_price, input_price * 0.1, input_price * 1.25)


PRICES: dict[str, dict[str, Price]] = {
    "openai": {
        "gpt-4o": Price(2.50, 10.00, 1.25, 2.50),
        "gpt-4o-mini": Price(0.15, 0.60, 0.075, 0.15),
        "gpt-4.1": Price(2.00, 8.00, 0.50, 2.00),
        "gpt-4.1-mini": Price(0.40, 1.60, 0.10, 0.40),
        "gpt-4.1-nano": Price(0.10, 0.40, 0.025, 0.10),
        "o4-mini": Price(1.10, 4.40, 0.275, 1.10),
    },
    "anthropic": {
        "claude-opus-4-5": _anthropic(5.00, 25.00),
        "claude-opus-4-1": _anthropic(15.00, 75.00),
        "claude-opus-4": _anthropic(15.00, 75.00),
        "claude-sonnet-4-5": _anthropic(3.00, 15.00),
        "claude-sonnet-4": _anthropic(3.00, 15.00),
        "claude-3-7-sonnet": _anthropic(3.00, 15.00),
        "claude-haiku-4-5": _anthropic(1.00, 5.00),
        "claude-3-5-haiku": _anthropic(0.80, 4.00),
    },
}

# Dated snapshots share their model's price: "gpt-4o-2024-08-06", "claude-sonnet-4-20250514",
# "claude-3-7-sonnet-latest".
_SNAPSHOT = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8}|latest)$")


def price_of(provider: str, model: str) -> Price | None:
    return PRICES.get(provider, {}).get(_SNAPSHOT.sub("", model))


def priced(provider: str, model: str, usage: Usage) -> Usage:
    """`usage` with its cost filled in, or left None when the model has no known price."""
    price = price_of(provider, model)
    if price is None:
        return usage
    return Usage(
        usage.input_tokens,
        usage.output_tokens,
        price.cost_usd(usage),
        usage.cached_input_tokens,
        usage.cache_write_tokens,
    )
