"""The JSON documents of the engine: what `--json` prints, what dossiers embed and the HTTP API (web/) answers.

Built here, not in `cli/`, so every face of the engine gives the same shape. Instants are ISO 8601 in
Asia/Shanghai, the zone users read, wherever they appear (event data included: it stores them in UTC);
the database keeps UTC. Enumerated values come with their Chinese labels beside them.
"""
from __future__ import annotations

from datetime import date, datetime

from engine.domain import vocabularies
from engine.domain.case import Case
from engine.domain.clock import iso
from engine.domain.events import Event


def error_document(exc, *, hint: str | None = None) -> dict:
    """`{"error": {...}}` of an engine error: its type, message, exit code and the facts it carries (the rule, the
    fields missing, the case...). The command line prints it with --json, the HTTP API answers with it."""
    doc = {"type": type(exc).__name__, "message": str(exc), "exit_code": exc.exit_code}
    for attr in ("rule", "missing", "case_id", "trigger", "actor", "kind", "key", "field", "path", "problems"):
        value = getattr(exc, attr, None)
        if value not in (None, (), [], ""):
            doc[attr] = list(value) if isinstance(value, tuple) else value
    if "problems" in doc:
        doc["problems"] = [{"file": f, "line": line, "message": m} for f, line, m in doc["problems"]]
    if hint:
        doc["hint"] = hint
    return {"error": doc}


def json_default(value):
    """`json.dumps(default=...)` for what documents hold besides JSON types: instants, dates, tuples, sets."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def shown(value):
    """`value` with every ISO instant in it (event data keeps UTC) turned to Asia/Shanghai."""
    if isinstance(value, str):
        if len(value) > 18 and value[10:11] == "T" and value[4:5] == "-":
            try:
                at = datetime.fromisoformat(value)
            except ValueError:
                return value
            return iso(at) if at.tzinfo is not None else value
        return value
    if isinstance(value, dict):
        return {k: shown(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shown(v) for v in value]
    return value


def case_document(case: Case, now: datetime, *, rungs: list | None = None, linked: list[Case] | None = None,
                  definition=None, evidence: list[dict] | None = None) -> dict:
    state = definition.state(case.state) if definition is not None else None
    doc = {
        "id": case.id, "workflow": case.workflow, "workflow_version": case.workflow_version, "state": case.state,
        "version": case.version, "level": case.level, "title": case.title, "enterprise": case.enterprise,
        "region": case.region, "industry": case.industry, "source": case.source, "found_at": iso(case.found_at),
        "deadline": case.deadline, "due_at": iso(case.due_at), "overdue": case.overdue(now), "final": case.is_final,
        "rectified_at": iso(case.rectified_at), "accepted_at": iso(case.accepted_at), "flags": list(case.flags),
        "parent": case.parent_id,
        "created_at": iso(case.created_at), "updated_at": iso(case.updated_at), "closed_at": iso(case.closed_at),
        "level_label": vocabularies.levels().label(case.level), "source_label": vocabularies.sources().label(case.source),
        "fields": shown(dict(case.fields)), "missing_implementations": case.missing_implementations,
        "voided": case.voided_at is not None, "voided_at": iso(case.voided_at),
        **decisions_document(case),
    }
    if state is not None:
        doc["state_label"] = state.label
    # The case's own fields also stand at the top level, where scripts look first; core keys win.
    for name, value in doc["fields"].items():
        doc.setdefault(name, value)
    if rungs is not None:
        doc["rungs"] = [rung_document(r) for r in rungs]
    if linked is not None:
        doc["linked"] = [{"id": c.id, "workflow": c.workflow, "state": c.state, "final": c.is_final,
                          "deadline": c.deadline, "title": c.title} for c in linked]
    if evidence is not None:  # engine.domain.evidence.evidence_document: the files sealed on the case
        doc["evidence"] = evidence
    return doc


def decisions_document(case: Case) -> dict:
    """What awaits a decision on the case and what was decided: the ladder's proposals, the extension applied
    for, every extension decided, and the deadline as first set."""
    from engine.domain.escalation import decisions as decided
    record = case.decisions
    proposals = sorted((record.get("proposals") or {}).values(), key=lambda p: (p["proposed_at"], p["rung"]))
    application = record.get("extension")
    pending = [{"kind": "proposal", "rung": p["rung"], "label": p.get("label", ""), "action": p.get("action"),
                "since": p["proposed_at"], "due_at": p.get("due_at"), "decided_by": p.get("decided_by", [])}
               for p in decided.pending_proposals(record)]
    if application:
        pending.append({"kind": "extension", "rung": "extension", "label": "延期申请", "action": "extend",
                        "since": application["applied_at"], "until": application["until"],
                        "decide_by": application.get("decide_by"), "applied_by": application["applied_by"],
                        "decided_by": application.get("decided_by") or []})
    return shown({"original_deadline": decided.original_deadline(record, case.deadline),
                  "extensions": list(record.get("extensions") or ()), "extension_application": application,
                  "void": record.get("void"),
                  "proposals": proposals, "pending_decisions": pending})


def rung_document(row) -> dict:
    return {"case_id": row.case_id, "clock": row.clock, "cycle": row.cycle, "rung": row.rung, "action": row.action,
            "due_at": iso(row.due_at), "provisional": bool(row.provisional), "fired_at": iso(row.fired_at),
            "status": row.status}


def event_document(e: Event) -> dict:
    return {"case_id": e.case_id, "seq": e.seq, "trigger": e.trigger, "from": e.from_state, "to": e.to_state,
            "actor": e.actor, "role": e.role, "at": iso(e.at), "recorded_at": iso(e.recorded_at),
            "data": shown(e.data), "workflow": e.workflow, "workflow_version": e.workflow_version,
            "prev_hash": e.prev_hash, "hash": e.hash}


def rung_view_document(r) -> dict:
    return {"clock": r.clock, "cycle": r.cycle, "rung": r.rung, "action": r.action, "status": r.status,
            "due_at": r.due_at, "at": r.at, "provisional": r.provisional, "late_seconds": r.late_seconds,
            "linked_case": r.linked_case}


def linked_summary(c: Case) -> dict:
    return {"id": c.id, "workflow": c.workflow, "title": c.title, "state": c.state, "final": c.is_final,
            "deadline": c.deadline}


# -- audit ------------------------------------------------------------------------------------------------------
def case_replay_document(result, now: datetime) -> dict:
    moment = result.as_of or now
    return {"case_id": result.case_id, "as_of": result.as_of, "exists": result.case is not None,
            "case": case_document(result.case, moment) if result.case else None,
            "events": result.events, "total_events": result.total_events,
            "rungs": [rung_view_document(r) for r in result.rungs],
            "linked": [linked_summary(c) for c in result.linked],
            "agrees": result.agrees, "differences": result.differences}


def replay_report_document(result) -> dict:
    return {"ok": not result.disagreements, "cases": result.cases, "events": result.events,
            "disagreements": [{"case_id": case_id, "differences": differences}
                              for case_id, differences in result.disagreements]}


def verify_report_document(result, check=None) -> dict:
    """`audit verify`'s finding; with `check` (an anchor checked against today's log), the anchor's too."""
    doc = {"ok": not result.breaks, "cases": result.tally.cases, "events": result.tally.events,
           "breaks": [{"case_id": b.case_id, "seq": b.seq, "problem": b.problem} for b in result.breaks]}
    if check is not None:
        doc.update(ok=not result.breaks and check.holds, anchor={
            "published": check.published.as_dict(), "today": check.today.as_dict(), "holds": check.holds,
            "differences": check.differences, "by_case": check.by_case, "covers": check.published.covers})
    return doc


