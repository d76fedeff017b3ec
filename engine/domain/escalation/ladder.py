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

from engine.domain.calendar import WorkCalendar
from engine.domain.clock import SHANGHAI, end_of_day, parse_time
from engine.domain.definition.model import ClockSpec, Definition, Duration, Rung


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
        cycle, paused = state["cycle"], state["paused_seconds"]
        status = _STATUS[state["status"]]
        for rung, due, provisional in _dues(definition, spec, state, fields, calendar):
            if (spec.name, cycle, rung.name) in done:
                continue
            rung_status = status
            if due is None:
                if status == "pending":
                    rung_status = "paused"  # no deadline set yet: nothing can be due
            elif paused:
                due += timedelta(seconds=paused)
            planned = object.__new__(PlannedRung)  # a frozen dataclass, without its per-field set-up
            planned.__dict__.update(clock=spec.name, cycle=cycle, rung=rung.name, action=rung.action, due_at=due,
                                    provisional=provisional, status=rung_status)
            result.append(planned)
    return result


_STATUS = {"running": "pending", "paused": "paused", "stopped": "cancelled"}
_DUES_KEPT = 20_000


def _dues(definition: Definition, spec: ClockSpec, state: dict, fields: dict, calendar: WorkCalendar) -> list:
    """(rung, due time before paused time, provisional) of each rung of the clock, in the ladder's order. What it
    depends on (the deadline's source, the calendar) repeats from case to case: kept per definition version and
    calendar, so an import or a replay counts working days once per deadline, not once per case and rung."""
    kept = definition._index.setdefault("ladder_dues", {})
    slot = kept.get(id(calendar))
    if slot is None or slot[0] is not calendar:  # the calendar is held by its slot: its id is not reused meanwhile
        slot = kept[id(calendar)] = (calendar, {})
    dues = slot[1]
    key = (spec.name, state.get("until"), fields.get(spec.deadline_field) if spec.deadline_field else None,
           None if spec.deadline_field else state.get("started_at"))
    found = dues.get(key)
    if found is None:
        deadline, clock_provisional = clock_deadline(spec, state, fields, calendar)
        found = []
        for rung in definition.rungs_of(spec.name):
            due, provisional = (None, False) if deadline is None else rung_due(deadline, rung, calendar)
            found.append((rung, due, provisional or clock_provisional))
        if len(dues) >= _DUES_KEPT:
            dues.clear()
        dues[key] = found
    return found


@dataclass(frozen=True)
class DueRung:
    """A rung row found due by a sweep, with what the definition says about it."""

    key: object  # whatever identifies the stored row
    case_id: str
    clock: str
    cycle: int
    rung: Rung
    due_at: datetime


@dataclass(frozen=True)
class Triaged:
    """What a sweep does with one due rung: `fire` it, `propose` it to the people who decide it, or `skip` it
    (missed: recorded, not acted on), and why, in words a user reads in the sweep's output and the log."""

    due: DueRung
    decision: str   # fire | propose | skip
    reason: str = ""


def catch_up_until(due_at: datetime, grace_minutes: int) -> datetime:
    """Until when a rung due at `due_at` is still on time: its grace, and at least the rest of the day (Asia/
    Shanghai) it fell due on, so an office that sweeps once each morning still sends the reminder that fell due
    at midnight."""
    return max(due_at + timedelta(minutes=grace_minutes), end_of_day(due_at.astimezone(SHANGHAI).date()))


def is_missed(due_at: datetime, now: datetime, grace_minutes: int) -> bool:
    return now > catch_up_until(due_at, grace_minutes)


def triage(due: list[DueRung], now: datetime, grace_minutes: int) -> list[Triaged]:
    """Decide each due rung at `now`, applying each rung's policy for missed rungs.

    A rung is missed when the sweep comes after `catch_up_until` (the scheduler was down, or the ladder is
    being caught up after back-filling). A rung decided by people (`decided_by`) is never acted on by the
    sweep: on time it raises a proposal; missed, it raises one only while it is still current (its clock cycle
    has no later decided rung due), else it is recorded as missed. Other rungs: `fire` fires a missed one
    anyway, late; `skip` records it as skipped; `highest` fires, of the missed rungs with this policy in one
    clock cycle, only the one due last, and skips the others.
    """
    missed = {id(item) for item in due if is_missed(item.due_at, now, grace_minutes)}
    latest_highest: dict[tuple, DueRung] = {}
    latest_decided: dict[tuple, DueRung] = {}
    for item in due:
        key = (item.case_id, item.clock, item.cycle)
        order = (item.due_at, item.rung.offset_days)
        if item.rung.decided_by:
            if key not in latest_decided or order > (latest_decided[key].due_at, latest_decided[key].rung.offset_days):
                latest_decided[key] = item
        elif id(item) in missed and item.rung.missed == "highest":
            if key not in latest_highest or order > (latest_highest[key].due_at, latest_highest[key].rung.offset_days):
                latest_highest[key] = item
    result = []
    for item in due:
        key = (item.case_id, item.clock, item.cycle)
        late = _late(item.due_at, now)
        if item.rung.decided_by:
            newest = latest_decided[key]
            if id(item) not in missed or newest.due_at == item.due_at:
                result.append(Triaged(item, "propose"))
            else:
                result.append(Triaged(item, "skip", f"missed by {late}; superseded by {newest.rung.name} "
                                                    f"(due {_shown(newest.due_at)}), the current sanction"))
        elif id(item) not in missed or item.rung.missed == "fire":
            result.append(Triaged(item, "fire"))
        elif item.rung.missed == "skip":
            result.append(Triaged(item, "skip", f"missed by {late}, past the day it fell due; its policy "
                                                "skips a missed rung"))
        elif latest_highest[key] is item:
            result.append(Triaged(item, "fire"))
        else:
            last = latest_highest[key]
            result.append(Triaged(item, "skip", f"missed by {late}; of this cycle's missed rungs only the last, "
                                                f"{last.rung.name}, fires"))
    return result


def _late(due_at: datetime, now: datetime) -> str:
    seconds = max((now - due_at).total_seconds(), 0)
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} minutes"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.0f} hours"
    return f"{seconds / 86400:.0f} days"


def _shown(at: datetime) -> str:
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
