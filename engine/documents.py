"""Cases, events and rungs as plain JSON-ready dicts: the shape `--json` prints and dossiers embed.

Times are ISO 8601 in Asia/Shanghai, the zone users read; the database keeps UTC.
"""
from __future__ import annotations

from datetime import date, datetime

from engine.case import Case
from engine.clock import iso
from engine.events import Event

CORE_KEYS = ("id", "workflow", "workflow_version", "state", "version", "level", "title", "enterprise", "region",
             "industry", "source", "found_at", "deadline", "overdue")


def json_default(value):
    """`json.dumps(default=...)` for what documents hold besides JSON types: instants, dates, tuples, sets."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def case_document(case: Case, now: datetime, *, rungs: list | None = None, linked: list[Case] | None = None) -> dict:
    doc = {
        "id": case.id, "workflow": case.workflow, "workflow_version": case.workflow_version, "state": case.state,
        "version": case.version, "level": case.level, "title": case.title, "enterprise": case.enterprise,
        "region": case.region, "industry": case.industry, "source": case.source, "found_at": iso(case.found_at),
        "deadline": case.deadline, "overdue": case.overdue(now), "final": case.is_final,
        "flags": list(case.flags), "parent": case.parent_id,
        "created_at": iso(case.created_at), "updated_at": iso(case.updated_at), "closed_at": iso(case.closed_at),
        "fields": dict(case.fields),
    }
    # The case's own fields also stand at the top level, where scripts look first; core keys win.
    for name, value in case.fields.items():
        doc.setdefault(name, value)
    if rungs is not None:
        doc["rungs"] = [rung_document(r) for r in rungs]
    if linked is not None:
        doc["linked"] = [{"id": c.id, "workflow": c.workflow, "state": c.state, "final": c.is_final,
                          "deadline": c.deadline, "title": c.title} for c in linked]
    return doc


def rung_document(row) -> dict:
    return {"case_id": row.case_id, "clock": row.clock, "cycle": row.cycle, "rung": row.rung, "action": row.action,
            "due_at": iso(row.due_at), "provisional": bool(row.provisional), "fired_at": iso(row.fired_at),
            "status": row.status}


def event_document(e: Event) -> dict:
    return {"case_id": e.case_id, "seq": e.seq, "trigger": e.trigger, "from": e.from_state, "to": e.to_state,
            "actor": e.actor, "role": e.role, "at": iso(e.at), "recorded_at": iso(e.recorded_at), "data": e.data,
            "workflow": e.workflow, "workflow_version": e.workflow_version, "prev_hash": e.prev_hash, "hash": e.hash}