def trace_document(case: Case, found: dict) -> dict:
    return {"case": {"id": case.id, "title": case.title, "state": case.state, "workflow": case.workflow,
                     "workflow_version": case.workflow_version, "enterprise": case.enterprise,
                     "region": case.region}, **shown_trace(found)}


def shown_trace(found: dict) -> dict:
    """A trace with the instants inside what was signed shown in Asia/Shanghai."""
    actions = [{**a, "signed": shown(a["signed"]),
                **{k: shown(a[k]) for k in ("escalation", "extension", "migration") if k in a}}
               for a in found["actions"]]
    return {**found, "actions": actions}


# -- escalations ------------------------------------------------------------------------------------------------
def sweep_document(result) -> dict:
    return {"sweep": result.sweep_id, "now": result.now, "dry_run": result.dry_run, **result.counts,
            "rungs": result.fired}


def escalation_list_document(rows: list, lateness: float, now: datetime) -> dict:
    return {"now": now, "count": len(rows), "max_late_seconds": lateness, "rungs": [rung_document(r) for r in rows]}


# -- definitions and users ----------------------------------------------------------------------------------------
def workflow_document(stored, definition) -> dict:
    return {
        "name": stored.name, "version": stored.version, "content_hash": stored.content_hash,
        "file": stored.file_name, "installed_at": stored.installed_at, "title": definition.title,
        "serves": definition.serves, "ledger_stages": dict(definition.stage_states),
        "initial": definition.initial,
        "states": [{"name": s.name, "label": s.label, "final": s.final, "rectified": s.rectified}
                   for s in definition.states],
        "transitions": [{"trigger": t.trigger, "from": list(t.sources), "to": t.dest, "roles": list(t.roles),
                         "requires": list(t.requires), "sets": list(t.sets),
                         "guards": [g.kind for g in t.guards]} for t in definition.transitions],
        "source": stored.source_text,
    }


def workflow_version_document(v) -> dict:
    return {"name": v.name, "version": v.version, "content_hash": v.content_hash, "file": v.file_name,
            "installed_at": v.installed_at}


def migration_document(name: str, to_version: int, dry_run: bool, plans: list) -> dict:
    return {"workflow": name, "to_version": to_version, "dry_run": dry_run, "cases": [
        {"case_id": p.case_id, "from_version": p.from_version, "to_version": p.to_version,
         "from_state": p.from_state, "to_state": p.to_state, "deadline": p.deadline,
         "rungs": [{"clock": r.clock, "rung": r.rung, "due_before": r.before, "due_after": r.after,
                    "status_before": r.status_before, "status_after": r.status_after} for r in p.rung_changes]}
        for p in plans]}


def recalendar_document(digest: str, created: bool, dry_run: bool, recounts: list) -> dict:
    return {"calendar": digest, "new": created, "dry_run": dry_run,
            "cases": [{"case_id": r.case_id, "previous": r.previous, "moved": list(r.moved)} for r in recounts]}


def user_document(actor, created: bool | None = None, *, active: bool | None = None) -> dict:
    doc = {"name": actor.name, "roles": list(actor.roles), "regions": list(actor.regions),
           "enterprise": actor.enterprise}
    if created is not None:
        doc["created"] = created
    if active is not None:
        doc["status"] = "active" if active else "disabled"
    return doc


def installed_document(results: list[tuple[str, int, bool]]) -> list[dict]:
    return [{"name": n, "version": v, "created": c} for n, v, c in results]
