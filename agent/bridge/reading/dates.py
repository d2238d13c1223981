"""Reading when: the dates a trial uses ("from 2005-01-01 to 2012-12-31", "since 2010", "before
2016", "January 2004 through December 2014") or how many recent bars ("the last 1000 days",
"the past 5 years"). A year means all of it; "after" and "before" exclude what they name.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from mltrainer.agent.bridge.reply import NotDone
from mltrainer.agent.bridge.vocabulary import phrase_key, vocabulary


@dataclass
class Window:
    start: date | None = None
    end: date | None = None
    days: int | None = None
    said: dict[str, str] = field(default_factory=dict)
    not_done: list[NotDone] = field(default_factory=list)


def _bars_per(unit: str) -> int:
    """Trading bars in a day, week, month or year (1, 5, 21, 252)."""
    return int(vocabulary().bars_per.get(unit.lower().rstrip("s"), 1))


_MONTH_NAMES = {
    name.lower(): number
    for number in range(1, 13)
    for name in (calendar.month_name[number], calendar.month_abbr[number])
}
_MONTH = "|".join(sorted(_MONTH_NAMES, key=len, reverse=True))
_YEAR = r"(?:18|19|20|21)\d{2}"
# Things counted in numbers that look like years ("2000 trees"), so never read as a date.
_COUNTED = (
    r"trees|estimators|rounds|epochs|days|bars|rows|samples|units|neurons|bps|basis|iterations|"
    r"observations|steps|leaves"
)


def _date_token(tag: str) -> str:
    """One date as written: 2005-01-31, 2005/01, Jan 2005, 31 January 2005, or a year."""
    return (
        rf"(?:(?P<{tag}y>{_YEAR})[-/.](?P<{tag}m>\d{{1,2}})(?:[-/.](?P<{tag}d>\d{{1,2}}))?(?![\d])"
        rf"|(?P<{tag}mn>{_MONTH})\.?\s+(?:(?P<{tag}md>\d{{1,2}})(?:st|nd|rd|th)?,?\s+)?"
        rf"(?P<{tag}my>{_YEAR})"
        rf"|(?P<{tag}dd>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<{tag}dmn>{_MONTH})\.?,?\s+"
        rf"(?P<{tag}dy>{_YEAR})"
        rf"|(?P<{tag}yy>{_YEAR})(?!\s*(?:%|{_COUNTED})))(?![\w/]|\.\d)"
    )


_FROM_WORD = (
    r"(?:from|since|starting(?:\s+(?:from|in|on|at))?|beginning(?:\s+(?:in|on))?|after|"
    r"as\s+of|start(?:ing)?(?:[\s_-]date)?[\"']?\s*[:=]\s*[\"']?|from\s*[:=])"
)
_TO_WORD = (
    r"(?:until|till|through|thru|up\s+to|ending(?:\s+(?:in|on))?|before|"
    r"end(?:[\s_-]date)?[\"']?\s*[:=]\s*[\"']?|to\s*[:=]|to(?=\s+(?:the\s+end\s+of\s+)?"
    + _YEAR
    + r"-\d\d-\d\d))"
)
_RANGE = re.compile(
    r"(?:\b(?P<lead>from|between)\s+(?:the\s+)?(?:start\s+of\s+|beginning\s+of\s+)?)?"
    r"(?<![\w/.\-])"
    + _date_token("a")
    + r"\s*(?P<join>to|until|till|through|thru|and|-|–)\s*(?:the\s+)?(?:end\s+of\s+)?"
    + _date_token("b"),
    re.I,
)
_START = re.compile(
    r"\b(?P<word>"
    + _FROM_WORD
    + r")\s*(?:the\s+)?(?:start\s+of\s+|beginning\s+of\s+)?"
    + _date_token("a"),
    re.I,
)
_END = re.compile(
    r"\b(?P<word>" + _TO_WORD + r")\s*(?:the\s+)?(?:end\s+of\s+)?" + _date_token("b"), re.I
)
_RECENT = re.compile(
    r"(?:^|[,;:(]\s*|\b(?P<lead>on|over|using|use|with|for|from|in|of|only|just|keep|to|"
    r"within|at)\s+)"
    r"(?:only\s+)?(?:the\s+)?(?:last|past|most\s+recent|previous|latest|recent)\s+(?P<n>\d+)\s+"
    r"(?:trading\s+)?(?P<unit>days?|bars?|sessions?|weeks?|months?|years?)\b"
    r"|(?<![\w.])(?P<n2>\d+)\s+(?:trading\s+)?(?P<unit2>days?|bars?|sessions?|years?)\s+of\s+"
    r"(?:price\s+)?data\b",
    re.I | re.M,
)
_YEAR_HINT = re.compile(_YEAR)
_WINDOW_BEFORE = re.compile(
    r"(?:look[\s_-]?back|window|sequence|history)(?:[\s:=]+(?:is|of|over|covering|spanning))?\s*$",
    re.I,
)


def _period(match: re.Match[str], tag: str) -> tuple[date, date] | str:
    """First and last day of what a date token names (a day, a month or a year), or the token
    as written when it is no calendar date."""
    group = match.groupdict()
    year = group.get(f"{tag}y") or group.get(f"{tag}my") or group.get(f"{tag}dy")
    year = year or group.get(f"{tag}yy")
    month_name = group.get(f"{tag}mn") or group.get(f"{tag}dmn")
    month_text = group.get(f"{tag}m")
    day_text = group.get(f"{tag}d") or group.get(f"{tag}md") or group.get(f"{tag}dd")
    assert year is not None
    month = _MONTH_NAMES[month_name.lower()] if month_name else int(month_text or 0) or None
    try:
        if month is None:
            return date(int(year), 1, 1), date(int(year), 12, 31)
        if day_text is None:
            last = calendar.monthrange(int(year), month)[1]
            return date(int(year), month, 1), date(int(year), month, last)
        day = date(int(year), month, int(day_text))
        return day, day
    except ValueError:
        spans = [match.span(name) for name in group if name.startswith(tag) and group[name]]
        return match.string[min(a for a, _ in spans) : max(b for _, b in spans)]


def read_dates(text: str) -> tuple[Window, str]:
    """The window a reply asks for, and its text with those phrases blanked out (so "2012" in
    a date is never read as a setting)."""
    found = Window()
    blanked = list(text)

    def blank(match: re.Match[str]) -> None:
        blanked[match.start() : match.end()] = " " * (match.end() - match.start())

    def bad(written: str) -> None:
        found.not_done.append(NotDone(f"date '{written}'", "not a calendar date"))

    has_year = _YEAR_HINT.search(text) is not None
    for match in _RANGE.finditer(text) if has_year else ():
        if match["join"].lower() == "and" and match["lead"] is None:
            continue
        first, last = _period(match, "a"), _period(match, "b")
        if isinstance(first, str) or isinstance(last, str):
            bad(first if isinstance(first, str) else str(last))
        elif found.start is None:
            found.start, found.end = first[0], last[1]
            found.said["start"] = found.said["end"] = match[0].strip()
        blank(match)
    for pattern, tag in ((_START, "a"), (_END, "b")) if has_year else ():
        for match in pattern.finditer("".join(blanked)):
            period = _period(match, tag)
            word = phrase_key(match["word"])
            if isinstance(period, str):
                bad(period)
            elif tag == "a" and found.start is None:
                found.start = period[1] + timedelta(days=1) if word == "after" else period[0]
                found.said["start"] = match[0].strip()
            elif tag == "b" and found.end is None:
                found.end = period[0] - timedelta(days=1) if word == "before" else period[1]
                found.said["end"] = match[0].strip()
            blank(match)
    for match in _RECENT.finditer("".join(blanked)):
        before = text[max(0, match.start() - 40) : match.start()]
        if match["lead"] and _WINDOW_BEFORE.search(before):
            continue  # "a lookback of the last 60 days" is the window, not the data
        count = int(match["n"] or match["n2"])
        found.days = count * _bars_per(match["unit"] or match["unit2"])
        found.said["days"] = match[0].strip(" ,;:(")
        blank(match)
        break
    if found.start and found.end and found.start > found.end:
        found.not_done.append(
            NotDone(
                f"dates '{found.said.get('start')}' .. '{found.said.get('end')}'",
                f"the start ({found.start}) is after the end ({found.end})",
            )
        )
    return found, "".join(blanked)
