"""Reading one reply, as people and LLMs write it (sentences, markdown, bullets, `key: value`
blocks, inline JSON, numbers in words), into a frozen `ParsedReply` of what the text alone says.

The work is split by question: names (`reading_names`), inputs (`reading_features`), amounts and
dates (`reading_values`); this module cleans the text, reads the action, and puts it together.
Whatever is recognised but cannot be done is collected as `NotDone`, never dropped.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from types import MappingProxyType

from mltrainer.agent.bridge.reading.features import read_features
from mltrainer.agent.bridge.reading.names import (
    read_model,
    read_source,
    read_symbol,
    sentence_prefix,
)
from mltrainer.agent.bridge.reading.targets import read_target
from mltrainer.agent.bridge.reading.values import read_values
from mltrainer.agent.bridge.reply import ACTIONS, NotDone, ParsedReply
from mltrainer.agent.bridge.vocabulary import vocabulary

# Only this much of a reply is read: an instruction longer than a short essay is not one.
MAX_TEXT_CHARS = 50_000

_QUOTES = str.maketrans(
    {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-"}
)
_MARKDOWN = re.compile(r"[*`|]|^[ \t]*#{1,6}[ \t]*|^[ \t]*>[ \t]?", re.M)
_THOUSANDS = re.compile(r"(?<![\d.,])(\d{1,3}(?:,\d{3})+)(?![\d,]|\.\d)")
_LETTERS = re.compile(r"[a-z]+")

_ACTION_MENTION = re.compile(
    r"(?P<finalize>\bfinali[sz](?:e|es|ed|ing)\b|\b(?:score|test|evaluate|run|check)\s+"
    r"(?:it|them|(?:the\s+)?(?:best|top|winning)(?:\s+\w+){0,3}|(?:the\s+)?(?:\w+\s+)?trial(?:\s+#?\d+)?)"
    r"(?:\s+once)?\s+on\s+the\s+(?:locked\s+)?(?:final\s+)?hold[\s-]?out\b)"
    r"|(?P<finish>\b(?:let'?s|let\s+us|we\s+can|we\s+should|i\s+will|i'?ll|i'?d\s+like\s+to|"
    r"i\s+would\s+like\s+to|time\s+to|ready\s+to|going\s+to)\s+(?:now\s+)?"
    r"(?:finish|conclude|wrap\s+up|stop|end)\b|\b(?:we'?re|we\s+are|i'?m|i\s+am)\s+(?:all\s+)?"
    r"done\b|\bthat'?s\s+all\b|\bfinal\s+(?:report|summary|answer)\b|"
    r"\bfinish(?:ing)?\s+(?:the\s+)?(?:session|research|study|here|now)\b|"
    r"\bcall\s+(?:the\s+)?finish\b|\b(?:in|my|final)\s+conclusion\b|\bto\s+conclude\b|"
    r"^\s*conclusion\s*:)"
    r"|(?P<backtest>\bback[\s-]?test(?:s|ed|ing)?\b)"
    r"|(?P<compare>\bcompar(?:e|ing)\b(?!\s+(?:to|with|against)\b)|"
    r"\brank\s+(?:the\s+)?(?:trials|models)\b)"
    r"|(?P<evaluate>\b(?:evaluat(?:e|ing)|assess(?:ing)?)\b)"
    r"|(?P<fetch>\b(?:fetch(?:es|ed|ing)?|download(?:s|ed|ing)?)\b|"
    r"\b(?:pull|load|get|grab)\s+(?:(?:the|some)\s+)?(?:[a-z]+\s+)?(?:data|prices|bars)\b)"
    r"|(?P<train>\b(?:re)?train(?:s|ed|ing)?\b(?![\s_/-]*(?:ratio|split|size|set|data|period|"
    r"window|fraction|share|portion|accuracy|score|test|/)))",
    re.I | re.M,
)
_ACTION_KEY = re.compile(
    r"\b(?:action|next[\s_-]+(?:action|step))[\"']?\s*(?::=|=|:)\s*[\"']?(?P<value>[^\"'\n,;]{1,40})",
    re.I,
)
_DIRECTING_PREFIX = re.compile(
    r"\b(?:with|use|using|add|adding|apply|applying|set|include|including|enable|turn\s+on|try|"
    r"run|want|need|please|let'?s|implement|do|switch\s+to|put)\b",
    re.I,
)
_NEGATING_PREFIX = re.compile(
    r"\b(?:no|not|without|never|avoid|don'?t|instead\s+of|rather\s+than|nothing|none|isn'?t)\b",
    re.I,
)
_VALUE_AFTER = re.compile(r"[\s\"':=]*(?:of|at|to|is|around|about)?\s*-?\d", re.I)
_KEY_BEFORE = re.compile(
    r"\b(?:validation|strategy|scheme|method|cv|rule)\b[\"']?\s*[:=]\s*[\"']?$"
)


def clean(text: str) -> str:
    """Plain text: no accents, straight quotes, no markdown emphasis, headers or table bars."""
    text = text[:MAX_TEXT_CHARS]
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
        decomposed = unicodedata.normalize("NFD", text)
        text = "".join(char for char in decomposed if not unicodedata.combining(char))
    return _MARKDOWN.sub(" ", text)


@cache
def _number_words() -> re.Pattern[str]:
    words = vocabulary()
    names = sorted([*words.numbers, *words.number_scales], key=len, reverse=True)
    word = r"(?:" + "|".join(names) + r")"
    return re.compile(
        r"(?<![\w-])(?:(?:a|one)\s+(?=(?:hundred|thousand)\b))?"
        + word
        + r"(?:(?:[\s-]+(?:and[\s-]+)?)"
        + word
        + r")*(?![\w-])",
        re.I,
    )


def _number_value(phrase: str) -> int:
    words = vocabulary()
    total = current = 0
    for word in re.split(r"[\s-]+", phrase.lower()):
        if word in ("and", "a"):
            current = current or (1 if word == "a" else 0)
            continue
        if word in words.numbers:
            current += words.numbers[word]
        elif word == "hundred":
            current = (current or 1) * 100
        elif word in words.number_scales:
            total += (current or 1) * words.number_scales[word]
            current = 0
    return total + current


def numbers_as_digits(text: str) -> str:
    """ "eighty percent" -> "80 percent", "two hundred and fifty" -> "250", "1,000" -> "1000"."""
    text = _THOUSANDS.sub(lambda m: m[1].replace(",", ""), text)
    return _number_words().sub(lambda m: str(_number_value(m[0])), text)


@cache
def _continue_pattern() -> re.Pattern[str]:
    phrases = sorted(vocabulary().continue_phrases, key=len, reverse=True)
    joined = "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in phrases)
    return re.compile(
        r"(?:^|[.!?;:,\n(]\s*)(?:(?:ok(?:ay)?|yes|yeah|sure|great|good|fine|alright|right|then|so|"
        r"please|now|and)[,.!]?\s+)*(?:let'?s\s+|we(?:'ll|\s+will|\s+can|\s+should)\s+|"
        r"i(?:'ll|\s+will)\s+|please\s+|just\s+)?(?:" + joined + r")\b",
        re.I,
    )


@cache
def _reset_pattern() -> re.Pattern[str]:
    phrases = sorted(vocabulary().reset_phrases, key=len, reverse=True)
    joined = "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in phrases)
    return re.compile(r"\b(?:" + joined + r")\b", re.I)


# Finalizing spends a dataset's one look, so a mention that puts it off ("before we
# finalize", "don't finalize yet") asks for nothing.
_PUT_OFF = re.compile(
    r"\b(?:not|never|before|until|till|after|later|yet|without|once|when|if|don'?t|do\s+not|"
    r"won'?t|shouldn'?t|no\s+need\s+to)\b[^.;!?]*$",
    re.I,
)
_TRIAL_NUMBERS = re.compile(
    r"\btrials?\s*(?:no\.?\s*|number\s+|#\s*)?(?P<first>\d{1,9})\b"
    r"(?P<more>(?:\s*(?:,|and|&|\+|vs\.?|versus|with)\s*(?:trial\s*)?#?\d{1,9}\b)*)"
    r"|(?<![\w#])#(?P<hash>\d{1,9})\b",
    re.I,
)
_BY_SHARPE = re.compile(r"\b(?:by|on|highest|best|top)\s+(?:the\s+)?sharpe\b", re.I)


def read_action(text: str) -> str | None:
    for match in _ACTION_KEY.finditer(text):
        value = match["value"]
        named = _ACTION_MENTION.search(value)
        if named and named.lastgroup:
            return named.lastgroup
        word = _LETTERS.match(value.strip().lower())
        if word and word[0] in ACTIONS:
            return word[0]
    for mention in _ACTION_MENTION.finditer(text):
        prefix = sentence_prefix(text, mention.start(), clause=True)
        if mention.lastgroup == "finalize" and _PUT_OFF.search(prefix):
            continue
        return mention.lastgroup
    return None


def read_trial_numbers(text: str) -> tuple[int, ...]:
    """Trial numbers the text names: "trial 3", "trials 2 and 5", "#4"."""
    numbers: list[int] = []
    for match in _TRIAL_NUMBERS.finditer(text):
        if match["hash"]:
            numbers.append(int(match["hash"]))
            continue
        numbers.append(int(match["first"]))
        numbers.extend(int(n) for n in re.findall(r"\d{1,9}", match["more"] or ""))
    return tuple(dict.fromkeys(n for n in numbers if n > 0))


def read_unsupported(text: str) -> list[NotDone]:
    """Settings trials do not have, when the reply asks for them (with a value, a key, or a verb
    such as "use"/"with"), not when it only mentions them ("nothing is shuffled")."""
    found = []
    for setting in vocabulary().unsupported:
        for match in setting.pattern.finditer(text):
            prefix = sentence_prefix(text, match.start(), clause=True)
            if _NEGATING_PREFIX.search(prefix):
                continue
            asked = (
                _VALUE_AFTER.match(text, match.end())
                or _KEY_BEFORE.search(text[max(0, match.start() - 40) : match.start()])
                or _DIRECTING_PREFIX.search(prefix)
            )
            if asked:
                found.append(NotDone(f"{setting.name} ('{match[0].strip()}')", setting.reason))
                break
    return found


def read_reply(text: str, known_symbols: frozenset[str] = frozenset()) -> ParsedReply:
    """Everything one reply asks for, from its text alone; `known_symbols` are tickers it may
    name in lower case ("rf on spx")."""
    original = text if isinstance(text, str) else ""
    plain = numbers_as_digits(clean(original))
    values = read_values(plain)
    features = read_features(plain)
    macro = {*(features.macro or ()), *features.macro_added, *features.macro_removed}
    symbols = read_symbol(plain, excluded=macro, known=known_symbols)
    model = read_model(plain)
    targeted = read_target(plain)
    action = read_action(plain)
    continues = _continue_pattern().search(plain) is not None
    parameters = dict(values.parameters)
    said = dict(values.said)
    if targeted.horizon is not None and "horizon" not in parameters:
        parameters["horizon"] = targeted.horizon
        said["horizon"] = f"{targeted.horizon_said}"
    universe: str | tuple[str, ...] | None = targeted.universe
    named = tuple(s for s in (symbols.symbol, *symbols.others) if s)
    if targeted.target == "rank" and universe is None and len(named) > 1:
        universe = named
    # Names that only appear in sentences reporting results, with no verb, value or setting
    # asking for anything, are a comment on the last trial, not a new one.
    reported_only = (
        action is None
        and targeted.target is None
        and not continues
        and (symbols.reported or symbols.symbol is None)
        and (model.reported or (model.model is None and model.unavailable is None))
        and (symbols.symbol is not None or model.model is not None)
        and not (values.parameters or values.start or values.end)
        and features.features is None
        and not (features.added or features.removed or features.macro_added)
    )
    asks_a_trial = model.model or model.unavailable or continues or targeted.target
    if action is None and not reported_only and asks_a_trial:
        action = "train"  # naming a model or a target, or "continue", asks for a trial
    not_done = [*values.not_done, *features.not_done, *read_unsupported(plain)]
    if model.unavailable:
        written, why = model.unavailable
        allowed = ", ".join(vocabulary().models_for(targeted.target))
        not_done.insert(0, NotDone(f"model '{written}'", why, allowed))
    return ParsedReply(
        text=original,
        symbol=symbols.symbol,
        other_symbols=symbols.others,
        excluded_symbols=symbols.excluded,
        model=model.model,
        unavailable_model=model.unavailable[0] if model.unavailable else None,
        model_directed=model.directed,
        excluded_models=model.excluded,
        parameters=MappingProxyType(parameters),
        said=MappingProxyType(said),
        source=read_source(plain),
        start=values.start,
        end=values.end,
        features=features.features,
        features_added=tuple(features.added),
        features_removed=tuple(features.removed),
        macro=features.macro,
        macro_added=tuple(features.macro_added),
        macro_removed=tuple(features.macro_removed),
        target=targeted.target,
        universe=universe,
        action=action,
        trials=read_trial_numbers(plain),
        rank_by="sharpe" if _BY_SHARPE.search(plain) else None,
        continues=continues,
        reset=_reset_pattern().search(plain) is not None,
        reported_only=reported_only,
        not_done=tuple(not_done),
    )
