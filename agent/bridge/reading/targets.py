"""Reading what a reply asks to predict: the research target (by its registered name, from the
vocabulary's `target_phrases`), the universe a ranking orders, and the horizon a phrase such as
"next week's return" implies.

"Rank the sp20 stocks by next week's return" is target rank, universe sp20, horizon 5;
"forecast AAPL's 5-day return" is target return, horizon 5; "rank the trials" is not a target
(it asks to compare trials). A universe is named by its registered name in any case or spacing
("sp20", "SP 20"), or given as `universe: ...`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from mltrainer.agent.bridge.vocabulary import AHEAD, vocabulary
from mltrainer.engine.data.universes import universe_names
from mltrainer.engine.targets.registry import target_names

_PERIOD_BARS = {"day": 1, "bar": 1, "session": 1, "week": 5, "month": 21, "quarter": 63}
_HORIZON = re.compile(AHEAD + r"\s+returns?\b", re.I)
_TARGET_KEY = re.compile(r"\btarget[\"']?\s*(?::=|=|:)\s*[\"']?(?P<t>[A-Za-z_]+)", re.I)
_UNIVERSE_KEY = re.compile(r"\buniverse[\"']?\s*(?::=|=|:)\s*[\"']?(?P<u>[A-Za-z][\w\s-]*)", re.I)


@dataclass(frozen=True)
class TargetReading:
    target: str | None
    universe: str | None  # a registered universe's name
    horizon: int | None  # bars implied by "next week's return", "5-day returns", ...
    said: str | None  # the phrase that named the target, as written
    horizon_said: str | None = None  # the phrase the horizon was read from


@cache
def _universe_pattern() -> re.Pattern[str]:
    """Each registered universe's name, with any spacing between its letters and digits."""
    names = sorted(universe_names(), key=len, reverse=True)
    spelled = [
        r"[\s_-]?".join(re.escape(part) for part in re.findall(r"[a-z]+|\d+", name))
        for name in names
    ]
    return re.compile(r"(?<![\w-])(?P<u>" + "|".join(spelled) + r")(?![\w-])", re.I)


def _universe(text: str) -> str | None:
    key = _UNIVERSE_KEY.search(text)
    found = _universe_pattern().search(key["u"] if key else text)
    if found is None:
        return None
    written = re.sub(r"[\s_-]", "", found["u"]).lower()
    return written if written in universe_names() else None


def _horizon(text: str) -> tuple[int | None, str | None]:
    match = _HORIZON.search(text)
    if match is None:
        return None, None
    if match["period"]:
        bars: int | None = _PERIOD_BARS[match["period"].lower()]
    elif match["count"]:
        bars = int(match["count"]) * _PERIOD_BARS[match["unit"].lower().rstrip("s")]
    else:
        bars = 1 if "tomorrow" in match[0].lower() else None
    return bars, match[0].strip() if bars is not None else None


def read_target(text: str) -> TargetReading:
    """The target, universe and implied horizon a reply names; None for each it does not."""
    universe = _universe(text)
    key = _TARGET_KEY.search(text)
    if key and key["t"].lower() in target_names():
        target, said = key["t"].lower(), key[0].strip()
    else:
        target = said = None
        for name, pattern in vocabulary().target_phrases.items():
            if found := pattern.search(text):
                target, said = name, found[0].strip()
                break
    horizon, phrase = _horizon(text) if target not in (None, "direction") else (None, None)
    return TargetReading(target, universe, horizon, said, phrase)
