"""How one hazard counts at a moment (the rules the SQL follows), and report periods as offices name them."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from hypothesis import given, strategies as st

from engine.domain.case import Case
from engine.reports import periods
from engine.reports.tally import CaseScope, overdue_at, tally

BASE = datetime(2026, 3, 1, tzinfo=timezone.utc)
moments = st.one_of(st.none(), st.integers(0, 60).map(lambda d: BASE + timedelta(days=d)))


@given(due=moments, paused=moments, met=moments, rectified=moments, closed=moments, later=st.integers(0, 30))
def test_after_the_last_event_overdue_at_is_case_overdue(due, paused, met, rectified, closed, later):
    """Looked at after everything that happened to it, a case is overdue exactly when `Case.overdue` says so."""
    case = Case(id="HZ-2026-000001", workflow="major-hazard", workflow_version=1, state="rectifying", due_at=due,
                paused_at=paused, met_at=met, rectified_at=rectified, closed_at=closed, is_final=closed is not None)
    at = max([m for m in (due, paused, met, rectified, closed) if m] + [BASE]) + timedelta(days=later)
    assert overdue_at(case, at) == case.overdue(at)


def test_looked_at_before_its_rectification_a_case_is_still_open_and_overdue():
    """Rectified on 03-20 after a deadline due 03-11: overdue on 03-15, rectified late on 03-21."""
    case = Case(id="x", workflow="w", workflow_version=1, state="verified", due_at=datetime(2026, 3, 11, tzinfo=timezone.utc),
                met_at=datetime(2026, 3, 20, tzinfo=timezone.utc), rectified_at=datetime(2026, 3, 20, tzinfo=timezone.utc))
    on_15 = tally([case], columns=(), at=datetime(2026, 3, 15, tzinfo=timezone.utc))[()]
    on_21 = tally([case], columns=(), at=datetime(2026, 3, 21, tzinfo=timezone.utc))[()]
    assert (on_15.rectified, on_15.overdue) == (0, 1)
    assert (on_21.rectified, on_21.overdue, on_21.rectified_on_time) == (1, 0, 0)


def test_the_scope_keeps_hazards_only_and_what_they_were_reported_with():
    """Linked cases are never counted; region, level, industry, period and tag narrow as written."""
    found = datetime(2026, 3, 5, tzinfo=timezone.utc)
    case = Case(id="x", workflow="w", workflow_version=1, state="s", region="371721", level="major", industry="工贸",
                found_at=found, fields={"tag": "spring"})
    assert CaseScope(region="3717", levels=("major",), industries=("工贸",), found_from=found,
                     found_to=found + timedelta(seconds=1), tag="spring").matches(case)
    assert not CaseScope(region="3718").matches(case) and not CaseScope(found_to=found).matches(case)
    assert not CaseScope(tag="autumn").matches(case)
    assert not CaseScope().matches(Case(id="y", workflow="interview", workflow_version=1, state="s", parent_id="x"))


def test_periods_are_named_as_offices_name_them():
    """Weeks run Monday to Sunday, quarters in Chinese numerals; the previous period is the one before."""
    week = periods.period_of("week", date(2018, 10, 31))
    assert (week.start, week.end, week.label) == (date(2018, 10, 29), date(2018, 11, 4), "2018年第44周（10月29日至11月4日）")
    month = periods.period_of("month", date(2024, 2, 10))
    assert (month.end, month.label) == (date(2024, 2, 29), "2024年2月")
    quarter = periods.period_of("quarter", date(2018, 11, 15))
    assert (quarter.start, quarter.end, quarter.label) == (date(2018, 10, 1), date(2018, 12, 31), "2018年第四季度")
    assert periods.previous(periods.period_of("quarter", date(2019, 1, 1))) == quarter
    assert periods.previous(periods.period_of("month", date(2019, 1, 5))).label == "2018年12月"
