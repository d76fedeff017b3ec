"""One escalation sweep at `now`: claim due rungs, fire each exactly once, say what was fired and how late.

Exactly once, whatever runs twice: a sweep first claims due rung rows with a lease (SKIP LOCKED on
PostgreSQL), commits the claim, then for a batch of cases appends the `escalate` events, marks the rows
fired `WHERE status = 'pending' AND claimed_by = this sweep`, and checks each case's version, all in one
transaction. Any lost race rolls the batch back; its cases are retried one by one, and what still fails
is released for the next sweep. A crash leaves only a lease that expires.
"""
from __future__ import annotations

import os
import socket
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from engine.errors import Conflict
from engine.escalation import actions
from engine.escalation.ladder import DueRung, triage

LEASE = timedelta(minutes=5)


@dataclass
class SweepResult:
    sweep_id: str
    now: datetime
    dry_run: bool = False
    fired: list[dict] = field(default_factory=list)     # one entry per rung fired or skipped
    conflicts: int = 0                                   # cases changed meanwhile, left for the next sweep

    @property
    def counts(self) -> dict:
        fired = sum(1 for f in self.fired if f["status"] == "fired")
        return {"fired": fired, "skipped": len(self.fired) - fired, "conflicts": self.conflicts,
                "max_late_seconds": max((f["late_seconds"] for f in self.fired), default=0.0)}


def new_sweep_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def sweep(service, *, now: datetime | None = None, dry_run: bool = False, batch: int = 200,
          sweep_id: str | None = None, limit: int | None = None) -> SweepResult:
    """Run one sweep at `now` (default: the service's clock)."""
    from engine.store import rungs as rung_store
    from engine.store.tables import sweeps

    now = now or service.clock.now()
    result = SweepResult(sweep_id or new_sweep_id(), now, dry_run)
    if dry_run:
        with service.store.read() as conn:
            rows = rung_store.listing(conn, now=now, due_only=True, limit=limit)
            decided = _decide(service, conn, rows, now)
        for due, decision in decided:
            result.fired.append(_entry(due, "fired" if decision == "fire" else "skipped", now))
        return result
    started = service.recorded_clock.now()
    claimed: list[tuple[int, tuple]] = []
    remaining = limit
    while remaining is None or remaining > 0:
        size = batch if remaining is None else min(batch, remaining)
        with service.store.write() as conn:
            rows = rung_store.claim(conn, now=now, sweep_id=result.sweep_id, lease_until=now + LEASE,
                                    limit=size, postgres=not service.store.is_sqlite)
        if not rows:
            break
        claimed.extend((r.id, (r.case_id, r.clock, r.cycle, r.rung)) for r in rows)
        _fire_batch(service, rows, now, result)
        if remaining is not None:
            remaining -= len(rows)
    with service.store.write() as conn:
        done = {(f["case_id"], f["clock"], f["cycle"], f["rung"]) for f in result.fired}
        rung_store.release(conn, result.sweep_id, [i for i, key in claimed if key not in done])
        counts = result.counts
        conn.execute(sweeps.insert(), [{"id": result.sweep_id, "host": socket.gethostname(), "now": now,
                                        "started_at": started, "finished_at": service.recorded_clock.now(),
                                        "fired": counts["fired"], "skipped": counts["skipped"],
                                        "max_late_seconds": counts["max_late_seconds"]}])
    return result


def _decide(service, conn, rows, now, cases: dict | None = None) -> list[tuple[DueRung, str]]:
    """Attach each row's rung definition and apply the catch-up policies."""
    from engine.store import cases as case_store

    cases = cases if cases is not None else case_store.load_many(conn, {r.case_id for r in rows})
    due, grace = [], {}
    for row in rows:
        case = cases.get(row.case_id)
        if case is None:
            continue
        run = service.loaded(conn, case.workflow, case.workflow_version)
        rung = next((r for r in run.definition.rungs_of(row.clock) if r.name == row.rung), None)
        if rung is None:
            continue
        due.append(DueRung(row.id, row.case_id, row.clock, row.cycle, rung, row.due_at))
        grace[row.case_id] = run.definition.grace_minutes
    by_grace = defaultdict(list)
    for item in due:
        by_grace[grace[item.case_id]].append(item)
    decided = []
    for minutes, items in by_grace.items():
        decided.extend(triage(items, now, minutes))
    return decided


