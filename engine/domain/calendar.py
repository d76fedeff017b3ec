"""The working-day calendar: which days count when a deadline is given in working days.

Inside the covered years the official tables decide, including make-up working days (调休).
Past the last covered year no notice exists yet, so the provisional rule applies: Mon-Fri are working
days except the fixed-date holidays (Jan 1; May 1-2; Oct 1-3), and every result that depends on such a day
is marked provisional, so the engine can recompute it once a newer calendar is installed. It never guesses
silently. Before the first covered year it refuses with `CalendarNotCovered`.
"""
from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass, field
from datetime import date, timedelta

from engine.domain.errors import CalendarNotCovered
from engine.domain.events import data_hash

# Fixed by law every year; the movable ones (Spring Festival, Qingming, ...) and all 调休 need the notice.
PROVISIONAL_FIXED_HOLIDAYS: frozenset[tuple[int, int]] = frozenset(
    {(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)})

_ONE_DAY = timedelta(days=1)


def _is_weekday(d: date) -> bool:
    return d.weekday() < 5


@dataclass(frozen=True)
class WorkCalendar:
    name: str
    version: str
    first_year: int
    last_year: int
    holidays: frozenset[date] = field(repr=False)  # days off on Mon-Fri
    workdays: frozenset[date] = field(repr=False)  # make-up working days on Sat/Sun
    # Every working day of the covered years, sorted: adding N working days becomes one bisect.
    _table: tuple[date, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.first_year > self.last_year:
            raise ValueError(f"calendar {self.name}: first_year {self.first_year} > last_year {self.last_year}")
        # A stored calendar may be rebuilt from a database; reject data that the lookup below would misread.
        for d in self.holidays | self.workdays:
            if not self.first_year <= d.year <= self.last_year:
                raise ValueError(f"calendar {self.name}: {d} lies outside {self.first_year}-{self.last_year}")
        if bad := sorted(d for d in self.holidays if not _is_weekday(d)):
            raise ValueError(f"calendar {self.name}: holidays on a weekend: {bad[:3]}")
        if bad := sorted(d for d in self.workdays if _is_weekday(d)):
            raise ValueError(f"calendar {self.name}: make-up working days on Mon-Fri: {bad[:3]}")
        days, d, end = [], self._first_day, date(self.last_year, 12, 31)
        while d <= end:
            if self._covered_workday(d):
                days.append(d)
            d += _ONE_DAY
        object.__setattr__(self, "_table", tuple(days))

    @property
    def _first_day(self) -> date:
        return date(self.first_year, 1, 1)

    def _covered_workday(self, d: date) -> bool:
        return d in self.workdays if not _is_weekday(d) else d not in self.holidays

    def _check(self, d: date) -> None:
        if d.year < self.first_year:
            raise CalendarNotCovered(
                f"{d.isoformat()} lies before the working-day calendar {self.name} ({self.version}), "
                f"which covers {self.first_year}-{self.last_year}")

    # -- single days ---------------------------------------------------------------------------------
    def is_provisional(self, d: date) -> bool:
        return d.year > self.last_year

    def is_workday(self, d: date) -> bool:
        self._check(d)
        if self.is_provisional(d):
            return _is_weekday(d) and (d.month, d.day) not in PROVISIONAL_FIXED_HOLIDAYS
        return self._covered_workday(d)

    # -- arithmetic ----------------------------------------------------------------------------------
    def add_working_days(self, start: date, n: int) -> tuple[date, bool]:
        """The n-th working day after `start` (n < 0: before it; n == 0: start or the next working day).

        The flag is True when the answer depends on any day past `last_year`, i.e. on the provisional rule.
        """
        self._check(start)
        if n == 0:
            return (start, self.is_provisional(start)) if self.is_workday(start) else self.add_working_days(start, 1)
        table = self._table
        if n > 0:
            if not self.is_provisional(start):
                i = bisect.bisect_right(table, start) + n - 1
                if i < len(table):
                    return table[i], False
                n = i - len(table) + 1
                start = date(self.last_year, 12, 31)
            return self._walk(start, n, _ONE_DAY), True
        # Backwards: every day examined lies strictly before start, so only days past last_year are provisional.
        k = -n
        provisional = start > date(self.last_year + 1, 1, 1)
        if self.is_provisional(start):
            boundary = date(self.last_year + 1, 1, 1)
            d = start
            while d > boundary and k:
                d -= _ONE_DAY
                k -= self.is_workday(d)
            if not k:
                return d, provisional
            start = boundary
        i = bisect.bisect_left(table, start) - k
        if i < 0:
            raise CalendarNotCovered(
                f"counting {-n} working days back from {start.isoformat()} passes the start of the "
                f"working-day calendar {self.name} ({self.first_year}-{self.last_year})")
        return table[i], provisional

    def _walk(self, d: date, k: int, step: timedelta) -> date:
        # Only for the provisional years, which hold no table; deadlines are short, so the walk stays short.
        while k:
            d += step
            k -= self.is_workday(d)
        return d

    def add_calendar_days(self, start: date, n: int) -> tuple[date, bool]:
        """`start` plus n calendar days; never provisional, since calendar days need no holiday table."""
        return start + timedelta(days=n), False

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in (a, b]; negative (minus those in (b, a]) when b < a, e.g. for days early or late."""
        return self._rank(b) - self._rank(a)

    def _rank(self, d: date) -> int:
        """Working days from the first covered day up to and including d."""
        self._check(d)
        if not self.is_provisional(d):
            return bisect.bisect_right(self._table, d)
        # Past the table the rule is arithmetic: weekdays minus fixed holidays on weekdays, no walk needed.
        first = date(self.last_year + 1, 1, 1)
        days = (d - first).days + 1
        weeks, rest = divmod(days, 7)
        weekdays = weeks * 5 + sum(_is_weekday(first + timedelta(days=weeks * 7 + j)) for j in range(rest))
        fixed = sum(1 for y in range(first.year, d.year + 1) for m, dd in PROVISIONAL_FIXED_HOLIDAYS
                    if date(y, m, dd) <= d and _is_weekday(date(y, m, dd)))
        return len(self._table) + weekdays - fixed

    # -- storage -------------------------------------------------------------------------------------
    def to_data(self) -> dict:
        return {
            "name": self.name,
            "version": self.version,
            "first_year": self.first_year,
            "last_year": self.last_year,
            "holidays": sorted(d.isoformat() for d in self.holidays),
            "workdays": sorted(d.isoformat() for d in self.workdays),
        }

    @classmethod
    def from_data(cls, data: dict) -> WorkCalendar:
        return cls(
            name=data["name"],
            version=data["version"],
            first_year=int(data["first_year"]),
            last_year=int(data["last_year"]),
            holidays=frozenset(date.fromisoformat(s) for s in data["holidays"]),
            workdays=frozenset(date.fromisoformat(s) for s in data["workdays"]),
        )

    @functools.cached_property
    def content_hash(self) -> str:
        """sha256 of the days themselves; `version` is left out so a library upgrade that changes no day keeps it."""
        return data_hash({k: v for k, v in self.to_data().items() if k != "version"})


def load_cn_calendar() -> WorkCalendar:
    """The mainland China calendar from the installed chinesecalendar tables."""
    from importlib.metadata import version

    from chinese_calendar import constants

    years = {d.year for d in constants.holidays} | {d.year for d in constants.workdays}
    # The library also lists days off that fall on weekends; only Mon-Fri ones change the weekly rule.
    return WorkCalendar(
        name="cn-mainland",
        version=f"chinesecalendar-{version('chinesecalendar')}",
        first_year=min(years),
        last_year=max(years),
        holidays=frozenset(d for d in constants.holidays if _is_weekday(d)),
        workdays=frozenset(d for d in constants.workdays if not _is_weekday(d)),
    )


@functools.cache
def default_calendar() -> WorkCalendar:
    return load_cn_calendar()
