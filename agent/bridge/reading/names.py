"""Reading what a reply names: the symbol, the model and the data source.

Explicit cues beat guesses: a `symbol:`/`model:` key beats a `$TICKER`, which beats a ticker
after "on"/"for" or before "stock"/"data", which beats any bare uppercase word that is not a
known acronym. A model named after "train"/"try"/"use"/"switch to" beats one merely mentioned.
What follows a negation ("instead of", "do not train on") is excluded, never chosen; names in a
sentence that only reports a result ("the random forest on SPX reached 51%") rank last.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from mltrainer.agent.bridge.vocabulary import phrase_key, squash, vocabulary

SYMBOL_SHAPE = re.compile(r"[A-Z][A-Z0-9.\-]{0,9}")  # TrialConfig.symbol, upper case

_TICKER = r"[A-Z][A-Z0-9]{0,6}(?:[.\-][A-Z0-9]{1,2})?"
_TICKER_ANY_CASE = r"[A-Za-z][A-Za-z0-9]{0,6}(?:[.\-][A-Za-z0-9]{1,2})?"
_END = r"(?![A-Za-z0-9_&])"
_START = r"(?<![A-Za-z0-9_$.\-^&])"

_SYMBOL_KEY = re.compile(
    r"(?i:\b(?:ticker[\s_-]+symbol|symbol|ticker|stock|asset|instrument|security|underlying)s?)"
    r"[\"']?[ \t]*(?::=|=|:)[ \t]*[\"'$]?(?P<s>" + _TICKER_ANY_CASE + r")" + _END
)
_SYMBOL_NAMED = re.compile(
    r"(?i:\b(?:ticker[\s_-]+symbol|ticker|symbol)[ \t]+(?:is[ \t]+|=[ \t]*)?)"
    r"[\"'$]?(?P<s>" + _TICKER_ANY_CASE + r")" + _END
)
_SYMBOL_DOLLAR = re.compile(r"(?<![A-Za-z0-9_])\$(?P<s>" + _TICKER_ANY_CASE + r")" + _END)
_SYMBOL_CUED = re.compile(
    r"(?i:\b(?:on|for|of|in|with|using|to|about|into|trade|trading|buy|buying|sell|selling|"
    r"short|shorting|long|predict|predicting|forecast|forecasting|model|modeling|modelling|"
    r"analy[sz]e|analy[sz]ing|try|pick|choose)\s+(?:the\s+|both\s+)?)"
    r"(?P<s>" + _TICKER + r")" + _END
)
_SYMBOL_SUFFIXED = re.compile(
    _START + r"(?P<s>" + _TICKER + r")" + _END + r"(?:'s)?"
    r"(?i:\s+(?:stock|shares|equity|data|prices?|bars|returns|ticker|index|daily|ohlcv|closes?|"
    r"candles|options)\b)"
)
_SYMBOL_BARE = re.compile(_START + r"(?P<s>" + _TICKER + r")" + _END)
# A known symbol in any case ("lgbm spx 70/30"): cued, or bare.
_KNOWN_CUED = re.compile(_SYMBOL_CUED.pattern.replace(_TICKER, _TICKER_ANY_CASE))
_KNOWN_BARE = re.compile(_START + r"(?P<s>" + _TICKER_ANY_CASE + r")" + _END)
_SYMBOL_NEGATED = re.compile(
    r"\b(?:instead\s+of|rather\s+than|than|switch(?:ing)?\s+from|mov(?:e|ing)\s+from|away\s+from|"
    r"except|excluding|not|no\s+more)\s+(?:the\s+)?\$?$"
    r"|\b(?:do\s+not|don'?t|dont|never|no\s+longer|not|stop\s+(?:using|training)|avoid|skip)\b"
    r"(?:\s+\w+){0,3}?\s+(?:on|with|for|using|in|to|the)?\s*\$?$"
    r"|\b(?:avoid|skip|stop\s+(?:using|training\s+on))\s+(?:the\s+)?\$?$",
    re.I,
)
_LIST_NEXT = re.compile(
    r"(?:\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or|&|plus|as\s+well\s+as)\s+|\s*/\s*)(?:on\s+)?"
    r"(?:the\s+)?\$?(?P<s>" + _TICKER + r")" + _END
)
_LIST_NEXT_ANY_CASE = re.compile(_LIST_NEXT.pattern.replace(_TICKER, _TICKER_ANY_CASE))
_SETTING_NAME = re.compile(r"\s*(?::=|=)")
_UPPER_WORD = re.compile(r"\b[A-Z]{2,}\b")
_ANY_WORD = re.compile(r"\b[A-Za-z]{2,}\b")
_SENTENCE_BREAK = re.compile(r"[.!?;](?:\s|$)|\n")
_CLAUSE_BREAK = re.compile(r"[.!?;:,](?:\s|$)|\n")
# A sentence that reports what happened, with no instruction in it.
_REPORTING = re.compile(
    r"\b(?:reached|scored|got|gets|achieved|was|were|did|had|showed|returned|gave|performed|"
    r"came\s+in|ended|beat|lost|underperformed|outperformed|tried|trained|overfit(?:ted)?|"
    r"underfit|failed)\b",
    re.I,
)
_DIRECTING = re.compile(
    r"\b(?:let'?s|let\s+us|try|train|retrain|use|switch|run|fit|now|next|go\s+with|i'?d\s+like|"
    r"we\s+should|please|instead|same|move|change|repeat|again)\b",
    re.I,
)


@dataclass(frozen=True)
class SymbolReading:
    symbol: str | None
    others: tuple[str, ...]
    excluded: tuple[str, ...]
    reported: bool = False  # only named in a sentence that reports a result


@dataclass(frozen=True)
class ModelReading:
    model: str | None  # canonical registry name
    directed: bool  # named after a verb or a `model:` key, not merely mentioned
    unavailable: tuple[str, str] | None  # (as written, why) when the best mention is one of those
    excluded: tuple[str, ...]
    reported: bool = False  # only named in a sentence that reports a result


def sentence_prefix(text: str, start: int, width: int = 80, *, clause: bool = False) -> str:
    prefix = text[max(0, start - width) : start]
    breaks = list((_CLAUSE_BREAK if clause else _SENTENCE_BREAK).finditer(prefix))
    return prefix[breaks[-1].end() :] if breaks else prefix


def reporting_spans(text: str) -> list[tuple[int, int]]:
    """Sentences that only report a result: names in them rank after every other name."""
    spans = []
    begin = 0
    for brk in [*_SENTENCE_BREAK.finditer(text), None]:
        end = brk.end() if brk else len(text)
        sentence = text[begin:end]
        if _REPORTING.search(sentence) and not _DIRECTING.search(sentence):
            spans.append((begin, end))
        begin = end
    return spans


def _in(spans: list[tuple[int, int]], position: int) -> bool:
    return any(start <= position < end for start, end in spans)


# --- symbols ------------------------------------------------------------------------------------


@cache
def _index_names() -> tuple[tuple[re.Pattern[str], str], ...]:
    def pattern(phrase: str) -> str:
        parts = [re.escape(part) for part in re.split(r"\s*&\s*", phrase)]
        return r"\s*&\s*".join(part.replace(r"\ ", r"[\s-]*") for part in parts)

    names = sorted(vocabulary().index_names.items(), key=lambda kv: -len(kv[0]))
    return tuple(
        (re.compile(r"(?<![A-Za-z0-9])" + pattern(name) + r"(?![A-Za-z0-9])", re.I), symbol)
        for name, symbol in names
    )


@cache
def _model_words() -> frozenset[str]:
    words = vocabulary()
    phrases = [*words.model_phrases, *words.unavailable_models]
    return frozenset(
        variant
        for phrase in phrases
        for variant in (*phrase.upper().split(), phrase.upper().replace(" ", ""))
    )


@cache
def _not_tickers() -> frozenset[str]:
    words = vocabulary()
    return words.not_tickers | _model_words() | words.fred_series


_NUMBERED_NON_TICKER = re.compile(
    r"^(?:[A-Z]|SMA|EMA|WMA|MA|RSI|MACD|ATR|ROC|MOM|BB|ADX|CCI|MFI|OBV|VOL|RET|LAG|GPT|FY|PCA|LR)"
    r"\d+[A-Z]?$"
)


def _shouting(text: str) -> bool:
    upper = len(_UPPER_WORD.findall(text))
    total = len(_ANY_WORD.findall(text))
    return total >= 4 and upper > 0.6 * total


def _usable(token: str, excluded: set[str], *, any_case: bool = False) -> bool:
    words = vocabulary()
    if any_case and token.lower() in words.cue_words:
        return False
    upper = token.upper()
    if upper in excluded or upper in words.fred_series:
        return False
    return any_case or (upper not in _not_tickers() and not _NUMBERED_NON_TICKER.match(upper))


def _symbol_candidates(
    text: str, excluded: set[str], known: frozenset[str]
) -> Iterator[tuple[int, int, str, bool]]:
    """(tier, position, symbol, negated): keys, then $cashtags, then cued tokens, then bare;
    a known symbol written in lower or mixed case counts as cued or bare."""
    for match in _SYMBOL_KEY.finditer(text):
        token = match["s"]
        if _usable(token, excluded, any_case=True) and token.upper() not in _model_words():
            yield 0, match.start(), token.upper(), False
    for match in _SYMBOL_NAMED.finditer(text):
        token = match["s"]
        short_or_upper = token.isupper() or len(token) <= 5
        if (
            short_or_upper
            and _usable(token, excluded, any_case=True)
            and token.upper() not in _not_tickers()
        ):
            yield 0, match.start(), token.upper(), False
    for match in _SYMBOL_DOLLAR.finditer(text):
        if match["s"].upper() not in excluded:
            yield 1, match.start(), match["s"].upper(), _negated(text, match.start())
    for pattern, symbol in _index_names():
        for match in pattern.finditer(text):
            yield 2, match.start(), symbol, _negated(text, match.start())
    shouting = _shouting(text)
    for tier, pattern in ((2, _SYMBOL_CUED), (2, _SYMBOL_SUFFIXED), (3, _SYMBOL_BARE)):
        if tier == 3 and shouting:
            continue
        for match in pattern.finditer(text):
            token = match["s"]
            if not _usable(token, excluded) or (tier == 3 and len(token) < 2):
                continue
            if _SETTING_NAME.match(text, match.end("s")):
                continue  # "C=0.5", "K = 10": a setting, not a ticker
            start = match.start("s")
            yield tier, start, token, _negated(text, start)
    if known:
        yield from _known_in_any_case(text, excluded, known)


def _known_in_any_case(
    text: str, excluded: set[str], known: frozenset[str]
) -> Iterator[tuple[int, int, str, bool]]:
    """Known symbols not written in upper case ("rf on spx"). Only a known symbol counts, and
    never one that is also a common word or acronym ("all", "on", "it")."""
    cue_words = vocabulary().cue_words
    for tier, pattern in ((2, _KNOWN_CUED), (3, _KNOWN_BARE)):
        for match in pattern.finditer(text):
            token = match["s"]
            upper = token.upper()
            if token.isupper() or upper not in known or token.lower() in cue_words:
                continue
            if not _usable(upper, excluded) or _SETTING_NAME.match(text, match.end("s")):
                continue
            start = match.start("s")
            yield tier, start, upper, _negated(text, start)


def _negated(text: str, start: int) -> bool:
    return _SYMBOL_NEGATED.search(sentence_prefix(text, start, clause=True)) is not None


def read_symbol(
    text: str, excluded: set[str] | None = None, known: frozenset[str] = frozenset()
) -> SymbolReading:
    """The ticker the reply is about, other tickers it names for the same trial, and tickers it
    says not to use. Words that only look like tickers never count; `known` symbols count in
    any case."""
    excluded = excluded or set()
    reporting = reporting_spans(text)
    ranked = []
    negated: list[str] = []
    for tier, position, symbol, is_negated in _symbol_candidates(text, excluded, known):
        if not SYMBOL_SHAPE.fullmatch(symbol):
            continue
        if is_negated:
            negated.append(symbol)
            continue
        ranked.append((tier, _in(reporting, position), position, symbol))
    chosen = [c for c in ranked if c[3] not in negated]
    best = min(chosen, default=None)
    if best is None:
        return SymbolReading(None, (), tuple(dict.fromkeys(negated)))
    symbol = best[3]
    others = [s for tier, quiet, _, s in chosen if tier <= 2 and not quiet and s != symbol]
    others.extend(_listed_after(text, symbol, excluded | set(negated), known))
    return SymbolReading(
        symbol,
        tuple(dict.fromkeys(s for s in others if s != symbol)),
        tuple(dict.fromkeys(s for s in negated if s != symbol)),
        reported=best[1],
    )


def _listed_after(text: str, symbol: str, excluded: set[str], known: frozenset[str]) -> list[str]:
    """Tickers joined to the chosen one by "and", ",", "/" ("on SPX and IXIC", "spx and ixic"
    when both are known)."""
    found = []
    for match in re.finditer(r"(?<![A-Za-z0-9])\$?" + re.escape(symbol) + _END, text, re.I):
        position = match.end()
        while next_match := _LIST_NEXT_ANY_CASE.match(text, position):
            token = next_match["s"]
            if not token.isupper() and token.upper() not in known:
                break
            if not _usable(token.upper(), excluded) or len(token) < 2:
                break
            found.append(token.upper())
            position = next_match.end()
    return found


# --- models -------------------------------------------------------------------------------------


def _alias_pattern(alias: str) -> str:
    return r"[\s_\-]*".join(re.escape(word) for word in alias.split())


@cache
def _model_mention() -> re.Pattern[str]:
    words = vocabulary()
    phrases = sorted({*words.model_phrases, *words.unavailable_models}, key=len, reverse=True)
    return re.compile(
        r"(?<![A-Za-z0-9])(?P<alias>"
        + "|".join(_alias_pattern(phrase) for phrase in phrases)
        + r")(?P<plural>e?s)?(?![A-Za-z0-9])",
        re.I,
    )


# Names that are also ordinary words or abbreviations: they count only in a model-like context.
_WEAK_ALIASES = frozenset(
    {
        "tree",
        "boosting",
        "logistic",
        "recurrent",
        "bayes",
        "perceptron",
        "ensemble",
        "stacking",
        "gpt",
        "bert",
        "prophet",
        "hmm",
        "reinforcementlearning",
        "deeplearningmodel",
        "lasso",
    }
)
_UPPERCASE_ONLY_ALIASES = frozenset({"et", "dt", "gb", "nb", "nn", "cart", "tft", "cnn", "gru"})
_WEAK_FOLLOWERS = re.compile(
    r"[\s_\-]*(?:of\s+)?(?:based|depth|size|count|rounds?|iterations?|leaves|leaf|levels?|nodes?|"
    r"structure|accuracy|performance|returns?|sharpe|results?|scores?|al)\b|\s*:",
    re.I,
)
_AFTER_NUMBER = re.compile(r"(?:\d|[ap]\.?m\.?)\s*-?\s*$", re.I)
_MODEL_KEY = re.compile(
    r"(?i:\b(?:model|algorithm|estimator|classifier)(?:[\s_-]+(?:name|type))?s?)"
    r"[\"']?[ \t]*(?::=|=|:)[ \t]*[\"']?(?P<value>[^\"'\n,;{}()\[\]]{1,60})"
)
_MODEL_VERB = re.compile(
    r"\b(?:train|retrain|training|try|trying|use|using|fit|fitting|run|running|"
    r"switch(?:ing)?\s+to|mov(?:e|ing)\s+to|go(?:ing)?\s+with|test|testing|build|deploy|pick|"
    r"choose|start\s+with|recommend|suggest|propose|prefer|next)\b(?:\s+\S+){0,3}?\s*$"
    r"|\bto\s+(?:an?\s+|the\s+)?$",
    re.I,
)
_MODEL_NEGATED = re.compile(
    r"\b(?:instead\s+of|rather\s+than|than|over|from|not|no|without|drop|dropping|abandon|"
    r"abandoning|replace|replacing|unlike|versus|vs\.?|compared\s+(?:to|with)|relative\s+to)\s+"
    r"(?:(?:the|a|an|our|my|this|that)\s+)?$"
    r"|\b(?:do\s+not|don'?t|dont|never|no\s+longer|stop\s+using|avoid)\b(?:\s+\w+){0,2}?\s+"
    r"(?:(?:the|a|an|our|my|this|that)\s+)?$",
    re.I,
)


def _model_candidates(text: str) -> Iterator[tuple[int, bool, int, str, bool]]:
    """(tier, quiet, position, alias as written, negated): `model:` keys, then directed
    mentions, then bare ones; quiet ones sit in sentences that only report results."""
    reporting = reporting_spans(text)
    for match in _MODEL_KEY.finditer(text):
        mention = _model_mention().search(match["value"])
        if mention is not None:
            yield 0, False, match.start(), mention["alias"], False
    for match in _model_mention().finditer(text):
        alias = match["alias"]
        key = squash(alias)
        prefix = sentence_prefix(text, match.start())
        weak = key in _WEAK_ALIASES
        if key in _UPPERCASE_ONLY_ALIASES or weak:
            if key in _UPPERCASE_ONLY_ALIASES and not alias.isupper():
                continue
            if (
                match["plural"]
                or _AFTER_NUMBER.search(prefix)
                or _WEAK_FOLLOWERS.match(text, match.end())
            ):
                continue
        negated = _MODEL_NEGATED.search(prefix) is not None
        directed = _MODEL_VERB.search(prefix) is not None
        if weak and not directed and not negated:
            continue
        quiet = _in(reporting, match.start())
        yield (1 if directed else 2), quiet, match.start(), alias, negated


def read_model(text: str) -> ModelReading:
    """The model the reply asks for (a registry name), or the unavailable one it asks for."""
    words = vocabulary()
    candidates = list(_model_candidates(text))
    excluded = []
    for _, _, _, alias, negated in candidates:
        model = words.model_named(alias)
        if negated and model is not None:
            excluded.append(model)
    best = min((c for c in candidates if not c[4]), default=None)
    if best is None:
        return ModelReading(None, False, None, tuple(dict.fromkeys(excluded)))
    tier, reported, _, alias, _ = best
    model = words.model_named(alias)
    if model is None:
        why = words.unavailable_model(alias) or "not a model mltrainer has"
        return ModelReading(None, tier <= 1, (alias, why), tuple(dict.fromkeys(excluded)), reported)
    others = tuple(dict.fromkeys(m for m in excluded if m != model))
    return ModelReading(model, tier <= 1, None, others, reported)


# --- data source --------------------------------------------------------------------------------


@cache
def _source_patterns() -> tuple[re.Pattern[str], ...]:
    names = sorted(vocabulary().sources, key=len, reverse=True)
    word = "|".join(re.escape(name).replace(r"\ ", r"[\s_-]+") for name in names)
    return (
        re.compile(
            r"\bdata[\s_-]?source[\"']?(?:\s*(?::=|=|:)\s*|\s+(?:is\s+|=\s*)?)[\"']?(?P<src>"
            + word
            + r")\b",
            re.I,
        ),
        re.compile(
            r"\b(?:source|provider)[\"']?[ \t]*(?::=|=|:)[ \t]*[\"']?(?P<src>" + word + r")\b", re.I
        ),
        re.compile(r"\bdata[\"']?[ \t]*(?::=|=|:)[ \t]*[\"']?(?P<src>" + word + r")\b", re.I),
        re.compile(
            r"\b(?:use|using|fetch|get|pull|load|download|take|grab|with|on|from)\s+(?:the\s+)?"
            r"(?:[a-z]+\s+){0,2}?data\s+(?:from|via|through)\s+(?:the\s+)?(?P<src>" + word + r")\b",
            re.I,
        ),
        re.compile(
            r"\b(?:use|using|with|on|try|fetch|get|pull|load|switch\s+to|move\s+to|from)\s+"
            r"(?:the\s+|some\s+)?(?P<src>" + word + r")(?:\s+(?:" + word + r"))?\s+"
            r"(?:price\s+|market\s+)?(?:data|bars)\b",
            re.I,
        ),
        re.compile(r"\bdata\s+(?:from|via)\s+(?:the\s+)?(?P<src>" + word + r")\b", re.I),
        re.compile(
            r"\b(?:from|via|through)\s+(?:the\s+)?(?P<src>polygon|massive|fred|yahoo(?:\s+finance)?|"
            r"yfinance|alpaca|quandl|bloomberg)\b",
            re.I,
        ),
    )


def read_source(text: str) -> str | None:
    """The data source named: its canonical name when mltrainer has it, else as written."""
    sources = vocabulary().sources
    for pattern in _source_patterns():
        match = pattern.search(text)
        if match:
            key = phrase_key(match["src"])
            return sources.get(key) or key
    return None
