"""One escalation sweep at `now`: claim due rungs, fire each exactly once, say what was fired and how late.

Exactly once, whatever runs twice: a sweep first claims due rung rows with a lease (SKIP LOCKED on
PostgreSQL), commits the claim, then fires a batch of cases in one unit of work: one read of the claimed
cases, then executemany of the `escalate` events, of the case rows (`WHERE version = :expected`, summed
rowcount checked) and of the rung marks (`WHERE status = 'pending' AND claimed_by = this sweep`, likewise).
Any lost race rolls the batch back; its cases are retried one by one, and what still fails is released for
the next sweep. A crash leaves only leases, which expire by the real clock (not the engine's `now`, which a
drill or a back-fill may set anywhere).
"""
from __future__ import annotations

import os
import socket
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from engine.domain.clock import iso, iso_seconds
from engine.domain.definition.model import LINKED_ACTIONS
from engine.domain.errors import Conflict, TamperDetected
from engine.domain.escalation import actions
from engine.domain.escalation.ladder import DueRung, Triaged, triage
from engine.app.unit import SYSTEM, UnitOfWork, check_not_future

LEASE = timedelta(minutes=5)


@dataclass
class SweepResult:
    sweep_id: str
    now: datetime
    dry_run: bool = False
    fired: list[dict] = field(default_factory=list)     # one entry per rung fired, proposed or skipped
    conflicts: int = 0                                   # cases changed meanwhile, left for the next sweep
    refused: list[str] = field(default_factory=list)    # cases whose rows were edited outside the engine

    @property
    def counts(self) -> dict:
        by_status = {"fired": 0, "skipped": 0, "proposed": 0}
        for entry in self.fired:
            by_status[entry["status"]] += 1
        return {**by_status, "conflicts": self.conflicts, "refused": len(self.refused),
                "max_late_seconds": max((f["late_seconds"] for f in self.fired), default=0.0)}

    def cases(self, status: str | None = None) -> list[str]:
        """The cases this sweep acted on (with a rung of `status`, when given), in id order."""
        return sorted({f["case_id"] for f in self.fired if status is None or f["status"] == status})


def new_sweep_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


def sweep(engine, *, now: datetime | None = None, dry_run: bool = False, batch: int = 200,
          sweep_id: str | None = None, limit: int | None = None, lease: timedelta = LEASE) -> SweepResult:
    """Run one sweep at `now` (default: the engine's clock); a claim it leaves behind holds for `lease`."""
    from engine.store import cases as case_store
    from engine.store import rungs as rung_store

    now = now or engine.clock.now()
    result = SweepResult(sweep_id or new_sweep_id(), now, dry_run)
    if dry_run:
        with engine.store.read() as conn:
            rows = rung_store.listing(conn, now=now, due_only=True, limit=limit)
            found = case_store.load_many(conn, {r.case_id for r in rows})
            decided = _decide(lambda c: engine.registry.loaded(conn, c.workflow, c.workflow_version), rows, now, found)
        for item in decided:
            result.fired.append(_entry(item.due, actions.STATUS[item.decision], now, reason=item.reason))
        return result
    started = engine.recorded_clock.now()
    # A sweep at a future time would fire rungs before they are due (a dry run only shows what it would do).
    check_not_future(now, started, f"a sweep at {iso_seconds(now)}", drill=lambda: _drill(engine))
    claimed: list[tuple[int, tuple]] = []
    remaining = limit
    while remaining is None or remaining > 0:
        size = batch if remaining is None else min(batch, remaining)
        real_now = engine.recorded_clock.now()
        with engine.store.write() as conn:
            rows = rung_store.claim(conn, now=now, real_now=real_now, sweep_id=result.sweep_id,
                                    lease_until=real_now + lease, limit=size, postgres=not engine.store.is_sqlite)
        if not rows:
            break
        claimed.extend((r.id, (r.case_id, r.clock, r.cycle, r.rung)) for r in rows)
        _fire_batch(engine, rows, now, result)
        if remaining is not None:
            remaining -= len(rows)
    with engine.store.write() as conn:
        done = {(f["case_id"], f["clock"], f["cycle"], f["rung"]) for f in result.fired}
        rung_store.release(conn, result.sweep_id, [i for i, key in claimed if key not in done])
        counts = result.counts
        rung_store.log_sweep(conn, {"id": result.sweep_id, "host": socket.gethostname(), "now": now,
                                    "started_at": started, "finished_at": engine.recorded_clock.now(),
                                    "fired": counts["fired"], "skipped": counts["skipped"], "proposed": counts["proposed"],
                                    "max_late_seconds": counts["max_late_seconds"]})
    return result


