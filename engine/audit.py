"""Audit (责任倒查): verify the hash chains, replay cases, and trace who held a case and who signed what.

`verify_stream` and `trace` are pure functions over events; `Auditor` (*app*) feeds them from the store,
in one snapshot, and holds no SQL of its own.

Who holds a case: the party that must act next, read from the definition rather than kept in a second
table: in each state, the first role named by the first transition out of it (`reported` -> whoever may
`assign`: the supervising department; `assigned`/`rectifying` -> the enterprise, which starts and submits;
`verifying`/`verified` -> the department that verifies and closes). A final state has no holder.
A holding period runs from the event that put the case in a state to the event that moved it on (or to the
end of the trace, for the state it is still in); extensions and escalations do not end it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from typing import Callable, Iterable, Iterator

from engine.case import Case, apply
from engine.definition.model import Definition
from engine.events import ChainBreak, Event, verify_chain
from engine.replay import (
    DefinitionFor, InconsistentLog, RungView, compare, fired_rungs, open_rungs, replay, taken_until,
)

ENGINE_LABELS = {"report": "上报", "extend": "延期", "escalate": "督办升级", "migrate": "版本迁移",
                 "recalendar": "重算工作日"}


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

        def chain(first=first, group=group):
            yield first
            for event, _ in group:
                yield event

        for found in verify_chain(_counted(chain(), tally), head=head):
            yield found
    for case_id, (version, _) in heads_without_events:
        tally.cases += 1
        yield ChainBreak(case_id, 0, f"the case says its last event is #{version} but it has no events at all")


def _counted(events: Iterable[Event], tally: Tally) -> Iterator[Event]:
    for event in events:
        tally.events += 1
        yield event


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
    doc = {"seq": event.seq, "trigger": event.trigger, "label": action_label(definition, event),
           "actor": event.actor, "role": event.role, "from": event.from_state, "to": event.to_state,
           "to_label": _state_label(definition, event.to_state),
           "at": event.at, "recorded_at": event.recorded_at, "signed": signed, "hash": event.hash}
    if event.trigger == "extend":
        doc["extension"] = {k: data.get(k) for k in ("clock", "previous", "until", "reason")}
    if event.trigger == "escalate":
        doc["escalation"] = {k: data.get(k) for k in ("rung", "label", "action", "status", "level", "kind_label",
                                                     "clock", "cycle", "due_at", "late_seconds", "linked_case",
                                                     "flags") if k in data}
    if event.trigger == "migrate":
        doc["migration"] = {k: data.get(k) for k in ("from_version", "to_version", "map")}
    return doc


def _state_label(definition: Definition, state: str) -> str:
    spec = definition.state(state)
    return spec.label if spec and spec.label else ""


def trace(events: Iterable[Event], definition_for: DefinitionFor, *, until: datetime) -> dict:
    """The responsibility trace of one case up to `until`: actions, people, holding periods, missed deadlines.

    Folded with `apply` and no consistency checks: the trace describes what the log says even when it does not
    verify (the dossier shows the verification beside it).
    """
    actions, periods, missed = [], [], []
    case: Case | None = None
    for event in taken_until(events, until):
        definition = definition_for(event.workflow, event.workflow_version)
        if case is not None:
            missed += _deadline_passed(case, periods, start=case.updated_at, end=event.at)
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
        missed += _deadline_passed(case, periods, start=case.updated_at, end=until)
    for period in periods:
        period["open"] = period["until"] is None
        period["seconds"] = ((period["until"] or until) - period["since"]).total_seconds()
    return {"actions": actions, "people": _people(actions), "holding": periods,
            "held_for": _held_for(periods), "missed": missed}


def _deadline_passed(case: Case, periods: list[dict], *, start: datetime, end: datetime) -> list[dict]:
    """The deadline in force, if it passed between `start` and `end` while the case was open."""
    due = case.deadline_at
    if case.is_final or due is None or not start <= due < end:
        return []
    holder = periods[-1]["holder"] if periods and periods[-1]["until"] is None else None
    return [{"kind": "deadline", "what": "deadline", "deadline": case.deadline, "due_at": due, "at": due,
             "state": case.state, "holder": holder, "status": "passed"}]


def _rung_missed(event: Event, period: dict | None) -> dict:
    data = event.data
    due = data.get("due_at")
    return {"kind": "rung", "what": data.get("rung"), "action": data.get("action"),
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


# -- the app: feeding the pure functions from the store -----------------------------------------------------------
@dataclass(frozen=True)
class CaseReplay:
    case_id: str
    as_of: datetime | None
    case: Case | None            # as of the moment; None when not reported yet then (or the log is inconsistent)
    events: int                  # events in force at the moment
    total_events: int
    rungs: list[RungView]
    linked: list[Case]           # linked cases as they stood at the moment
    differences: list[str]       # stored projection against the replay of the whole log; empty when they agree

    @property
    def agrees(self) -> bool:
        return not self.differences


@dataclass
class ReplayReport:
    cases: int = 0
    events: int = 0
    disagreements: list[tuple[str, list[str]]] = field(default_factory=list)


@dataclass
class VerifyReport:
    tally: Tally
    breaks: list[ChainBreak]


class Auditor:
    """Runs audits over a `HazardService`'s store and definitions, each in one read snapshot."""

    def __init__(self, service, *, batch: int = 500):
        self.service = service
        self.batch = batch  # stored cases compared per query in `replay_all`

    def _definitions(self, conn) -> DefinitionFor:
        return lambda workflow, version: self.service.loaded(conn, workflow, version).definition

    def count_cases(self) -> int:
        from engine.store import audit as audit_store
        with self.service.store.read() as conn:
            return audit_store.count_cases(conn)

    def count_events(self) -> int:
        from engine.store import audit as audit_store
        with self.service.store.read() as conn:
            return audit_store.count_events(conn)

    def replay_case(self, case_id: str, *, as_of: datetime | None = None) -> CaseReplay:
        from engine.store import audit as audit_store
        from engine.store import cases as case_store

        with audit_store.snapshot(self.service.store) as conn:
            stored = case_store.load(conn, case_id)
            log = audit_store.events_of(conn, case_id)
            definitions = self._definitions(conn)
            differences, view = _replayed_against(stored, log, definitions, as_of)
            moment = as_of or self.service.clock.now()
            rungs = fired_rungs(log, as_of=as_of)
            if view is not None:
                run = self.service.loaded(conn, view.workflow, view.workflow_version)
                rungs += open_rungs(view, run.definition, run.calendar, as_of=moment)
            linked = []
            for linked_id in audit_store.linked_ids(conn, case_id):
                try:
                    found = replay(audit_store.events_of(conn, linked_id), definitions, as_of=as_of)
                except InconsistentLog:
                    found = case_store.load(conn, linked_id)  # shown as stored; its own replay names the problem
                if found is not None:
                    linked.append(found)
        in_force = sum(1 for _ in taken_until(log, as_of))
        return CaseReplay(case_id, as_of, view, in_force, len(log), rungs, linked, differences)

    def replay_all(self, *, on_case: Callable[[], None] | None = None) -> ReplayReport:
        """Replay every case and compare it with its stored row; every disagreement is collected."""
        from engine.store import audit as audit_store
        from engine.store import cases as case_store

        report = ReplayReport()
        with audit_store.snapshot(self.service.store) as conn:
            definitions = self._definitions(conn)
            pending: list[tuple[str, Case | None, list[str]]] = []

            def flush():
                stored = case_store.load_many(conn, [case_id for case_id, _, _ in pending])
                for case_id, replayed, problems in pending:
                    if case_id not in stored:
                        problems = problems + ["events of a case that has no case row"]
                    elif replayed is not None:
                        problems = problems + compare(stored[case_id], replayed)
                    if problems:
                        report.disagreements.append((case_id, problems))
                pending.clear()

            for case_id, log in groupby(audit_store.all_events(conn), key=lambda e: e.case_id):
                counted = _counting(log, report)
                try:
                    pending.append((case_id, replay(counted, definitions), []))
                except InconsistentLog as exc:
                    pending.append((case_id, None, [exc.message]))
                    for _ in counted:  # the rest of its log still counts as read
                        pass
                report.cases += 1
                if on_case:
                    on_case()
                if len(pending) >= self.batch:
                    flush()
            flush()
            for case_id, (version, _) in audit_store.heads_without_events(conn):
                report.cases += 1
                report.disagreements.append((case_id, [f"the case is at version {version} but has no events"]))
                if on_case:
                    on_case()
        return report

    def verify(self, *, on_events: Callable[[int], None] | None = None) -> VerifyReport:
        from engine.store import audit as audit_store

        tally, breaks = Tally(), []
        with audit_store.snapshot(self.service.store) as conn:
            rows = audit_store.events_with_heads(conn)
            if on_events:
                rows = _reporting(rows, on_events)
            breaks = list(verify_stream(rows, heads_without_events=audit_store.heads_without_events(conn),
                                        tally=tally))
        return VerifyReport(tally, breaks)

    def case_file(self, case_id: str) -> "CaseFile":
        """Everything a trace or a dossier reads about one case, from one snapshot."""
        from engine.store import audit as audit_store
        from engine.store import cases as case_store

        with audit_store.snapshot(self.service.store) as conn:
            stored = case_store.load(conn, case_id)
            log = audit_store.events_of(conn, case_id)
            linked = [(case_store.load(conn, i), audit_store.events_of(conn, i))
                      for i in audit_store.linked_ids(conn, case_id)]
            runs = {}
            for event in log + [e for _, events in linked for e in events]:
                key = (event.workflow, event.workflow_version)
                if key not in runs:
                    runs[key] = self.service.loaded(conn, *key)
            current = runs.get((stored.workflow, stored.workflow_version)) \
                or self.service.loaded(conn, stored.workflow, stored.workflow_version)
        return CaseFile(stored, log, linked, lambda workflow, version: runs[(workflow, version)].definition,
                        current.calendar)

    def trace_case(self, case_id: str, *, as_of: datetime | None = None) -> tuple[Case, dict]:
        found = self.case_file(case_id)
        return found.stored, trace(found.log, found.definition_for, until=as_of or self.service.clock.now())

    def dossier(self, case_id: str) -> dict:
        from engine.dossier import dossier_data

        return dossier_data(self.case_file(case_id), generated_at=self.service.clock.now())


@dataclass(frozen=True)
class CaseFile:
    stored: Case
    log: list[Event]
    linked: list[tuple[Case, list[Event]]]
    definition_for: DefinitionFor
    calendar: object  # the WorkCalendar of the case's current definition version


def _replayed_against(stored: Case, log: list[Event], definitions: DefinitionFor, as_of: datetime | None):
    """(differences between the stored row and the full replay, the case as of `as_of`)."""
    try:
        full = replay(log, definitions)
    except InconsistentLog as exc:
        return [exc.message], None
    differences = compare(stored, full) if full is not None else ["the case has no events"]
    return differences, full if as_of is None else replay(log, definitions, as_of=as_of)


def _counting(events: Iterable[Event], report: ReplayReport) -> Iterator[Event]:
    for event in events:
        report.events += 1
        yield event


def _reporting(rows, on_events: Callable[[int], None], every: int = 10000):
    count = 0
    for row in rows:
        yield row
        count += 1
        if count == every:
            on_events(count)
            count = 0
    if count:
        on_events(count)
