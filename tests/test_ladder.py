"""Ladder arithmetic, pure: when each rung is due (calendar and working days) and what a late sweep decides.

Expected due times come from an independent day-by-day walk over `chinese_calendar.is_workday`, never from
the engine's own calendar table. The working-day definition is tests/definitions/escalation/working-days.yaml.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import chinese_calendar
import pytest
from hypothesis import example, given, settings, strategies as st

from engine.domain.calendar import PROVISIONAL_FIXED_HOLIDAYS, default_calendar
from engine.domain.clock import SHANGHAI, local_date
from engine.domain.definition.model import Rung
from engine.domain.escalation import clocks
from engine.domain.escalation.ladder import Deadline, DueRung, plan, rung_due, triage
from engine.domain.events import Event
from engine.app.registry import load_definition

HERE = Path(__file__).parent
CAL = default_calendar()
LAST_COVERED = date(2026, 12, 31)


def definition(path: Path):
    return load_definition(path.read_text(encoding="utf-8"), str(path))


MAJOR = definition(HERE.parent / "workflows" / "major-hazard.yaml")
WORKING = definition(HERE / "definitions" / "escalation" / "working-days.yaml")


def end_of(day: date) -> datetime:
    """A date deadline is missed at the end of that day in Shanghai: 00:00 of the next day."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=SHANGHAI)


def is_workday(d: date) -> bool:
    """The official table for covered years; past them weekdays minus the fixed-date holidays (provisional)."""
    if d <= LAST_COVERED:
        return chinese_calendar.is_workday(d)
    return d.weekday() < 5 and (d.month, d.day) not in PROVISIONAL_FIXED_HOLIDAYS


def walk(start: date, n: int) -> tuple[date, bool]:
    """The n-th working day after (n > 0) or before (n < 0) `start`, counted day by day; and whether any
    day examined lies past the covered years."""
    step, d, k, beyond = timedelta(days=1 if n > 0 else -1), start, abs(n), False
    while k:
        d += step
        beyond = beyond or d > LAST_COVERED
        k -= is_workday(d)
    return d, beyond


def running(started: str, **extra) -> dict:
    return {"cycle": 1, "status": "running", "started_at": started, "paused_at": None, "paused_seconds": 0,
            "until": None, **extra}


def due_of(planned, rung: str) -> datetime:
    return next(p.due_at for p in planned if p.rung == rung)


def planned_of(d, clock_states: dict, fields: dict, fired=()) -> dict:
    return {p.rung: p for p in plan(d, clock_states, fields, fired, CAL)}


# -- calendar days --------------------------------------------------------------------------------------------

def test_major_hazard_ladder_in_calendar_days():
    """With a 2026-04-30 deadline the default ladder is due at the end of 04-27, 04-30, 05-07, 05-15 and 05-30."""
    planned = planned_of(MAJOR, {"rectification": running("2026-03-03T01:00:00+00:00")}, {"deadline": "2026-04-30"})
    expected = {"yellow-warning": date(2026, 4, 27), "red-warning": date(2026, 4, 30), "notice": date(2026, 4, 30),
                "interview": date(2026, 5, 7), "posted-supervision": date(2026, 5, 15),
                "exposure": date(2026, 5, 30), "suspension": date(2026, 5, 30)}
    assert {name: p.due_at for name, p in planned.items()} == {name: end_of(d) for name, d in expected.items()}
    assert all(p.status == "pending" and not p.provisional for p in planned.values())


@settings(max_examples=300, deadline=None)
@given(st.dates(date(2005, 1, 1), date(2030, 12, 31)), st.integers(-60, 60))
def test_calendar_day_rungs_ignore_holidays(deadline, n):
    """`N days before/after` a date deadline is due at the end of D±N, holidays or not, and never provisional."""
    due, provisional = rung_due(Deadline.of(deadline.isoformat()), Rung("r", "c", "remind", n), CAL)
    assert due == end_of(deadline + timedelta(days=n)) and not provisional


def test_time_deadline_keeps_its_time_of_day():
    """A deadline given as a time keeps that time of day: `3 days before` 2026-04-30T17:30 is 2026-04-27T17:30."""
    due, _ = rung_due(Deadline.of("2026-04-30T17:30:00+08:00"), Rung("r", "c", "remind", -3), CAL)
    assert due == datetime(2026, 4, 27, 17, 30, tzinfo=SHANGHAI)