def _drill(engine) -> bool:
    from engine.store import settings as setting_store
    from engine.store import users as user_store
    with engine.store.read() as conn:
        return setting_store.is_true(user_store.setting(conn, "drill"))


def release_claims(engine, sweep_ids: list[str]) -> int:
    """Hand back every row still claimed by these (failed) sweeps, without waiting for their leases."""
    from engine.store import rungs as rung_store
    with engine.store.write() as conn:
        return rung_store.release_all(conn, sweep_ids)


class Sweeper:
    """One sweep per call at the clock's time, as a scheduler runs them; a sweep cut short by a database
    outage left claims behind, and the next sweep that reaches the database hands them back first."""

    def __init__(self, engine, clock, *, lease: timedelta = LEASE):
        self.engine, self.clock, self.lease = engine, clock, lease
        self.failed: list[str] = []

    def __call__(self) -> SweepResult:
        from engine.domain.errors import StoreError
        if self.failed:
            release_claims(self.engine, self.failed)
            self.failed = []
        sweep_id = new_sweep_id()
        try:
            return sweep(self.engine, now=self.clock.now(), sweep_id=sweep_id, lease=self.lease)
        except StoreError:
            self.failed.append(sweep_id)
            raise


def _decide(run_of, rows, now: datetime, cases: dict) -> list[Triaged]:
    """Attach each row's rung definition and apply the catch-up policies (`run_of(case)` gives its version)."""
    due, grace = [], {}
    for row in rows:
        case = cases.get(row.case_id)
        if case is None:
            continue
        definition = run_of(case).definition
        rung = definition.rung(row.clock, row.rung)
        if rung is None:
            continue
        due.append(DueRung(row.id, row.case_id, row.clock, row.cycle, rung, row.due_at))
        grace[row.case_id] = definition.grace_minutes
    by_grace = defaultdict(list)
    for item in due:
        by_grace[grace[item.case_id]].append(item)
    decided = []
    for minutes, items in by_grace.items():
        decided.extend(triage(items, now, minutes))
    return decided


def _fire_batch(engine, rows, now: datetime, result: SweepResult) -> None:
    by_case = defaultdict(list)
    for row in sorted(rows, key=lambda r: r.case_id):  # one lock order for every sweep: no deadlock between two
        by_case[row.case_id].append(row)
    try:
        with engine.unit() as unit:
            found = unit.cases(list(by_case))
            entries = [e for case_id, case_rows in by_case.items()
                       for e in _fire_case(engine, unit, found.get(case_id), case_rows, now, result.sweep_id)]
        result.fired.extend(entries)
        return
    except (Conflict, TamperDetected):
        pass
    for case_id, case_rows in by_case.items():  # someone won a race, or a row was edited: go case by case
        try:
            with engine.unit() as unit:
                found = unit.cases([case_id]).get(case_id)
                entries = _fire_case(engine, unit, found, case_rows, now, result.sweep_id)
        except Conflict:
            result.conflicts += 1
            continue
        except TamperDetected:
            result.refused.append(case_id)  # its rows go back unfired; `audit replay` names what was edited
            continue
        # Only once the unit has committed: a race lost at its flush fired nothing, and its rows are handed back.
        result.fired.extend(entries)


