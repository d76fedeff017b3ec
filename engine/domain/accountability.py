"""Audit (责任倒查): verify the hash chains, replay cases, and trace who held a case and who signed what.

`verify_stream` and `trace` are pure functions over events; `engine/app/auditor.py` (*app*) feeds them from
the store, in one snapshot.

Who holds a case: the party that must act next, read from the definition rather than kept in a second
table: in each state, the first role named by the first transition out of it (`reported` -> whoever may
`assign`: the supervising department; `assigned`/`rectifying` -> the enterprise, which starts and submits;
`verifying`/`verified` -> the department that verifies and closes). A final state has no holder.
A holding period runs from the event that put the case in a state to the event that moved it on (or to the
end of the trace, for the state it is still in); extensions and escalations do not end it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Iterable, Iterator

from engine.domain.case import JUDGED, Case, apply
from engine.domain.clock import UTC
from engine.domain.definition.model import Definition
from engine.domain.events import ChainBreak, Event, verify_chain
from engine.domain.replay import DefinitionFor, taken_until

ENGINE_LABELS = {"report": "上报", "extend": "延期", "escalate": "督办升级", "migrate": "版本迁移",
                 "recalendar": "重算工作日", "decide": "处置决定", "void": "作废", "correct": "更正",
                 "attach": "上传佐证", "serve_notice": "文书送达",
                 "notify": "通知送达"}


# -- chain verification ---------------------------------------------------------------------------------------
@dataclass
class Tally:
    cases: int = 0
    events: int = 0


def verify_stream(rows: Iterable[tuple[Event, tuple[int, str] | None]], *,
                  heads_without_events: Iterable[tuple[str, tuple[int, str]]] = (),
                  tally: Tally | None = None) -> Iterator[ChainBreak]:
    """Every break in every chain; `rows` are (event, its case row's head) by case then seq, streamed.

    Memory stays constant: one case's chain is checked while it streams past, then forgotten.
    """
    tally = tally if tally is not None else Tally()
    for case_id, group in groupby(rows, key=lambda row: row[0].case_id):
        first, head = next(group)
        tally.cases += 1
        if head is None:
            yield ChainBreak(case_id, first.seq, "events of a case that has no case row (removed, or an event's "
                                                 "case_id was edited)")

        def chain(first=first, group=group):  # counted as they stream past
            tally.events += 1
            yield first
            for event, _ in group:
                tally.events += 1
                yield event

        for found in verify_chain(chain(), head=head):
            yield found
    for case_id, (version, _) in heads_without_events:
        tally.cases += 1
        yield ChainBreak(case_id, 0, f"the case says its last event is #{version} but it has no events at all")


# -- responsibility trace ---------------------------------------------------------------------------------------
def holder_of(definition: Definition, state: str) -> str | None:
    """The party expected to act next in `state`: the first role of the first transition out of it."""
    for transition in definition.transitions:
        if state in transition.sources and transition.roles:
            return transition.roles[0]
    return None


def action_label(definition: Definition, event: Event) -> str:
    if event.trigger in ENGINE_LABELS:
        return ENGINE_LABELS[event.trigger]
    transition = definition.transition(event.from_state or "", event.trigger)
    return transition.label if transition and transition.label else event.trigger


def action_document(event: Event, definition: Definition) -> dict:
    """One event as the trace shows it: who, in which role, what they signed, when (effective and recorded)."""
    data = event.data
    signed = dict(data.get("fields") or {})
    if event.trigger == "report":
        signed = {**{k: v for k, v in data["case"].items()}, **signed}
    signed.update(_ruled(event))
    if data.get("backfill"):  # a paper record the department entered at its own time, and why
        signed["backfill"] = data["backfill"].get("reason")
    if data.get(JUDGED):  # a back-dated step judged at its recording
        signed["judged_at"] = event.recorded_at.astimezone(UTC).isoformat()
    doc = {"seq": event.seq, "trigger": event.trigger, "label": action_label(definition, event),
           "actor": event.actor, "role": event.role, "from": event.from_state, "to": event.to_state,
           "to_label": _state_label(definition, event.to_state),
           "at": event.at, "recorded_at": event.recorded_at, "signed": signed, "hash": event.hash}
    if event.trigger == "extend":
        doc["label"] = "延期申请" if data.get("application") else doc["label"]
        doc["extension"] = {k: data.get(k) for k in ("clock", "previous", "until", "reason", "application",
                                                     "decide_by") if k in data or k in ("previous", "until")}
    if event.trigger == "decide":
        doc["decision"] = {k: data.get(k) for k in ("rung", "label", "action", "decision", "reason", "until", "flags",
                                                    "linked_case") if data.get(k) is not None}
    if event.trigger == "correct":
        doc["correction"] = {"changes": data.get("changes"), "reason": data.get("reason")}
    if event.trigger == "void":
        doc["void"] = {"reason": data.get("reason")}
    if event.trigger == "escalate":
        doc["escalation"] = {k: data.get(k) for k in ("rung", "label", "action", "status", "level", "kind_label",
                                                     "clock", "cycle", "due_at", "late_seconds", "linked_case",
                                                     "flags", "decided_by", "reason") if k in data}
    if event.trigger == "migrate":
        doc["migration"] = {k: data.get(k) for k in ("from_version", "to_version", "map")}
    if isinstance(data.get("notice"), dict):  # the step issued a numbered notice (文书)
        doc["notice"] = {k: data["notice"].get(k) for k in ("kind", "number", "sha256")}
    if event.trigger == "serve_notice" and isinstance(data.get("served"), dict):
        doc["service"] = dict(data["served"])
    if event.trigger == "notify" and isinstance(data.get("notification"), dict):  # who was told, when, how
        doc["notification"] = {k: data["notification"].get(k) for k in ("recipient", "channel", "status",
                                                                         "sent_at", "attempts", "error", "seq")
                               if data["notification"].get(k) is not None}
    return doc


def _ruled(event: Event) -> dict:
    """What a person signed with a decision, a voiding, a correction or an extension: the ruling itself."""
    data = event.data
    if event.trigger == "decide":
        signed = {"rung": data.get("rung"), "decision": data.get("decision")}
        if data.get("until"):
            signed["until"] = data["until"]
        return {**signed, "reason": data.get("reason")}
    if event.trigger == "correct":
        changes = data.get("changes") or {}
        return {**{name: f"{c.get('old')} → {c.get('new')}" for name, c in changes.items()}, "reason": data.get("reason")}
    if event.trigger == "void":
        return {"void": True, "reason": data.get("reason")}
    if event.trigger == "extend":
        return {"until": data.get("until"), "reason": data.get("reason")}
    return {}


def _state_label(definition: Definition, state: str) -> str:
    spec = definition.state(state)
    return spec.label if spec and spec.label else ""


def trace(events: Iterable[Event], definition_for: DefinitionFor, *, until: datetime) -> dict:
    """The responsibility trace of one case up to `until`: actions, people, holding periods, missed deadlines.

    Folded with `apply` and no consistency checks: the trace describes what the log says even when it does not
    verify (the dossier shows the verification beside it). A deadline is missed from the moment the case is
    overdue by `Case.overdue` (the register's and the ladder's definition) until it stops being so, whether it
    passed while someone held the case, before it was assigned, or was already past when it was set; each
    stretch names who held the case from that moment and for how long.
    """
    actions, periods, missed = [], [], []
    case: Case | None = None
    stretch: list = [None]  # the overdue stretch still running, if any

    def interval(start: datetime, end: datetime) -> None:
        begins = _overdue_from(case, start, end)
        if stretch[0] is not None and begins != start:
            stretch[0]["until"] = start
            stretch[0] = None
        if stretch[0] is None and begins is not None:
            if begins == start and case.due_at < start and not any(m["kind"] == "deadline" for m in missed):
                # A deadline already past when it was set (a ledger copied late, a date mistyped) was missed
                # when it passed, not when it was written down: the case is late from then, held by whoever
                # held it then.
                begins = max(case.due_at, case.found_at or case.due_at)
            holder = _holder_at(periods, begins)
            stretch[0] = {"kind": "deadline", "what": "deadline", "deadline": case.deadline, "due_at": case.due_at,
                          "at": begins, "until": None, "state": case.state, "holder": holder, "status": "passed"}
            missed.append(stretch[0])

    for event in taken_until(events, until):
        definition = definition_for(event.workflow, event.workflow_version)
        if case is not None and event.at >= case.updated_at:
            interval(case.updated_at, event.at)
        elif case is not None and stretch[0] is not None and stretch[0]["at"] >= event.at:
            # A person's record of an earlier moment, back-filled after the scheduler's escalation: the deadline
            # counted as missed from after that moment is judged again from the record on.
            missed.remove(stretch[0])
            stretch[0] = None
        moved = case is None or event.to_state != case.state
        case = apply(case, event, definition)
        actions.append(action_document(event, definition))
        if moved:
            if periods and periods[-1]["until"] is None:
                periods[-1].update(until=event.at, released_by=event.actor, released_with=event.trigger)
            holder = None if case.is_final else holder_of(definition, case.state)
            if holder is not None:
                periods.append({"state": case.state, "state_label": _state_label(definition, case.state),
                                "holder": holder,
                                "since": event.at, "until": None, "released_by": None, "released_with": None})
        if event.trigger == "escalate":
            missed.append(_rung_missed(event, periods[-1] if periods and periods[-1]["until"] is None else None))
    if case is not None:
        interval(case.updated_at, until)
        outcome = {(p["clock"], p["cycle"], p["rung"]): p["status"]
                   for p in (case.decisions.get("proposals") or {}).values()}
        for entry in missed:
            if entry["kind"] == "rung" and entry.get("key") in outcome:
                entry["status"] = outcome[entry["key"]]
    for entry in missed:
        entry.pop("key", None)
    for period in periods:
        period["open"] = period["until"] is None
        period["seconds"] = ((period["until"] or until) - period["since"]).total_seconds()
    for entry in missed:
        if entry["kind"] == "deadline":
            _holders_while_overdue(entry, periods, until)
    missed.sort(key=lambda m: m["at"])
    return {"actions": actions, "people": _people(actions), "holding": periods,
            "held_for": _held_for(periods), "missed": missed, "notices": notices_of(actions)}


def notices_of(actions: list[dict]) -> list[dict]:
    """Each notice the case's steps issued, in issue order: its number, kind, the step that issued it, when, its
    text's seal, and its service (who served it, when, who signed for it, the receipt's SHA-256) or None."""
    found: dict[str, dict] = {}
    for action in actions:
        if "notice" in action:
            notice = action["notice"]
            found[notice["number"]] = {"number": notice["number"], "kind": notice["kind"], "seq": action["seq"],
                                       "issued_by": action["trigger"], "issued_at": action["at"],
                                       "sha256": notice["sha256"], "served": None}
        if "service" in action and action["service"].get("number") in found:
            service = action["service"]
            found[service["number"]]["served"] = {
                "by": service.get("by"), "served_at": service.get("served_at"), "signed_by": service.get("signed_by"),
                "receipt_sha256": (service.get("receipt") or {}).get("sha256"), "seq": action["seq"]}
    return list(found.values())


def _holder_at(periods: list[dict], at: datetime) -> str | None:
    """Who held the case at `at` (the open period when `at` is now)."""
    for period in reversed(periods):
        if period["since"] <= at and (period["until"] is None or at < period["until"]):
            return period["holder"]
    return None


def _overdue_from(case: Case, start: datetime, end: datetime) -> datetime | None:
    """The first moment in [start, end) at which `case` (unchanged in between) is overdue, or None."""
    if case.is_final or case.met_at or case.rectified_at or case.due_at is None:
        return None
    if case.paused_at is not None:
        return start if case.due_at <= case.paused_at else None
    begins = max(start, case.due_at)
    return begins if begins < end or (start == end and case.overdue(end)) else None


def _holders_while_overdue(entry: dict, periods: list[dict], until: datetime) -> None:
    """Who held the case during an overdue stretch, and for how long each."""
    begins, ends = entry["at"], entry["until"] or until
    entry["open"] = entry["until"] is None
    entry["seconds"] = (ends - begins).total_seconds()
    entry["days"] = round(entry["seconds"] / 86400, 1)
    held = []
    for period in periods:
        since, period_end = max(period["since"], begins), min(period["until"] or until, ends)
        if since < period_end or (since == period_end == begins and period["until"] is None):
            held.append({"holder": period["holder"], "state": period["state"], "since": since, "until": period_end,
                         "seconds": (period_end - since).total_seconds()})
    entry["held"] = held


def _rung_missed(event: Event, period: dict | None) -> dict:
    data = event.data
    due = data.get("due_at")
    return {"kind": "rung", "what": data.get("rung"), "action": data.get("action"),
            "key": (data.get("clock"), data.get("cycle"), data.get("rung")),
            "due_at": datetime.fromisoformat(due) if due else None, "at": event.at, "state": event.from_state,
            "holder": period["holder"] if period else None, "status": data.get("status", "fired"),
            "linked_case": data.get("linked_case")}


def _people(actions: list[dict]) -> list[dict]:
    people: dict[str, dict] = {}
    for action in actions:
        person = people.setdefault(action["actor"], {"actor": action["actor"], "roles": [], "triggers": [],
                                                      "seqs": [], "first_at": action["at"], "last_at": None})
        if action["role"] not in person["roles"]:
            person["roles"].append(action["role"])
        person["triggers"].append(action["trigger"])
        person["seqs"].append(action["seq"])
        person["last_at"] = action["at"]
    return list(people.values())


def _held_for(periods: list[dict]) -> list[dict]:
    totals: dict[str, float] = {}
    for period in periods:
        totals[period["holder"]] = totals.get(period["holder"], 0.0) + period["seconds"]
    return [{"holder": holder, "seconds": seconds, "days": round(seconds / 86400, 1)}
            for holder, seconds in totals.items()]


@dataclass(frozen=True)
class CaseFile:
    """Everything a trace or a dossier reads about one case, from one snapshot."""

    stored: Case
    log: list[Event]
    linked: list[tuple[Case, list[Event]]]
    definition_for: DefinitionFor
    calendar: object  # the WorkCalendar of the case's current definition version