# -- working days, across the 2026 Spring Festival --------------------------------------------------------------

@pytest.mark.parametrize("deadline, rung, due_day", [
    # Fri 02-13: the make-up Saturday 02-14 is the first working day after it, then Tue 02-24.
    ("2026-02-13", "late", "2026-02-27"),
    ("2026-02-13", "early", "2026-02-10"),
    # Tue 02-24, first day back: counting back jumps the whole holiday to Sat 02-14, Fri 02-13, Thu 02-12.
    ("2026-02-24", "early", "2026-02-12"),
    # ...and forwards it counts the make-up Saturday 02-28.
    ("2026-02-24", "late", "2026-03-02"),
    # A deadline inside the holiday (Mon 02-16): after it 02-24..02-27 and the make-up Saturday 02-28;
    # before it the make-up Saturday 02-14, then 02-13 and 02-12.
    ("2026-02-16", "late", "2026-02-28"),
    ("2026-02-16", "early", "2026-02-12"),
    # Calendar days run straight through the holiday.
    ("2026-02-13", "late-calendar", "2026-02-23"),
    ("2026-02-13", "due", "2026-02-13"),
])
def test_working_day_rungs_across_spring_festival(deadline, rung, due_day):
    """Working-day rungs skip the Spring Festival days off and count the make-up Saturdays 02-14 and 02-28."""
    planned = planned_of(WORKING, {"fixing": running("2026-02-01T01:00:00+00:00")}, {"deadline": deadline})
    assert planned[rung].due_at == end_of(date.fromisoformat(due_day))
    assert not planned[rung].provisional


@settings(max_examples=400, deadline=None)
@given(st.dates(date(2005, 1, 1), date(2026, 11, 30)), st.integers(1, 20), st.booleans())
@example(date(2026, 2, 13), 1, False)
@example(date(2026, 2, 24), 3, True)
@example(date(2026, 2, 27), 1, False)
def test_working_day_rungs_agree_with_day_by_day_count(deadline, n, before):
    """`N working days before/after` D is due at the end of the N-th working day counted day by day."""
    offset = -n if before else n
    due, provisional = rung_due(Deadline.of(deadline.isoformat()), Rung("r", "c", "remind", offset, working=True), CAL)
    day, _ = walk(deadline, offset)
    assert (due, provisional) == (end_of(day), False)


@settings(max_examples=300, deadline=None)
@given(st.datetimes(datetime(2005, 1, 1), datetime(2026, 11, 30, 23, 59)), st.integers(1, 20))
@example(datetime(2026, 2, 12, 10, 0), 5)
def test_working_day_duration_clock_keeps_time_of_day(start, n):
    """A clock of `N working days` started at T is due on the N-th working day after T's day, at T's time."""
    from engine.domain.definition.model import ClockSpec, Duration
    from engine.domain.escalation.ladder import clock_deadline

    start = start.replace(tzinfo=SHANGHAI)
    spec = ClockSpec("review", start=("submit",), duration=Duration(n, working=True))
    deadline, provisional = clock_deadline(spec, running(start.isoformat()), {}, CAL)
    day, _ = walk(start.date(), n)
    assert deadline.instant() == datetime.combine(day, start.time(), tzinfo=SHANGHAI) and not provisional


def test_review_clock_of_five_working_days_across_spring_festival():
    """Started Thu 2026-02-12 10:00, five working days end Thu 02-26 10:00 (02-13, 02-14, 02-24, 02-25, 02-26)."""
    planned = planned_of(WORKING, {"review": running("2026-02-12T10:00:00+08:00")}, {})
    assert planned["review-late"].due_at == datetime(2026, 2, 26, 10, 0, tzinfo=SHANGHAI)


# -- past the covered years: provisional ----------------------------------------------------------------------

def test_rungs_counted_into_2027_are_provisional():
    """From a 2026-12-28 deadline, `5 working days after` is 2027-01-05 (provisional), calendar days are not."""
    planned = planned_of(WORKING, {"fixing": running("2026-12-01T01:00:00+00:00")}, {"deadline": "2026-12-28"})
    assert (planned["late"].due_at, planned["late"].provisional) == (end_of(date(2027, 1, 5)), True)
    assert (planned["late-calendar"].due_at, planned["late-calendar"].provisional) == (end_of(date(2027, 1, 7)), False)
    assert (planned["early"].due_at, planned["early"].provisional) == (end_of(date(2026, 12, 23)), False)
    assert not planned["due"].provisional


