"""Installing a newer working-day calendar and recounting the provisional due times it settles.

Past the calendar's last year, due times are counted on weekends and fixed-date holidays only and marked
provisional. When a newer calendar arrives (chinesecalendar learns next year's notice, usually in
November), `refresh` stores it and, for every open case whose unfired rungs move, appends a `recalendar`
event naming the new calendar and each moved rung, then re-plans the rungs. Closed cases are never touched:
their history was counted with the calendar their log names.
"""
from __future__ import annotations

from dataclasses import dataclass

from engine.calendar import WorkCalendar, default_calendar
from engine.escalation import ladder


@dataclass(frozen=True)
class Recount:
    case_id: str
    previous: str | None
    moved: tuple[dict, ...]   # {clock, rung, before, after, provisional}


def refresh(service, *, actor: str | None, calendar: WorkCalendar | None = None, dry_run: bool = False):
    """Store `calendar` (default: the library's) and recount open cases; returns (hash, created, recounts)."""
    from engine.clock import iso
    from engine.machine import pick_role
    from engine.service import check_time_order
    from engine.store import cases as case_store
    from engine.store import definitions as definition_store

    calendar = calendar or default_calendar()
    now = service.clock.now()
    digest = calendar.content_hash
    with service.store.read() as conn:
        who = service.actor(conn, actor)
        known = {row.content_hash for row in definition_store.all_calendars(conn)}
        candidates = [c for c in case_store.query(conn) if not c.is_final and c.clocks and c.calendar != digest]
        runs = {c.id: service.loaded(conn, c.workflow, c.workflow_version) for c in candidates}
        olds = {c.id: service.calendar_of(conn, c, runs[c.id]) for c in candidates}
    role = pick_role(who, ("committee",), "install a working-day calendar")
    recounts = []
    for case in candidates:
        run = runs[case.id]
        before = {(p.clock, p.cycle, p.rung): p for p in ladder.plan(run.definition, case.clocks, case.fields,
                                                                     case.fired, olds[case.id])}
        after = ladder.plan(run.definition, case.clocks, case.fields, case.fired, calendar)
        moved = tuple({"clock": p.clock, "cycle": p.cycle, "rung": p.rung, "before": iso(before[k].due_at),
                       "after": iso(p.due_at), "provisional": p.provisional}
                      for p in after for k in [(p.clock, p.cycle, p.rung)]
                      if k in before and (before[k].due_at, before[k].provisional) != (p.due_at, p.provisional))
        if moved:
            recounts.append(Recount(case.id, case.calendar, moved))
    if dry_run:
        return digest, digest not in known, recounts
    with service.store.write() as conn:
        definition_store.save_calendar(conn, calendar, now)
        for recount in recounts:
            case = case_store.load(conn, recount.case_id)
            check_time_order(case, now)
            run = runs[case.id]
            data = {"calendar": digest, "previous": recount.previous, "calendar_version": calendar.version,
                    "last_year": calendar.last_year, "moved": list(recount.moved)}
            event = service.event(case.id, case.version + 1, "recalendar", case.state, case.state, who.name, role,
                                  now, data, case.workflow, case.workflow_version, prev_hash=case.last_hash)
            after = service.append(conn, case, [event], run, sync=False)
            service.sync_rungs(conn, after, run)
    service.registry.forget_newest_calendar()
    return digest, digest not in known, recounts
