"""Which rungs a case has, when each is due, and what a late sweep does with the ones it missed.

Due-time arithmetic (all in Asia/Shanghai):
- A clock's deadline is a date field (`2026-04-30`: missed at the end of that day), a time field, or the
  clock's start plus a duration (`10 days`, `5 working days`); an extension (`until`) replaces it.
- A rung `N days before` / `after` moves the deadline's day by N calendar or working days and keeps its
  time of day, so `3 days before` a date deadline is due at the end of D-3 (three full days left) and
  `at deadline` at the end of D. Working days come from the calendar stored with the definition version.
- Time spent paused in the cycle moves every rung of that cycle later by the same amount.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from engine.calendar import WorkCalendar
from engine.clock import SHANGHAI, end_of_day, parse_time
from engine.definition.model import ClockSpec, Definition, Duration, Rung


@dataclass(frozen=True)
class PlannedRung:
    clock: str
    cycle: int
    rung: str
    action: str
    due_at: datetime | None
    provisional: bool
    status: str  # pending, paused, cancelled


@dataclass(frozen=True)
class Deadline:
    """A day and the time of day on it at which the deadline falls (24:00 for a date-only deadline)."""

    day: date
    at_end_of_day: bool
    time_of_day: time = time(0)

    def instant(self) -> datetime:
        if self.at_end_of_day:
            return end_of_day(self.day)
        return datetime.combine(self.day, self.time_of_day, tzinfo=SHANGHAI)

    @staticmethod
    def of(value: str) -> "Deadline":
        if len(value) == 10:
            return Deadline(date.fromisoformat(value), True)
        local = parse_time(value).astimezone(SHANGHAI)
        return Deadline(local.date(), False, local.time())


def shift(day: date, days: int, working: bool, calendar: WorkCalendar) -> tuple[date, bool]:
    if days == 0:
        return day, calendar.is_provisional(day) if working else False
    if working:
        return calendar.add_working_days(day, days)
    return day + timedelta(days=days), False


def clock_deadline(spec: ClockSpec, state: dict, fields: dict, calendar: WorkCalendar) -> tuple[Deadline | None, bool]:
    """The deadline a clock runs against in its current cycle, and whether it is provisional."""
    if state.get("until"):
        return Deadline.of(state["until"]), False
    if spec.deadline_field:
        value = fields.get(spec.deadline_field)
        return (Deadline.of(value), False) if value else (None, False)
    duration: Duration = spec.duration
    start = datetime.fromisoformat(state["started_at"]).astimezone(SHANGHAI)
    day, provisional = shift(start.date(), duration.days, duration.working, calendar)
    return Deadline(day, False, start.time()), provisional


def rung_due(deadline: Deadline, rung: Rung, calendar: WorkCalendar) -> tuple[datetime, bool]:
    day, provisional = shift(deadline.day, rung.offset_days, rung.working, calendar)
    return Deadline(day, deadline.at_end_of_day, deadline.time_of_day).instant(), provisional


def plan(definition: Definition, clocks: dict, fields: dict, fired: tuple, calendar: WorkCalendar, *,
         only: frozenset[str] | None = None) -> list[PlannedRung]:
    """Every rung of every clock cycle the case has (of the clocks named in `only`, when given), with its due
    time; fired or skipped rungs are left out."""
    done = set(fired)
    result = []
    for spec in definition.clocks:
        if only is not None and spec.name not in only:
            continue
        state = clocks.get(spec.name)
        if not state:
            continue
        deadline, clock_provisional = clock_deadline(spec, state, fields, calendar)
        for rung in definition.rungs_of(spec.name):
            if (spec.name, state["cycle"], rung.name) in done:
                continue
            due, provisional = (None, False) if deadline is None else rung_due(deadline, rung, calendar)
            if due is not None:
                due += timedelta(seconds=state["paused_seconds"])
            status = {"running": "pending", "paused": "paused", "stopped": "cancelled"}[state["status"]]
            if due is None and status == "pending":
                status = "paused"  # no deadline set yet: nothing can be due
            result.append(PlannedRung(spec.name, state["cycle"], rung.name, rung.action, due,
                                      provisional or clock_provisional, status))
    return result


@dataclass(frozen=True)
class DueRung:
    """A rung row found due by a sweep, with what the definition says about it."""

    key: object  # whatever identifies the stored row
    case_id: str
    clock: str
    cycle: int
    rung: Rung
    due_at: datetime


def triage(due: list[DueRung], now: datetime, grace_minutes: int) -> list[tuple[DueRung, str]]:
    """Decide `fire` or `skip` for each due rung, applying each rung's policy for missed rungs.

    A rung is missed when the sweep comes more than `grace_minutes` after its due time (the scheduler was
    down). `fire`: fire it anyway, late. `skip`: record it as skipped. `highest`: of the missed rungs with
    this policy in one clock cycle, fire only the one due last and skip the others.
    """
    grace = timedelta(minutes=grace_minutes)
    missed = [item for item in due if now - item.due_at > grace]
    top: dict[tuple, DueRung] = {}
    for item in missed:
        if item.rung.missed != "highest":
            continue
        key = (item.case_id, item.clock, item.cycle)
        if key not in top or (item.due_at, item.rung.offset_days) > (top[key].due_at, top[key].rung.offset_days):
            top[key] = item
    result = []
    for item in due:
        if now - item.due_at <= grace or item.rung.missed == "fire":
            decision = "fire"
        elif item.rung.missed == "skip":
            decision = "skip"
        else:
            decision = "fire" if top[(item.case_id, item.clock, item.cycle)] is item else "skip"
        result.append((item, decision))
    return result
