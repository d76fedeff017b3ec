"""The working-day calendar, checked against chinese_calendar itself and the State Council notices."""
from __future__ import annotations

import ast
import json
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest
from hypothesis import given, settings, strategies as st

from engine.domain.calendar import WorkCalendar, default_calendar, load_cn_calendar
from engine.domain.errors import CalendarNotCovered

CAL = default_calendar()
LAST = date(2026, 12, 31)


def naive_add(start: date, n: int) -> date | None:
    """Day-by-day walk with chinese_calendar.is_workday; None when it would leave the covered years."""
    step, d, k = timedelta(days=1 if n > 0 else -1), start, abs(n)
    if n == 0:
        k, step, d = 1, timedelta(days=1), start - timedelta(days=1)
    while k:
        d += step
        if not date(2004, 1, 1) <= d <= LAST:
            return None
        k -= chinese_calendar.is_workday(d)
    return d


def test_covers_2004_to_2026():
    """The installed tables cover 2004 through 2026 and name their version."""
    assert (CAL.first_year, CAL.last_year) == (2004, 2026)
    assert CAL.version.startswith("chinesecalendar-")


def test_2026_has_248_working_days():
    """2026 has 248 working days, as the State Council notice gives."""
    assert CAL.working_days_between(date(2025, 12, 31), LAST) == 248


