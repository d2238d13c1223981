"""Reading how much: trial settings and hyper-parameters (numbers, percentages, ratios), after
the dates and number of bars (`reading_dates`) are read and blanked out.

Values are kept as written, in the engine's unit: "80%" of a share is 0.8, but "1.5" stays 1.5
so that the range check refuses it quoting what was typed. Percent and ratio never trade places.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

from mltrainer.agent.bridge.reading.dates import read_dates
from mltrainer.agent.bridge.reading.names import reporting_spans, sentence_prefix
from mltrainer.agent.bridge.reply import NotDone
from mltrainer.agent.bridge.vocabulary import TRIAL_SETTINGS, vocabulary

_NUMBER = r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|\.\d+"
_NUM = r"(?<![\w.])(?P<v>" + _NUMBER + r")"
_SIGNED = r"(?<![\w.])(?P<v>-?(?:" + _NUMBER + r"))"  # after a setting's name: "lookback -3"
_INT = r"(?<![\w.])(?P<v>\d+)(?!\d|\.\d)"
_PERCENT = r"\s*(?P<pct>%|percent\b|pct\b)"
_PCT = r"(?:" + _PERCENT + r")?"
# A connective between a setting's name and its value; the optional word never starts with a
# space, so the two `\s*` cannot trade characters (no backtracking blow-up on long whitespace).
_SEP = r"\s*(?:(?:of|=|:=|:|to|is|at|around|about|set\s+to|->)\s*)?"
_SPACES_OR_HYPHENS = re.compile(r"[\s\-]+")
_TEST_SIZE_KEYS = ("test_size", "test_ratio", "holdout", "holdout_size")
_SPLIT_PAIR = r"(?<![\w./])(?P<v>\d{1,2}(?:\.\d+)?)\s*[/:\-]\s*(?P<w>\d{1,2}(?:\.\d+)?)(?![\w/.])"
_NOT_A_RESULT = r"(?!\s+(?:accuracy|acc|score|error|loss|performance|results?|sharpe|returns?))"
_NOT_ANOTHER_SETTING = (
    r"(?!\s*(?:of\s+(?:the\s+)?)?(?:dropout|learning|lr\b|costs?|fees?|bps|basis|slippage|"
    r"commission|test|testing|hold|validation|out[\s-]of))"
)


def _key_pattern(name: str) -> str:
    return re.escape(name).replace("_", r"[\s_\-]?")


def _param_keys() -> list[str]:
    words = vocabulary()
    keys = {*words.param_kinds, *words.key_aliases, *_TEST_SIZE_KEYS}
    return sorted(keys, key=lambda key: (-len(key), key))


_KEY_VALUE = re.compile(
    r"(?<![A-Za-z0-9_\-])[\"']?(?P<key>"
    + "|".join(_key_pattern(key) for key in _param_keys())
    + r")[\"']?[ \t]*(?::=|=|:)[ \t]*[\"']?"
    r"(?:(?P<v>-?(?:" + _NUMBER + r"))(?:[ \t]*(?P<pct>%))?|(?P<word>[A-Za-z]+))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _ParamPattern:
    name: str
    pattern: re.Pattern[str]
    complement: bool = False  # the number given is the test share; train_ratio is 1 minus it


def _pp(name: str, pattern: str, *, complement: bool = False, flags: int = re.I) -> _ParamPattern:
    return _ParamPattern(name, re.compile(pattern, flags), complement)


# Natural-language spellings, tried only for names the explicit `key: value` forms did not set.
# Within one name the first pattern that matches anywhere wins.
_PARAM_PATTERNS: tuple[_ParamPattern, ...] = (
    _pp(
        "train_ratio",
        _NUM + _PERCENT + r"\s+(?:of\s+(?:the\s+)?(?:data\s+|sample\s+|history\s+|rows\s+)?)?"
        r"(?:for\s+|as\s+|in\s+)?(?:the\s+)?(?:train|training|in[\s-]sample)\b",
    ),
    _pp(
        "train_ratio",
        _SPLIT_PAIR + r"\s*(?:train(?:ing)?[\s/\-]*(?:test|testing|validation)?\s*)?"
        r"(?:split|ratio|division|partition)\b",
    ),
    _pp("train_ratio", r"\bsplit\s*(?:(?:of|=|:|ratio|at)\s*)?" + _SPLIT_PAIR),
    _pp(
        "train_ratio",
        r"\btrain(?:ing)?[\s_-]*(?:test[\s_-]*)?"
        r"(?:ratio|split|size|fraction|share|proportion|percentage|pct|set\s+size)"
        + _SEP
        + _SIGNED
        + _PCT,
    ),
    _pp(
        "train_ratio",
        r"(?<![\w.])(?P<v>-?(?:\d+(?:\.\d+)?|\.\d+))" + _PCT + r"\s+(?:train(?:ing)?[\s_-]*)?"
        r"(?:ratio|split|fraction)\b",
    ),
    _pp(
        "train_ratio",
        r"\bre-?train\w*\s+(?:(?:it|the\s+model|them|that)\s+)?(?:with|on|using|at)\s+"
        r"(?:an?\s+|the\s+)?(?:(?P<v>\d+(?:\.\d+)?)" + _PERCENT + r"|(?P<d>0?\.\d+))"
        r"(?:\s+(?:of\s+(?:the\s+)?data|instead))?" + _NOT_ANOTHER_SETTING + r"(?![\w%])",
    ),
    _pp(
        "train_ratio",
        r"\btrain(?:ing)?\s+(?:on|with|using)\s+(?:the\s+first\s+)?" + _NUM + _PERCENT,
    ),
    _pp(
        "train_ratio",
        r"\b(?:test|hold[\s-]?out)[\s_-]*(?:set\s+)?(?:size|ratio|fraction|share|split)"
        + _SEP
        + _SIGNED
        + _PCT,
        complement=True,
    ),
    _pp(
        "train_ratio",
        _NUM + _PERCENT + r"\s+(?:for\s+|as\s+)?(?:the\s+)?(?:test|testing|hold[\s-]?out|"
        r"out[\s-]of[\s-]sample)\b" + _NOT_A_RESULT,
        complement=True,
    ),
    _pp(
        "train_ratio",
        r"\b(?:test(?:ing)?|validat\w*)\s+on\s+(?:the\s+last\s+)?" + _NUM + _PERCENT,
        complement=True,
    ),
    _pp(
        "train_ratio",
        r"\bhold(?:ing)?[\s-]?(?:out|back)\s+(?:the\s+)?(?:final|last|latest)?\s*"
        + _NUM
        + _PERCENT,
        complement=True,
    ),
    _pp("train_ratio", _SPLIT_PAIR + r"(?!\s*(?:odds|chance|probability|%))"),
    _pp(
        "lookback",
        _INT
        + r"[\s-]*(?P<unit>(?:trading[\s-]+)?(?:days?|bars?|sessions?|weeks?|months?|years?|d))"
        r"[\s-]+(?:(?:rolling|trailing)[\s-]+)?(?:look[\s-]?back|window|history)\b",
    ),
    _pp("lookback", _INT + r"\s+(?:days?|bars?)\s+of\s+(?:price\s+)?history\b"),
    _pp(
        "lookback",
        r"\blook[\s_-]?back(?:[\s_-]+(?:window|period|length))?(?:[\s_-]+(?:size|length))?"
        + _SEP
        + r"(?:(?:the\s+)?(?:last|past)\s+)?"
        + _SIGNED
        + r"(?:[\s-]*(?P<unit>weeks?|months?|years?)\b)?",
    ),
    _pp("lookback", r"\bsequence[\s_-]+length" + _SEP + _SIGNED),
    _pp("lookback", r"\bwindow(?:[\s_-]+(?:size|length))?" + _SEP + _SIGNED),
    _pp(
        "horizon",
        _INT + r"[\s-]*(?P<unit>(?:trading[\s-]+)?(?:days?|bars?|sessions?|weeks?|d))"
        r"[\s-]+(?:(?:ahead|forward|forecast|prediction)[\s-]+)?horizon\b",
    ),
    _pp("horizon", r"\bhorizon" + _SEP + _SIGNED + r"(?:[\s-]*(?P<unit>weeks?)\b)?"),
    _pp(
        "horizon",
        _INT + r"[\s-]*(?P<unit>(?:trading[\s-]+)?(?:days?|bars?|sessions?|steps?|periods?|weeks?))"
        r"[\s-]+(?:ahead|forward|out|into\s+the\s+future)\b",
    ),
    _pp(
        "folds",
        _INT + r"[\s-]*(?:(?:walk[\s-]*forward|cv|validation|time[\s-]series)[\s-]+)?folds?\b",
    ),
    _pp("folds", r"\b(?:n[\s_-]?|number\s+of\s+)?folds" + _SEP + _SIGNED),
    _pp("cost_bps", _NUM + r"\s*(?:bps|bp|basis[\s-]+points?)\b"),
    _pp(
        "cost_bps",
        r"\b(?:transaction\s+|trading\s+|round[\s-]trip\s+)?(?:costs?|fees?|commissions?|slippage)"
        + _SEP
        + _SIGNED
        + _PCT,
    ),
    _pp(
        "seed",
        r"\b(?:random[\s_-]+)?seed(?:ed)?(?:[\s_-]+(?:value|number))?(?:\s+with)?" + _SEP + _SIGNED,
    ),
    _pp("seed", r"\brandom[\s_-]?state" + _SEP + _SIGNED),
    _pp("epochs", _INT + r"\s*epochs?\b"),
    _pp("epochs", r"\b(?:n[\s_-]?|num[\s_-]?|number\s+of\s+)?epochs?" + _SEP + _SIGNED),
    _pp("learning_rate", r"\b(?:learning[\s_-]?rate|lr)" + _SEP + _SIGNED + _PCT),
    _pp("learning_rate", _NUM + r"\s+(?:learning[\s_-]?rate|lr)\b"),
    _pp(
        "n_estimators",
        _INT + r"\s+(?:(?:decision|boosted|boosting)\s+)?(?:trees|estimators|boosting\s+rounds)\b",
    ),
    _pp(
        "n_estimators",
        r"\b(?:n[\s_-]?estimators|number\s+of\s+(?:trees|estimators|boosting\s+rounds))"
        + _SEP
        + _SIGNED,
    ),
    _pp("max_depth", r"\bmax(?:imum)?[\s_-]*(?:tree[\s_-]+)?depth" + _SEP + _SIGNED),
    _pp("max_depth", r"\b(?:tree\s+)?depth" + _SEP + _SIGNED),
    _pp("C", r"(?<![\w.])C\s*(?:=|:|\bof\b)\s*" + _SIGNED, flags=0),
    _pp("n_neighbors", r"(?<![\w.\-])k\s*=\s*" + _SIGNED),
    _pp("n_neighbors", _INT + r"\s+(?:nearest\s+)?neighbou?rs\b"),
    _pp("n_neighbors", r"\bn[\s_-]?neighbou?rs" + _SEP + _SIGNED),
    _pp(
        "hidden_size",
        r"\bhidden(?:[\s_-]+(?:layer[\s_-]+)?(?:size|units|dim(?:ension)?s?|neurons))?"
        + _SEP
        + _SIGNED,
    ),
    _pp("hidden_size", _INT + r"\s+(?:(?:hidden|lstm)\s+)?(?:units|neurons|cells)\b"),
    _pp(
        "num_layers",
        r"\b(?:num[\s_-]?|n[\s_-]?|number\s+of\s+)(?:(?:hidden|lstm)\s+)?layers" + _SEP + _SIGNED,
    ),
    _pp("num_layers", _INT + r"[\s-]*(?:(?:hidden|lstm|stacked|recurrent)\s+)?layers?\b"),
    _pp("batch_size", r"\bbatch(?:[\s_-]?size)?" + _SEP + _SIGNED),
    _pp("batch_size", r"\bbatches\s+of\s+" + _INT),
    _pp("dropout", r"\bdropout(?:[\s_-]+(?:rate|probability))?" + _SEP + _SIGNED + _PCT),
    _pp("dropout", _NUM + _PCT + r"\s+dropout\b"),
    _pp("num_leaves", r"\b(?:num[\s_-]?|number\s+of\s+)leaves" + _SEP + _SIGNED),
    _pp("num_leaves", _INT + r"\s+leaves\b"),
    _pp("embargo", r"\bembargo" + _SEP + _SIGNED),
    _pp("embargo", _INT + r"[\s-]*(?:(?:days?|bars?)[\s-]+)?embargo\b"),
    _pp("kernel", r"\b(?P<word>rbf|linear|poly|polynomial|sigmoid)\s+kernel\b"),
    _pp("kernel", r"\bkernel" + _SEP + r"(?P<word>rbf|linear|poly|polynomial|sigmoid)\b"),
    _pp("weights", r"\b(?P<word>uniform|distance)[\s-]+weight(?:s|ed|ing)?\b"),
)

# A word each spelling of a setting must contain: checked first, so the patterns above only run
# on text that could match them.
_PARAM_HINTS: dict[str, tuple[str, ...]] = {
    "train_ratio": ("train", "split", "ratio", "test", "hold", "sample", "validat", "/", "-"),
    "lookback": ("look", "window", "history", "sequence"),
    "horizon": ("horizon", "ahead", "forward", "out", "future"),
    "folds": ("fold",),
    "cost_bps": ("bp", "basis", "cost", "fee", "commission", "slippage"),
    "seed": ("seed", "random"),
    "epochs": ("epoch",),
    "learning_rate": ("learning", "lr"),
    "n_estimators": ("tree", "estimator", "round"),
    "max_depth": ("depth",),
    "C": ("c",),
    "n_neighbors": ("k", "neighbo"),
    "hidden_size": ("hidden", "unit", "neuron", "cell"),
    "num_layers": ("layer",),
    "batch_size": ("batch",),
    "dropout": ("dropout",),
    "num_leaves": ("leaves",),
    "embargo": ("embargo",),
    "kernel": ("kernel",),
    "weights": ("weight",),
}
_NO_COSTS = re.compile(
    r"\b(?:no|zero|0|without(?:\s+any)?|ignore|ignoring)\s+(?:transaction\s+|trading\s+)?"
    r"(?:costs?|fees?|commissions?)\b|\bfrictionless\b|\bcosts?\s+(?:of\s+|to\s+)?zero\b",
    re.I,
)


@dataclass
class Values:
    """Settings read from a reply, how each was written, and the dates it gives."""

    parameters: dict[str, Any] = field(default_factory=dict)
    said: dict[str, str] = field(default_factory=dict)
    start: date | None = None
    end: date | None = None
    not_done: list[NotDone] = field(default_factory=list)
    contradicted: set[str] = field(default_factory=set)  # given two values: refused, not read

    def contradiction(self, name: str, first: tuple[Any, str], second: tuple[Any, str]) -> None:
        """Refuse a setting the text gives two different values, naming both as written."""
        if name in self.contradicted:
            return
        self.contradicted.add(name)
        self.parameters.pop(name, None)
        self.said.pop(name, None)
        self.not_done.append(
            NotDone(
                f"{name} ('{first[1]}' and '{second[1]}')",
                f"the text asks for two values, {first[0]} and {second[0]}; say which one",
            )
        )


def _number(raw: str) -> float | None:
    try:
        value = float(raw)
    except (ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def _as_kind(name: str, value: float) -> int | float:
    if vocabulary().param_kinds.get(name) is int and value.is_integer():
        return int(value)
    return value


def _scaled(name: str, value: float, percent: bool, *, complement: bool = False) -> int | float:
    """A number in the unit the engine expects: a percentage of a share becomes the share; a
    plain number stays as written (1.5 is not 1.5%)."""
    if vocabulary().is_share(name):
        if percent:
            value /= 100
        if complement:
            value = 1 - value
        return round(value, 6)
    if name == "cost_bps" and percent:
        return round(value * 100, 6)
    return _as_kind(name, value)


def _in_bars(value: float, unit: str | None) -> float:
    """Weeks, months and years as trading bars (5, 21, 252 per unit)."""
    if not unit:
        return value
    word = unit.lower().split()[-1].rstrip("s")
    return value * vocabulary().bars_per.get(word, 1)


def _canonical_param(key: str) -> str:
    normal = _SPACES_OR_HYPHENS.sub("_", key.strip().lower())
    if key.strip() == "C" or normal == "c":
        return "C"
    if normal in _TEST_SIZE_KEYS:
        return normal
    return vocabulary().key_aliases.get(normal, normal)


def _explicit_parameters(text: str, found: Values) -> None:
    """`name: value` and `name=value` pairs, wherever they appear (lines, sentences, JSON)."""
    words = vocabulary()
    for match in _KEY_VALUE.finditer(text):
        name = _canonical_param(match["key"])
        if match["word"] is not None:
            word = match["word"].lower()
            if word in words.param_choices.get(name, ()) and name not in found.parameters:
                found.parameters[name] = word
                found.said[name] = match[0].strip()
            continue
        value = _number(match["v"])
        if value is None:
            continue
        complement = name in _TEST_SIZE_KEYS
        if complement:
            name = "train_ratio"
        if name not in words.param_kinds:
            continue
        scaled = _scaled(name, value, bool(match["pct"]), complement=complement)
        said = match[0].strip().strip("\"'")
        if name in found.contradicted:
            continue
        if name in found.parameters:
            if found.parameters[name] != scaled:
                earlier = (found.parameters[name], found.said[name])
                found.contradiction(name, earlier, (scaled, said))
            continue
        found.parameters[name] = scaled
        found.said[name] = said


@cache
def _named_patterns() -> tuple[_ParamPattern, ...]:
    """`min samples leaf 50`, `subsample 0.8`, `0.5 max features`: any numeric hyper-parameter
    by its own name in words."""
    words = vocabulary()
    numeric = [
        name
        for name, kind in words.param_kinds.items()
        if kind in (int, float) and name != "C" and name not in TRIAL_SETTINGS
    ]
    return tuple(
        _pp(name, pattern)
        for name in numeric
        for pattern in (
            r"\b" + _key_pattern(name) + _SEP + _SIGNED + _PCT,
            *([_NUM + _PCT + r"\s+" + _key_pattern(name) + r"\b"] if "_" in name else []),
        )
    )


@dataclass(frozen=True)
class _Mention:
    """One spelling of a setting's value in the text: where, what it comes to, as written,
    and the rank of the pattern that read it (lower: more reliable)."""

    start: int
    end: int
    value: Any
    said: str
    rank: int


def _mention(spec: _ParamPattern, match: re.Match[str], rank: int) -> _Mention | None:
    groups = match.groupdict()
    if groups.get("word"):
        word = groups["word"].lower()
        value: Any = "poly" if word == "polynomial" else word
    else:
        raw = groups.get("v") or groups.get("d")
        number = _number(raw) if raw else None
        if number is None:
            return None
        if groups.get("w") is not None:
            other = _number(groups["w"])
            if other is None or abs(number + other - 100) > 1e-6:
                return None
            number /= 100
        number = _in_bars(number, groups.get("unit"))
        value = _scaled(spec.name, number, bool(groups.get("pct")), complement=spec.complement)
    return _Mention(match.start(), match.end(), value, match[0].strip(), rank)


def _natural_parameters(text: str, found: Values) -> None:
    """Every spelling of each setting the text has; where one place is read by several
    patterns, the most reliable reading counts. A value only reported ("the 80/20 split
    reached 51%") or turned away from ("instead of 80/20") gives way to one asked for; two
    different values both asked for are refused, naming both."""
    lowered = text.lower()
    known = set(found.parameters) | found.contradicted
    mentions: dict[str, list[_Mention]] = {}
    for rank, spec in enumerate((*_PARAM_PATTERNS, *_named_patterns())):
        if spec.name in known:
            continue
        hints = _PARAM_HINTS.get(spec.name) or (max(spec.name.lower().split("_"), key=len),)
        if not any(hint in lowered for hint in hints):
            continue
        for match in spec.pattern.finditer(text):
            if (mention := _mention(spec, match, rank)) is not None:
                mentions.setdefault(spec.name, []).append(mention)
    quiet = reporting_spans(text)
    for name, said in mentions.items():
        places = _distinct_places(said)
        asked = [m for m in places if not _set_aside(text, m, quiet)] or places
        chosen = min(asked, key=lambda m: (m.rank, m.start))
        others = [m for m in asked if m.value != chosen.value]
        if others:
            first, second = sorted((chosen, others[0]), key=lambda m: m.start)
            found.contradiction(name, (first.value, first.said), (second.value, second.said))
            continue
        found.parameters[name] = chosen.value
        found.said[name] = chosen.said
    if "cost_bps" not in found.parameters and (free := _NO_COSTS.search(text)):
        found.parameters["cost_bps"] = 0.0
        found.said["cost_bps"] = free[0]


def _distinct_places(mentions: list[_Mention]) -> list[_Mention]:
    """One reading per place in the text: of readings that overlap, the most reliable."""
    kept: list[_Mention] = []
    for mention in sorted(mentions, key=lambda m: (m.rank, m.start)):
        if all(mention.end <= k.start or mention.start >= k.end for k in kept):
            kept.append(mention)
    return kept


_TURNED_AWAY = re.compile(
    r"\b(?:instead\s+of|rather\s+than|than|from|not|no\s+longer|away\s+from|replac(?:e|ing)|"
    r"drop(?:ping)?|was|were|had|used|previous(?:ly)?|last\s+time|before)\s+"
    r"(?:(?:an?|the|our|my|that|this|its)\s+)?$",
    re.I,
)


def _set_aside(text: str, mention: _Mention, quiet: list[tuple[int, int]]) -> bool:
    """A value the text does not ask for: in a sentence that only reports a result, or right
    after words that turn away from it."""
    if any(start <= mention.start < end for start, end in quiet):
        return True
    return _TURNED_AWAY.search(sentence_prefix(text, mention.start, 40, clause=True)) is not None


def read_values(text: str) -> Values:
    """Dates and days first (their digits are not settings), then `key: value` pairs, then
    settings in words."""
    window, rest = read_dates(text)
    found = Values(start=window.start, end=window.end, not_done=list(window.not_done))
    if window.days is not None:
        found.parameters["days"] = window.days
    found.said.update(window.said)
    _explicit_parameters(rest, found)
    _natural_parameters(rest, found)
    return found
