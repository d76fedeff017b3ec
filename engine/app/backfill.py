"""Writes dated earlier than they are recorded (`--now` in the past): what such a write may and may not change.

Back-filling paper records stays possible: a step takes effect at the time it gives. But a back-dated write never
undoes what was due at its recording:
- the rungs of the case due by the recording time are handled first, in the same transaction, as a sweep at that
  moment would have handled them (fired, proposed or recorded as missed, by each rung's policy): a submission
  dated before the deadline and recorded a month after it does not silently cancel the month's warnings;
- whether the obligation was met on time is judged by the recording time (the event says `judged_on_record`,
  the case keeps the recording time as `judged_at`): the case counts as
  rectified when the record says, and on time only if it was recorded by the deadline.
Unless the write is a declared back-fill: a supervisor or the committee recording a paper record, with a reason
(`backfill`, kept in the event, shown in the history, the trace and the dossier), which is taken at its own time.

A write recorded within FUTURE_SKEW of its effective time is not back-dated (clocks of machines differ by
seconds); a drill database, and an engine made to replay a past period (`Engine(trust_backdating=True)`: the tests,
the bench, the bulletin example), take every back-dated write at its own time.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from engine.domain import limits
from engine.domain.case import JUDGED
from engine.domain.errors import Refused
from engine.app.unit import FUTURE_SKEW

BACKFILL_ROLES = ("supervisor", "committee")


def judgment(engine, unit, case, *, at: datetime, role: str, backfill: str | None) -> dict:
    """What the event's data must say of its time: a declared back-fill (by whom the roles allow, with its
    reason), or that it is judged at its recording, or nothing (not back-dated)."""
    if backfill is not None:
        reason = backfill.strip()
        if not reason:
            raise Refused(f"a back-fill of {case.id} needs a reason", case_id=case.id, rule="backfill",
                          missing=("backfill",))
        if role not in BACKFILL_ROLES:
            raise Refused(f"a back-fill is recorded by a supervisor or the committee, not in role {role}",
                          case_id=case.id, rule="backfill")
        limits.check_text(reason, field="backfill", label="back-fill reason", max_chars=limits.MAX_TEXT_CHARS,
                          multiline=True)
        return {"backfill": {"reason": reason}}
    recorded = unit.recorded_clock.now()
    if recorded - at <= FUTURE_SKEW or getattr(engine, "trust_backdating", False) or unit.is_drill():
        return {}
    return {JUDGED: True}


def settle_due(engine, unit, case, run, *, by: datetime):
    """Handle the case's rungs due by `by` as a sweep at that moment would, in `unit`; the case after."""
    from engine.store import rungs as rung_store
    from engine.app.sweep import LEASE, _fire_case

    sweep_id = f"record-{uuid.uuid4().hex[:8]}"
    rows = rung_store.claim_case(unit.conn, case.id, now=by, real_now=unit.recorded_clock.now(), sweep_id=sweep_id,
                                 lease_until=unit.recorded_clock.now() + LEASE)
    if not rows:
        return case
    _fire_case(engine, unit, case, rows, by, sweep_id)
    return unit.case(case.id)