@pytest.mark.parametrize("d", ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"])
def test_2026_make_up_days_are_working_days(d):
    """Each 2026 make-up day (调休) is a working day although it falls on a weekend."""
    day = date.fromisoformat(d)
    assert day.weekday() >= 5 and CAL.is_workday(day)


def test_2026_spring_festival_is_off():
    """Every Spring Festival 2026 day in the table is a day off, and the weekdays around it are not."""
    festival = [d for d, name in chinese_calendar.constants.holidays.items()
                if d.year == 2026 and d.month == 2 and name == chinese_calendar.Holiday.spring_festival.value]
    assert min(festival) == date(2026, 2, 15) and max(festival) == date(2026, 2, 23)
    assert not any(CAL.is_workday(d) for d in festival)
    assert CAL.is_workday(date(2026, 2, 13)) and CAL.is_workday(date(2026, 2, 24))


def test_add_across_spring_festival_2026():
    """Adding working days across Spring Festival 2026 skips the holiday and counts Saturday 02-14 and 02-28."""
    # Hand-checked from the notice: Fri 02-13 +1 is the make-up Saturday 02-14, +2 is Tue 02-24.
    assert CAL.add_working_days(date(2026, 2, 13), 1) == (date(2026, 2, 14), False)
    assert CAL.add_working_days(date(2026, 2, 13), 2) == (date(2026, 2, 24), False)
    for start in (date(2026, 2, 9) + timedelta(days=i) for i in range(10)):
        for n in (1, 5, 10, -3):
            assert CAL.add_working_days(start, n) == (naive_add(start, n), False)


@settings(max_examples=400, deadline=None)
@given(st.dates(date(2004, 1, 1), LAST), st.integers(-60, 60))
def test_add_agrees_with_day_by_day_walk(start, n):
    """add_working_days matches a day-by-day walk over chinese_calendar.is_workday within the covered years."""
    expected = naive_add(start, n)
    if expected is not None:
        assert CAL.add_working_days(start, n) == (expected, False)


@settings(max_examples=300, deadline=None)
@given(st.dates(date(2004, 3, 1), date(2027, 12, 31)), st.integers(1, 60))
def test_add_then_subtract_returns_to_last_working_day(start, n):
    """Going n working days forward and back lands on the last working day not after start."""
    there, _ = CAL.add_working_days(start, n)
    back, _ = CAL.add_working_days(there, -n)
    assert back <= start and CAL.is_workday(back)
    assert all(not CAL.is_workday(back + timedelta(days=i)) for i in range(1, (start - back).days + 1))
    assert CAL.working_days_between(start, there) == n


@settings(max_examples=200, deadline=None)
@given(st.dates(date(2004, 1, 1), date(2028, 12, 31)), st.dates(date(2004, 1, 1), date(2028, 12, 31)))
def test_working_days_between_counts_days(a, b):
    """working_days_between counts working days in (a, b], negated when b is before a."""
    lo, hi = min(a, b), max(a, b)
    count = sum(CAL.is_workday(lo + timedelta(days=i)) for i in range(1, (hi - lo).days + 1))
    assert CAL.working_days_between(a, b) == (count if a <= b else -count)


def test_zero_days_is_start_or_next_working_day():
    """Adding zero working days keeps a working day and moves a day off to the next working day."""
    assert CAL.add_working_days(date(2026, 2, 13), 0) == (date(2026, 2, 13), False)
    assert CAL.add_working_days(date(2026, 2, 15), 0) == (date(2026, 2, 24), False)


def test_crossing_into_2027_is_provisional():
    """A deadline from late December 2026 runs into 2027 by the provisional rule and is marked so."""
    assert not CAL.is_workday(date(2027, 1, 1)) and not CAL.is_workday(date(2027, 1, 2))
    assert CAL.is_workday(date(2027, 1, 4)) and CAL.is_provisional(date(2027, 1, 4))
    assert CAL.add_working_days(date(2026, 12, 30), 1) == (date(2026, 12, 31), False)
    assert CAL.add_working_days(date(2026, 12, 30), 2) == (date(2027, 1, 4), True)
    assert CAL.add_working_days(date(2026, 12, 30), 10) == (date(2027, 1, 14), True)
    assert CAL.add_working_days(date(2027, 1, 4), -1) == (date(2026, 12, 31), True)
    assert CAL.add_working_days(date(2027, 1, 1), -1) == (date(2026, 12, 31), False)
    assert not CAL.is_workday(date(2027, 10, 1)) and not CAL.is_workday(date(2027, 5, 1))


def test_before_2004_is_refused():
    """Dates before 2004 raise CalendarNotCovered naming the date and the covered years."""
    with pytest.raises(CalendarNotCovered, match=r"2003-12-31.*2004-2026"):
        CAL.is_workday(date(2003, 12, 31))
    with pytest.raises(CalendarNotCovered):
        CAL.add_working_days(date(2003, 6, 1), 5)
    with pytest.raises(CalendarNotCovered):
        CAL.add_working_days(date(2004, 1, 5), -5)


def test_calendar_days_need_no_calendar():
    """Adding calendar days ignores holidays and is never provisional."""
    assert CAL.add_calendar_days(date(2026, 12, 30), 5) == (date(2027, 1, 4), False)


def test_round_trip_through_json():
    """A calendar stored as JSON and rebuilt is equal, with the same content hash and the same answers."""
    data = json.loads(json.dumps(CAL.to_data()))
    again = WorkCalendar.from_data(data)
    assert again == CAL and again.content_hash == CAL.content_hash
    assert again.add_working_days(date(2026, 2, 13), 2) == CAL.add_working_days(date(2026, 2, 13), 2)
    assert load_cn_calendar().content_hash == CAL.content_hash


def test_content_hash_changes_with_a_day():
    """Changing one day changes the content hash; changing only the version string does not."""
    data = CAL.to_data()
    moved = dict(data, holidays=[*data["holidays"], "2026-12-31"])
    assert WorkCalendar.from_data(moved).content_hash != CAL.content_hash
    assert WorkCalendar.from_data(dict(data, version="x")).content_hash == CAL.content_hash


def test_rejects_inconsistent_data():
    """Stored data with a weekend 'holiday' is refused instead of silently misread."""
    data = CAL.to_data()
    with pytest.raises(ValueError):
        WorkCalendar.from_data(dict(data, holidays=[*data["holidays"], "2026-12-26"]))


def test_module_is_pure():
    """The calendar imports no database, CLI or scheduler library and never reads the clock."""
    source = Path(__file__).parent.parent.joinpath("engine", "domain", "calendar.py").read_text(encoding="utf-8")
    imported = {a.name.split(".")[0] for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Import)
                for a in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(ast.parse(source))
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert not imported & {"sqlalchemy", "sqlmodel", "click", "apscheduler", "time"}
    assert not any(s in source for s in ("now(", "today(", "time.time", "utcnow"))