def test_duration_clock_running_into_2027_makes_its_rungs_provisional():
    """A 5-working-day clock started Mon 2026-12-28 ends Tue 2027-01-05 (New Year's Day off) and says so."""
    planned = planned_of(WORKING, {"review": running("2026-12-28T10:00:00+08:00")}, {})
    assert planned["review-late"].due_at == datetime(2027, 1, 5, 10, 0, tzinfo=SHANGHAI)
    assert planned["review-late"].provisional


@settings(max_examples=300, deadline=None)
@given(st.dates(date(2026, 9, 1), date(2028, 6, 30)), st.integers(1, 30), st.booleans())
@example(date(2027, 1, 6), 3, True)
@example(date(2026, 12, 30), 2, False)
def test_provisional_exactly_when_the_count_leaves_the_covered_years(deadline, n, before):
    """Past 2026 weekdays minus the fixed-date holidays count, and the due time is provisional iff it depends
    on such a day."""
    offset = -n if before else n
    due, provisional = rung_due(Deadline.of(deadline.isoformat()), Rung("r", "c", "remind", offset, working=True), CAL)
    day, beyond = walk(deadline, offset)
    assert due == end_of(day)
    assert provisional == beyond


# -- pause and extension ------------------------------------------------------------------------------------

def _event(trigger: str, at: datetime, to_state: str = "fixing", data: dict | None = None) -> Event:
    return Event(case_id="HZ-2026-000001", seq=1, trigger=trigger, from_state="fixing", to_state=to_state,
                 actor="x", role="supervisor", at=at, recorded_at=at, data=data or {})


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 60 * 86400), st.lists(st.integers(1, 20 * 86400), min_size=1, max_size=4),
       st.lists(st.integers(0, 5 * 86400), min_size=4, max_size=4))
def test_pause_moves_every_rung_later_by_the_paused_time(first, pauses, gaps):
    """After pause/resume cycles every rung of the clock is due later by exactly the total time paused."""
    assigned = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
    states = clocks.advance({}, _event("assign", assigned), WORKING)
    fields = {"deadline": "2026-04-30"}
    before = planned_of(WORKING, states, fields)
    at = assigned + timedelta(seconds=first)
    for paused, gap in zip(pauses, gaps):
        states = clocks.advance(states, _event("submit", at, "checking"), WORKING)
        assert all(p.status == "paused" for name, p in planned_of(WORKING, states, fields).items()
                   if name != "review-late")
        at += timedelta(seconds=paused)
        states = clocks.advance(states, _event("reject", at), WORKING)
        at += timedelta(seconds=gap)
    after = planned_of(WORKING, states, fields)
    shift = timedelta(seconds=sum(pauses))
    for name in ("early", "due", "late", "late-calendar"):
        assert after[name].status == "pending"
        assert after[name].due_at == before[name].due_at + shift


def test_extension_rebases_every_unfired_rung_and_leaves_fired_ones_out():
    """An extension to 2026-06-30 moves every rung to the new deadline; a rung already fired is not planned again."""
    states = clocks.advance({}, _event("assign", datetime(2026, 3, 2, 9, tzinfo=SHANGHAI)), MAJOR)
    states = clocks.advance(states, _event("extend", datetime(2026, 4, 28, 9, tzinfo=SHANGHAI),
                                           data={"clock": "rectification", "until": "2026-06-30"}), MAJOR)
    planned = planned_of(MAJOR, states, {"deadline": "2026-06-30"}, fired=(("rectification", 1, "yellow-warning"),))
    assert "yellow-warning" not in planned
    assert planned["red-warning"].due_at == end_of(date(2026, 6, 30))
    assert planned["interview"].due_at == end_of(date(2026, 7, 7))
    assert planned["suspension"].due_at == end_of(date(2026, 7, 30))


# -- triage: what a late sweep decides ------------------------------------------------------------------------

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=SHANGHAI)


def due_rung(i: int, case: str, cycle: int, minutes_ago: int, missed: str, offset: int = 0) -> DueRung:
    rung = Rung(f"r{i}", "c", "remind", offset, missed=missed)
    return DueRung(i, case, "c", cycle, rung, NOW - timedelta(minutes=minutes_ago))


