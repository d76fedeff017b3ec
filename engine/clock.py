"""Time, passed in: a `Clock` gives the engine's `now`; users think in Asia/Shanghai, storage is UTC.

`FixedClock` serves `--now` (drills, back-filled paper ledgers, tests). `SystemClock` is the one edge that
reads the wall clock; `recorded_now` beside it stamps the real recording time on every event, so an
effective time supplied by a user can never hide when something was actually written.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Protocol

from engine.errors import InvalidInput
from engine.limits import check_year, shown

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


def parse_time(text: str, *, field: str = "time") -> datetime:
    """`2026-03-02`, `2026-03-02T09:00` or `2026-03-02 09:00+08:00`; naive values are Shanghai time."""
    text = text.strip()
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{shown(text)} is not a date or ISO 8601 time (e.g. 2026-03-02T09:00)",
                           field=field) from None
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
    """A day as users write it in options: `2026-03-05` (or `20260305`)."""
    text = text.strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{name} {shown(text)} is not a date (YYYY-MM-DD)", field=name) from None
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


def iso(at: datetime | None) -> str | None:
    """An instant as Shanghai ISO text, the form users read and JSON carries."""
    return at.astimezone(SHANGHAI).isoformat() if at else None