def _fire_case(engine, unit: UnitOfWork, case, rows, now: datetime, sweep_id: str) -> list[dict]:
    """Fire or skip one case's due rungs in the unit."""
    if case is None:
        return []
    if case.updated_at is not None and now < case.updated_at:
        return []  # a drill sweeping at a time before the case's last event: events stay in time order
    run = unit.run(case.workflow, case.workflow_version)
    current = [r for r in rows if _still_due(case, r)]
    entries = []
    after = case
    decided = _decide(lambda c: run, current, now, {case.id: case})
    order = {r.name: i for i, r in enumerate(run.definition.rungs)}  # rungs due at once fire in ladder order
    for item in sorted(decided, key=lambda d: (d.due.due_at, d.due.rung.offset_days, order[d.due.rung.name])):
        due = item.due
        decision, reason = item.decision, item.reason
        opened = _opened_already(unit, case, due.rung) if decision != "skip" else None
        if opened:
            decision, reason = "skip", f"a linked {opened} case of this hazard is open already"
        out = actions.outcome(after, due.rung, cycle=due.cycle, due_at=due.due_at, decision=decision, now=now,
                              sweep_id=sweep_id, calendar=run.calendar)
        data = dict(out.data)
        if reason:
            data["reason"] = reason
        if out.linked is not None:
            linked = engine.commands.create_linked(unit, case, workflow=out.linked.workflow, title=out.linked.title,
                                                   fields=out.linked.fields, source=f"escalation:{due.rung.name}",
                                                   at=now)
            data["linked_case"] = linked.id
            data["linked_workflow"] = linked.workflow
        event = unit.event(after, trigger="escalate", to_state=after.state, actor=SYSTEM.name, role="system", at=now,
                           data=data, run=run)
        after = unit.append(after, [event], run, sync=False)
        unit.mark_rung(case.id, (due.clock, due.cycle, due.rung.name), due.key, status=data["status"], fired_at=now,
                       sweep_id=sweep_id)
        entries.append(_entry(due, data["status"], now, linked=data.get("linked_case"), action_data=data,
                              reason=reason))
    if len(current) < len(rows):
        unit.sync_rungs(after, run)  # rows left over from an older plan: move or cancel them
    return entries


def _opened_already(unit: UnitOfWork, case, rung) -> str | None:
    """The workflow of the linked case a rung would open (an interview, a posted supervision) when the hazard has
    one of it open already (one a ledger's 挂牌督办 linked, one an earlier rung opened): a second is not proposed."""
    if rung.action not in LINKED_ACTIONS:
        return None
    workflow = rung.param("workflow") or LINKED_ACTIONS[rung.action][1]
    return workflow if workflow in unit.open_linked(case.id) else None


def _still_due(case, row) -> bool:
    """The row still belongs to a running cycle of its clock and has not fired (the plan may have moved on)."""
    state = case.clocks.get(row.clock)
    return (state is not None and state["status"] == "running" and state["cycle"] == row.cycle
            and (row.clock, row.cycle, row.rung) not in case.fired)


def _entry(due: DueRung, status: str, now: datetime, *, linked=None, action_data=None, reason: str = "") -> dict:
    entry = {"case_id": due.case_id, "clock": due.clock, "cycle": due.cycle, "rung": due.rung.name,
             "action": due.rung.action, "due_at": iso(due.due_at), "status": status,
             "late_seconds": round(max((now - due.due_at).total_seconds(), 0.0), 3)}
    if linked:
        entry["linked_case"] = linked
    for key in ("level", "kind"):
        if action_data and key in action_data:
            entry[key] = action_data[key]
    if due.rung.decided_by:
        entry["decided_by"] = list(due.rung.decided_by)
    if reason:
        entry["reason"] = reason
    return entry