def due_lists(policies=st.sampled_from(["fire", "skip", "highest"]), minutes=st.integers(0, 60 * 24 * 60)):
    item = st.tuples(st.sampled_from(["HZ-A", "HZ-B"]), st.integers(1, 2), minutes, policies, st.integers(-5, 30))
    return st.lists(item, min_size=1, max_size=25).map(
        lambda items: [due_rung(i, case, cycle, m, missed, off) for i, (case, cycle, m, missed, off) in enumerate(items)])


def decisions(due, grace):
    result = triage(due, NOW, grace)
    return {id(t.due): t.decision for t in result}, result


def missed_at(item, grace) -> bool:
    """Missed: past its grace and past the day (Asia/Shanghai) it fell due on."""
    return NOW - item.due_at > timedelta(minutes=grace) and local_date(item.due_at) < local_date(NOW)


@settings(max_examples=400, deadline=None)
@given(due_lists(), st.integers(0, 180))
def test_every_due_rung_gets_exactly_one_decision(due, grace):
    """Each due rung comes back exactly once, as fire or skip, and on-time rungs always fire; every skip says
    why."""
    decided, result = decisions(due, grace)
    assert sorted(id(t.due) for t in result) == sorted(id(item) for item in due)
    assert set(decided.values()) <= {"fire", "skip"}
    assert all(t.reason for t in result if t.decision == "skip")
    for item in due:
        missed = missed_at(item, grace)
        if not missed:
            assert decided[id(item)] == "fire"
        elif item.rung.missed == "fire":
            assert decided[id(item)] == "fire"
        elif item.rung.missed == "skip":
            assert decided[id(item)] == "skip"


def _check_highest(due, grace):
    decided, _ = decisions(due, grace)
    groups = {}
    for item in due:
        if item.rung.missed == "highest" and missed_at(item, grace):
            groups.setdefault((item.case_id, item.clock, item.cycle), []).append(item)
    for items in groups.values():
        fired = [item for item in items if decided[id(item)] == "fire"]
        assert len(fired) == 1, f"{len(fired)} of {len(items)} missed `highest` rungs fired"
        assert fired[0].due_at == max(item.due_at for item in items)


@settings(max_examples=400, deadline=None)
@given(due_lists(policies=st.just("highest"), minutes=st.integers(181, 60 * 24 * 60)), st.integers(0, 180))
def test_highest_fires_exactly_the_latest_missed_rung_per_cycle(due, grace):
    """When every due rung is missed and `highest`, exactly one per case and clock cycle fires: the latest."""
    _check_highest(due, grace)


@settings(max_examples=400, deadline=None)
@given(due_lists(), st.integers(0, 180))
@example([due_rung(0, "HZ-A", 1, 40 * 24 * 60, "highest"), due_rung(1, "HZ-A", 1, 20 * 24 * 60, "fire", 7)], 60)
def test_highest_ignores_rungs_of_other_policies(due, grace):
    """Of the missed `highest` rungs of a cycle exactly the latest fires, whatever other rungs are due with them."""
    _check_highest(due, grace)


def decided_rung(i: int, case: str, minutes_ago: int) -> DueRung:
    rung = Rung(f"s{i}", "c", "suspend", 30, decided_by=("committee",))
    return DueRung(1000 + i, case, "c", 1, rung, NOW - timedelta(minutes=minutes_ago))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["HZ-A", "HZ-B"]), st.integers(0, 60 * 24 * 90)), min_size=1, max_size=12),
       due_lists(), st.integers(0, 180))
def test_sanctions_are_proposed_never_fired_and_only_the_current_ones_when_missed(sanctions, others, grace):
    """A rung decided by people is never fired by a sweep: on time it is proposed; missed, it is proposed only
    when no decided rung of its cycle is due later (the current sanction), and otherwise skipped saying which
    supersedes it. Other rungs keep their policies."""
    due = [decided_rung(i, case, minutes) for i, (case, minutes) in enumerate(sanctions)] + others
    result = {id(t.due): t for t in triage(due, NOW, grace)}
    for item in due[:len(sanctions)]:
        t = result[id(item)]
        assert t.decision in ("propose", "skip")
        latest = max(other.due_at for other in due[:len(sanctions)] if other.case_id == item.case_id)
        if not missed_at(item, grace) or item.due_at == latest:
            assert t.decision == "propose"
        else:
            assert t.decision == "skip" and "superseded" in t.reason
    assert all(result[id(item)].decision in ("fire", "skip") for item in others)
