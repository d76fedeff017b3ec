"""Installing a newer working-day calendar and recounting the provisional due times it settles.

Past the calendar's last year, due times are counted on weekends and fixed-date holidays only and marked
provisional. When a newer calendar arrives (chinesecalendar learns next year's notice, usually in
November), `refresh` stores it and, for every open case whose unfired rungs move, appends a `recalendar`
event naming the new calendar and each moved rung, then re-plans the rungs. Closed cases are never touched:
their history was counted with the calendar their log names.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.domain.calendar import WorkCalendar, default_calendar
from engine.domain.clock import iso
from engine.domain.escalation import ladder
from engine.domain.machine import pick_role
from engine.domain.preconditions import check_time_order


@dataclass(frozen=True)
class Recount:
    case_id: str
    previous: str | None
    moved: tuple[dict, ...]   # {clock, cycle, rung, before, after, provisional}


def recount(case, run, old: WorkCalendar, new: WorkCalendar) -> Recount | None:
    """Which unfired rungs of `case` move when counted with `new` instead of `old` (pure)."""
    before = {(p.clock, p.cycle, p.rung): p for p in ladder.plan(run.definition, case.clocks, case.fields,
                                                                 case.fired, old)}
    moved = tuple({"clock": p.clock, "cycle": p.cycle, "rung": p.rung, "before": iso(before[k].due_at),
                   "after": iso(p.due_at), "provisional": p.provisional}
                  for p in ladder.plan(run.definition, case.clocks, case.fields, case.fired, new)
                  for k in [(p.clock, p.cycle, p.rung)]
                  if k in before and (before[k].due_at, before[k].provisional) != (p.due_at, p.provisional))
    return Recount(case.id, case.calendar, moved) if moved else None


def refresh(commands, *, actor: str | None, now: datetime, calendar: WorkCalendar | None = None,
            dry_run: bool = False) -> tuple[str, bool, list[Recount]]:
    """Store `calendar` (default: the library's) and recount open cases; returns (hash, new, recounts)."""
    from engine.store import cases as case_store
    from engine.store import definitions as definition_store

    calendar = calendar or default_calendar()
    digest = calendar.content_hash
    with commands.unit() as unit:
        who = unit.actor(actor)
        role = pick_role(who, ("committee",), "install a working-day calendar")
        known = definition_store.calendar_hashes(unit.conn)
        candidates = unit.adopt(case_store.open_cases_with_clocks(unit.conn, other_than_calendar=digest))
        runs = {c.id: unit.run(c.workflow, c.workflow_version) for c in candidates}
        recounts = [r for c in candidates
                    for r in [recount(c, runs[c.id], unit.calendar_of(c, runs[c.id]), calendar)] if r is not None]
        if dry_run:
            return digest, digest not in known, recounts
        definition_store.save_calendar(unit.conn, calendar, now)
        for item in recounts:
            case = unit.case(item.case_id)
            check_time_order(case, now)
            run = runs[case.id]
            data = {"calendar": digest, "previous": item.previous, "calendar_version": calendar.version,
                    "last_year": calendar.last_year, "moved": list(item.moved)}
            event = unit.event(case, trigger="recalendar", to_state=case.state, actor=who.name, role=role, at=now,
                               data=data, run=run)
            unit.sync_rungs(unit.append(case, [event], run, sync=False), run)
    return digest, digest not in known, recounts