def _fire_batch(service, rows, now: datetime, result: SweepResult) -> None:
    by_case = defaultdict(list)
    for row in sorted(rows, key=lambda r: r.case_id):  # one lock order for every sweep: no deadlock between two
        by_case[row.case_id].append(row)
    try:
        with service.store.write() as conn:
            entries = [e for case_id, case_rows in by_case.items()
                       for e in _fire_case(service, conn, case_id, case_rows, now, result.sweep_id)]
        result.fired.extend(entries)
        return
    except Conflict:
        pass
    for case_id, case_rows in by_case.items():  # someone won a race in this batch: go case by case
        try:
            with service.store.write() as conn:
                result.fired.extend(_fire_case(service, conn, case_id, case_rows, now, result.sweep_id))
        except Conflict:
            result.conflicts += 1


def _fire_case(service, conn, case_id: str, rows, now: datetime, sweep_id: str) -> list[dict]:
    """Fire or skip one case's due rungs inside the caller's transaction."""
    from engine.service import SYSTEM
    from engine.store import cases as case_store
    from engine.store import rungs as rung_store

    case = case_store.load(conn, case_id)
    if case.updated_at is not None and now < case.updated_at:
        return []  # a drill sweeping at a time before the case's last event: events stay in time order
    run = service.loaded(conn, case.workflow, case.workflow_version)
    current = [r for r in rows if _still_due(case, r)]
    entries = []
    after = case
    for due, decision in sorted(_decide(service, conn, current, now, {case.id: case}), key=lambda d: (d[0].due_at, d[0].rung.offset_days)):
        out = actions.outcome(after, due.rung, cycle=due.cycle, due_at=due.due_at, decision=decision, now=now,
                              sweep_id=sweep_id, calendar=run.calendar)
        data = dict(out.data)
        if out.linked is not None:
            linked_run = service.loaded(conn, out.linked.workflow)
            attrs = {"title": out.linked.title, "enterprise": case.enterprise, "region": case.region,
                     "industry": case.industry, "level": case.level, "source": f"escalation:{due.rung.name}",
                     "found_at": now.isoformat(), "parent_id": case.id}
            given = {k: v for k, v in out.linked.fields.items() if k in linked_run.definition.report.accepts}
            linked = service.create_case(conn, linked_run, actor=SYSTEM.name, role="system", attrs=attrs,
                                         fields=given, now=now)
            data["linked_case"] = linked.id
            data["linked_workflow"] = linked.workflow
        event = service.event(case.id, after.version + 1, "escalate", after.state,
                              after.state, SYSTEM.name, "system", now, data, case.workflow, run.version,
                              prev_hash=after.last_hash)
        after = service.append(conn, after, [event], run, sync=False)
        if not rung_store.mark(conn, due.key, status=data["status"], fired_at=now, sweep_id=sweep_id):
            raise Conflict(f"rung {due.rung.name} of {case.id} was taken by another sweep", case_id=case.id)
        entries.append(_entry(due, data["status"], now, linked=data.get("linked_case"), action_data=data))
    if len(current) < len(rows):
        service.sync_rungs(conn, after, run)  # rows left over from an older plan: move or cancel them
    return entries


def _still_due(case, row) -> bool:
    """The row still belongs to a running cycle of its clock and has not fired (the plan may have moved on)."""
    state = case.clocks.get(row.clock)
    return (state is not None and state["status"] == "running" and state["cycle"] == row.cycle
            and (row.clock, row.cycle, row.rung) not in case.fired)


def _entry(due: DueRung, status: str, now: datetime, *, linked=None, action_data=None) -> dict:
    from engine.clock import iso

    entry = {"case_id": due.case_id, "clock": due.clock, "cycle": due.cycle, "rung": due.rung.name,
             "action": due.rung.action, "due_at": iso(due.due_at), "status": status,
             "late_seconds": round(max((now - due.due_at).total_seconds(), 0.0), 3)}
    if linked:
        entry["linked_case"] = linked
    for key in ("level", "kind"):
        if action_data and key in action_data:
            entry[key] = action_data[key]
    return entry
