"""Time, passed in: a `Clock` gives the engine's `now`; users think in Asia/Shanghai, storage is UTC.

`FixedClock` serves `--now` (drills, back-filled paper ledgers, tests). `SystemClock` is the one edge that
reads the wall clock; `recorded_now` beside it stamps the real recording time on every event, so an
effective time supplied by a user can never hide when something was actually written.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Protocol

from engine.domain.errors import InvalidInput
from engine.domain.limits import check_year, shown

# The rules' fixed UTC+8 (China Standard Time), not the tz database's Asia/Shanghai: that one gives local
# mean time (+08:05:43) before 1901 and the daylight saving of 1986-1991. Exact for the years accepted.
SHANGHAI = timezone(timedelta(hours=8), "CST")
UTC = timezone.utc


class Clock(Protocol):
    def now(self) -> datetime: ...


class FixedClock:
    def __init__(self, at: datetime):
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, **delta) -> None:
        self.at = self.at + timedelta(**delta)


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


# How offices write a day or a moment, besides ISO 8601: 2026/3/5, 2026.3.5, 2026年3月5日 (or 号), with a time
# 9:30, 9时30分; 20260305. Read after full-width forms are folded (２０２６－０３－０５). Seconds' fractions are dropped.
_ISO_DAY = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")
_WRITTEN = re.compile(
    r"^([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*[日号]?"
    r"(?:(?:\s+|T|\s*)([0-9]{1,2})\s*[:时点]\s*([0-9]{1,2})(?:\s*[:分]\s*([0-9]{1,2})(?:\.[0-9]{1,6})?)?\s*[秒分]?)?$")
_COMPACT = re.compile(r"^([0-9]{4})([0-9]{2})([0-9]{2})$")
EXAMPLES = "e.g. 2026-03-05, 2026/3/5, 2026年3月5日, 2026-03-05T09:30"


def written_time(text: str) -> date | datetime | None:
    """The day (a date) or the moment (an aware datetime; Asia/Shanghai when no offset is given) that `text`
    writes, in any form offices use; None when it is none of them. ValueError when it has the form of a date
    but names none (2026-02-30, 25:00). The years are not checked here: each reader says so in its own words."""
    text = text.strip()
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).strip()
    match = _ISO_DAY.match(text)  # the common case, first
    if match:
        return date(int(match[1]), int(match[2]), int(match[3]))
    match = _WRITTEN.match(text)
    if match:
        y, m, d, hh, mm, ss = (int(g) if g else None for g in match.groups())
        if hh is None:
            return date(y, m, d)
        return datetime(y, m, d, hh, mm or 0, ss or 0, tzinfo=SHANGHAI)
    match = _COMPACT.match(text)
    if match:
        return date(int(match[1]), int(match[2]), int(match[3]))
    if len(text) > 40 or not text[:4].isdigit():
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=SHANGHAI)


def _written(text: str, field: str, what: str):
    try:
        return written_time(text)
    except ValueError:
        raise InvalidInput(f"{field}: {shown(text)} is not a real {what}", field=field) from None


def parse_time(text: str, *, field: str = "time") -> datetime:
    """A moment as users write it: `2026-03-02T09:00`, `2026-03-02 09:00+08:00`, `2026/3/2 9:00`, `2026年3月2日`
    (a day is its first instant); naive values are Shanghai time, an offset given is kept."""
    text = text.strip()
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))  # what the engine itself stores, first
    except ValueError:
        found = _written(text, field, "date or time")
        if found is None:
            raise InvalidInput(f"{field}: {shown(text)} is not a date or time ({EXAMPLES})", field=field) from None
        value = found if isinstance(found, datetime) else datetime.combine(found, time(0))
    check_year(value, field=field, text=text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=SHANGHAI)
    return value


def local(at: datetime) -> datetime:
    return at.astimezone(SHANGHAI)


def local_date(at: datetime) -> date:
    return at.astimezone(SHANGHAI).date()


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=SHANGHAI)


def parse_day(text: str, name: str = "date") -> date:
    """A day as users write it in options: `2026-03-05`, `2026/3/5`, `2026年3月5日`, `20260305`."""
    text = text.strip()
    day = _written(text, name, "date")
    if not isinstance(day, date) or isinstance(day, datetime):
        raise InvalidInput(f"{name}: {shown(text)} is not a day ({EXAMPLES.rsplit(', ', 1)[0]})", field=name)
    check_year(day, field=name, text=text)
    return day


def end_of_day(day: date) -> datetime:
    """A deadline date means 'by the end of that day' in Shanghai: the first instant of the next day."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=SHANGHAI)


@lru_cache(maxsize=4096)  # replaying a province's log reads the same few deadlines millions of times
def deadline_instant(value: str) -> datetime:
    """The instant a stored deadline value (a date or an ISO time) is missed."""
    if len(value) == 10:
        return end_of_day(date.fromisoformat(value))
    return parse_time(value)


_UTC_ISO: dict[datetime, str] = {}


def utc_iso(at: datetime) -> str:
    """An instant as UTC ISO text, seconds only when they are whole (`isoformat`), as clock states and a report's
    found_at keep it. Remembered by instant (equal instants give the same text, whatever their zone), as
    `events.utc_text` is: an import or a replay folds the same few thousand dates again and again, and
    `isoformat` costs more than the lookup."""
    text = _UTC_ISO.get(at)
    return text if text is not None else _remembered_iso(_UTC_ISO, at, UTC)


_ISO: dict[datetime, str] = {}


def iso(at: datetime | None) -> str | None:
    """An instant as Shanghai ISO text, the form users read and JSON carries. Remembered by instant, as `utc_iso`
    is: an import writes the due time of every rung it skips, a few hundred days over 100,000 rows."""
    if not at:
        return None
    text = _ISO.get(at)
    return text if text is not None else _remembered_iso(_ISO, at, SHANGHAI)


def _remembered_iso(texts: dict, at: datetime, zone) -> str:
    """`at`'s ISO text in `zone`, kept in `texts` (bounded: cleared past 20,000 instants)."""
    if len(texts) > 20_000:
        texts.clear()
    text = at.astimezone(zone).isoformat()
    if at.tzinfo is not None:  # a naive time would be taken as local time: never remembered
        texts[at] = text
    return text


def iso_seconds(at: datetime) -> str:
    """An instant as a message names it: Shanghai ISO to the second (the real clock's microseconds are noise)."""
    return at.astimezone(SHANGHAI).replace(microsecond=0).isoformat()
