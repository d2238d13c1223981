"""Reading which inputs a reply asks for: engine features and FRED macro series, set outright
("using only rsi and momentum", "features: [rsi, sma_20]"), added ("add VIXCLS as a feature")
or removed ("drop the volume ratio", "no macro").

Every item is looked up in the vocabulary; an indicator the feature builder does not compute
(MACD, Bollinger bands) is said back as not done, with the features that exist.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from mltrainer.agent.bridge.reply import NotDone
from mltrainer.agent.bridge.vocabulary import phrase_key, vocabulary

_ITEMS = r"(?P<items>[\w,&+\-/ \t()%']{1,200}?)"
_ITEMS_END = (
    r"(?=\s*(?:[.;:!?\n]|$)|\s+(?:on|for|in|to|from|since|until|over|at|when|while|so|but|then|"
    r"because|instead|with(?:out)?|and\s+(?:train|use|run|fit|try|retrain|switch|keep))\b)"
)
_CUE = r"(?:features?|inputs?|predictors?|regressors?|indicators?|signals?|series)"
_SET_PATTERNS = (
    re.compile(
        r"\bfeatures?(?:[\s_-]+(?:set|list))?[\"']?\s*(?::=|=|:)?\s*\[(?P<items>[^\]\n]{0,500})\]",
        re.I,
    ),
    re.compile(
        r"\bfeatures?(?:[\s_-]+(?:set|list))?[\"']?[ \t]*(?::=|=|:)[ \t]*"
        r"(?P<items>[^\n\[\]{};]{1,300})",
        re.I,
    ),
    re.compile(
        r"\b(?:using|use|with|on|keep)?\s*(?:only|just|solely|exclusively)\s+(?:the\s+)?"
        + _ITEMS
        + r"(?:\s+(?:as\s+)?(?:the\s+)?(?:only\s+)?"
        + _CUE
        + r")?"
        + _ITEMS_END,
        re.I,
    ),
    re.compile(
        r"\b(?:with|using|use)\s+(?:the\s+)?" + _CUE + r"\s+" + _ITEMS + _ITEMS_END,
        re.I,
    ),
    re.compile(
        r"\b(?:with|using|use)\s+(?:the\s+)?"
        + _ITEMS
        + r"\s+(?:as\s+(?:the\s+)?(?:only\s+)?)?"
        + _CUE
        + r"\b",
        re.I,
    ),
)
_ADD_PATTERNS = (
    re.compile(
        r"\b(?:add|adding|include|including|plus|also\s+use|with|use|using)\s+(?:the\s+)?"
        + _ITEMS
        + r"\s+as\s+(?:an?\s+)?(?:(?:extra|new|additional|macro|input|exogenous)\s+)?"
        + _CUE
        + r"\b",
        re.I,
    ),
    re.compile(
        r"\b(?:add|adding|include|including|plus|also\s+use|bring\s+in|throw\s+in)\s+(?:back\s+)?"
        r"(?:the\s+)?" + _ITEMS + _ITEMS_END,
        re.I,
    ),
)
_REMOVE_PATTERNS = (
    re.compile(
        r"\b(?:drop|dropping|remove|removing|exclude|excluding|without|minus|leave\s+out|"
        r"no\s+more|except(?:\s+for)?|(?:do\s+not|don'?t)\s+use)\s+(?:the\s+)?"
        + _ITEMS
        + _ITEMS_END,
        re.I,
    ),
)
_NO_MACRO = re.compile(
    r"\b(?:no|without|drop(?:ping)?|remove|removing)\s+(?:the\s+|any\s+|all\s+)?"
    r"(?:macro|fred)(?:\s+(?:features?|series|data|inputs?))?\b",
    re.I,
)
_SERIES_ID = r"[A-Z][A-Z0-9]{1,19}(?![A-Za-z0-9_&])"
_SERIES_LIST = _SERIES_ID + r"(?:\s*(?:,|(?i:and)|&|\+)\s*" + _SERIES_ID + r")*"
_MACRO_KEY = re.compile(
    r"(?i:\b(?:macro|fred)(?:[\s_-]+(?:features?|series|ids?|data|variables?|indicators?))?)"
    r"[\"']?[ \t]*(?::=|=|:)[ \t]*\[?(?P<items>[^\n\]]{1,300})"
)
_MACRO_NAMED = (
    re.compile(
        r"(?i:\b(?:macro|fred|exogenous)(?:\s+(?:features?|series|data|variables?|indicators?))?"
        r"\s+(?:(?:like|such\s+as|including|ids?)\s+)?)(?P<items>" + _SERIES_LIST + r")"
    ),
    re.compile(
        r"(?<![A-Za-z0-9_])(?P<items>" + _SERIES_LIST + r")"
        r"(?i:\s+(?:as\s+(?:an?\s+)?)?(?:macro|fred|exogenous)\b)"
    ),
)
_LIST_SPLIT = re.compile(r"\s*(?:,|;|\band\b|\bor\b|&|\+|/)\s*", re.I)
_ITEM_NOISE = re.compile(
    r"^(?:the|a|an|our|its|their|both)\s+|\s+(?:features?|indicators?|inputs?|predictors?|"
    r"series|data|signals?|as\s+(?:an?\s+)?(?:macro\s+)?features?|macro|only|alone)$",
    re.I,
)
_PARENTHESES = re.compile(r"(.+?)\s*\(([^()]+)\)")
_UNKNOWN_SERIES_SHAPE = re.compile(r"[A-Z][A-Z0-9]{2,19}")


@dataclass
class FeatureReading:
    features: tuple[str, ...] | None = None
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    macro: tuple[str, ...] | None = None
    macro_added: list[str] = field(default_factory=list)
    macro_removed: list[str] = field(default_factory=list)
    not_done: list[NotDone] = field(default_factory=list)


@dataclass
class _Items:
    features: list[str] = field(default_factory=list)
    macro: list[str] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)

    def any(self) -> bool:
        return bool(self.features or self.macro or self.unavailable)


def _lookup(raw: str, *, any_series: bool = False) -> _Items:
    """What each item of a list is: features, macro series, or an indicator mltrainer lacks.
    The list counts only if its first item is one of these (so "only 500 trees" is no list).
    Ids that merely look like FRED series count only where the reply says they are macro."""
    found = _Items()
    for position, piece in enumerate(_LIST_SPLIT.split(raw)[:30]):
        item = piece.strip().strip("\"'.:!?[]{} \t")
        item = _ITEM_NOISE.sub("", _ITEM_NOISE.sub("", item)).strip()
        if not item or len(item) > 40:
            continue
        # "the unemployment rate (UNRATE)": the name, or else what is in brackets.
        named = _PARENTHESES.fullmatch(item)
        known = _one_item(named[1].strip(), found, any_series) if named else False
        known = known or _one_item(named[2] if named else item, found, any_series)
        if not known and position == 0:
            return _Items()
    return found


@cache
def _unavailable_feature() -> re.Pattern[str]:
    names = sorted(vocabulary().unavailable_features, key=len, reverse=True)
    return re.compile(r"(?:" + "|".join(map(re.escape, names)) + r")(?: |$)")


def _one_item(item: str, found: _Items, any_series: bool) -> bool:
    """Files one item under what it is; False when it is none of them."""
    words = vocabulary()
    key = phrase_key(item)
    names = words.feature_named(item)
    if names is not None:
        found.features.extend(names)
    elif key in words.macro_names:
        found.macro.append(words.macro_names[key])
    elif item.upper() in words.fred_series or (
        any_series and _UNKNOWN_SERIES_SHAPE.fullmatch(item) and item not in words.not_tickers
    ):
        found.macro.append(item.upper())
    elif _unavailable_feature().match(key):
        found.unavailable.append(item)
    else:
        return False
    return True


def read_features(text: str) -> FeatureReading:
    """Features and macro series the reply sets, adds or removes."""
    reading = FeatureReading()
    unavailable: list[str] = []
    for pattern in _SET_PATTERNS:
        match = next((m for m in pattern.finditer(text) if _lookup(m["items"]).any()), None)
        if match is not None:
            items = _lookup(match["items"])
            if items.features:
                reading.features = tuple(dict.fromkeys(items.features))
            reading.macro_added.extend(items.macro)
            unavailable.extend(items.unavailable)
            break
    for patterns, features, macro in (
        (_ADD_PATTERNS, reading.added, reading.macro_added),
        (_REMOVE_PATTERNS, reading.removed, reading.macro_removed),
    ):
        for pattern in patterns:
            for match in pattern.finditer(text):
                items = _lookup(match["items"], any_series=pattern is _ADD_PATTERNS[0])
                features.extend(items.features)
                macro.extend(items.macro)
                if patterns is _ADD_PATTERNS:
                    unavailable.extend(items.unavailable)
    for match in _MACRO_KEY.finditer(text):
        series = _lookup(match["items"], any_series=True).macro
        reading.macro = tuple(dict.fromkeys([*(reading.macro or ()), *series]))
    for pattern in _MACRO_NAMED:
        for match in pattern.finditer(text):
            reading.macro_added.extend(_lookup(match["items"], any_series=True).macro)
    if _NO_MACRO.search(text):
        reading.macro = ()
    reading.added = list(dict.fromkeys(f for f in reading.added if f not in reading.removed))
    reading.macro_added = list(
        dict.fromkeys(m for m in reading.macro_added if m not in (reading.macro or ()))
    )
    reading.macro_removed = list(dict.fromkeys(reading.macro_removed))
    reading.removed = list(dict.fromkeys(reading.removed))
    for item in dict.fromkeys(unavailable):
        reading.not_done.append(
            NotDone(
                f"feature '{item}'",
                "the feature builder does not compute it",
                ", ".join(vocabulary().feature_names) + " and FRED series as macro",
            )
        )
    return reading
