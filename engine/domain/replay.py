"""Rebuild a case from its events under the definition version each event ran with; the case as of any time.

`replay` checks every event against that definition before folding it with `engine.domain.case.apply` (the very
fold the service writes the projection with), so a log that no definition could have produced is reported,
not silently folded:
- the first event is `report`, into the definition's initial state; every later one starts from the state
  the previous one left (`from_state`), in the same workflow and, until a `migrate`, the same version;
- a workflow transition is one the definition's machine allows from that state with that trigger, leading
  to the recorded `to_state`, fired in a role the transition allows (the same `Machine` that decided it),
  or back-filled from a ledger: role `import` with the `import` source (file, sheet, row) in its data;
- no event takes effect before the one it follows (the service refuses such back-filling);
- engine triggers (`extend`, `escalate`, `recalendar`) keep the state; `migrate` moves the case to the
  version it names and to the state its map gives.

`as_of` takes events in sequence order up to the first whose effective time is after it: an event cannot
take effect before the one it follows, and a prefix is always a history some register really showed.
Pure: no database, no wall clock; definitions come from `definition_for(workflow, version)`.
"""
from __future__ import annotations

from dataclasses import dataclass, fields as dataclass_fields
from datetime import datetime
from typing import Callable, Iterable

from engine.domain.calendar import WorkCalendar
from engine.domain.case import UNBLOCKING_TRIGGERS, Case, apply
from engine.domain.clock import iso_seconds
from engine.domain.escalation.decisions import key as proposal_key
from engine.domain.definition.model import EXTENSION, Definition
from engine.domain.enterprises import acts_for
from engine.domain.errors import ReplayMismatch
from engine.domain.escalation import ladder
from engine.domain.events import Event
from engine.domain.machine import machine_for

DefinitionFor = Callable[[str, int], Definition]
STATE_KEEPING_TRIGGERS = frozenset({"extend", "escalate", "recalendar", "decide", "void", "correct", "attach",
                                   "serve_notice", "notify"})
# A ledger row back-filled by `hazard import`: signed by the importing user in this role, whatever roles the
# transition names, and only with its source in the data (engine/ledger/app_import.py).
IMPORT_ROLE = "import"
# Clock timestamps are ISO text written from whatever zone the event's time carried (the system clock gives
# UTC, --now gives +08:00): two texts for one instant are the same fact, so they are compared as instants.
_CLOCK_INSTANTS = ("started_at", "paused_at")


class InconsistentLog(ReplayMismatch):
    """An event that the definition version it ran with could not have produced; names the case and seq."""

    def __init__(self, message: str, *, case_id: str, seq: int):
        super().__init__(f"{case_id} #{seq}: {message}")
        self.case_id = case_id
        self.seq = seq
        self.problem = message


def taken_until(events: Iterable[Event], as_of: datetime | None) -> Iterable[Event]:
    """The events in force at `as_of`: those effective by then, in sequence order. A person's events take effect
    in sequence order; only the scheduler's (`escalate`) may stand before a back-filled record of an earlier
    moment, and such an escalation is left out while the record is in."""
    for event in events:
        if as_of is None or event.at <= as_of:
            yield event


def replay(events: Iterable[Event], definition_for: DefinitionFor, *, as_of: datetime | None = None,
           standing=None) -> Case | None:
    """The case folded from `events` (in seq order); None when it had not been reported yet at `as_of`. With
    `standing` (engine.domain.grants.Standing, the users' log over time), each event's signer is checked too."""
    case: Case | None = None
    key, definition = None, None
    for event in events if as_of is None else taken_until(events, as_of):
        if (event.workflow, event.workflow_version) != key:  # one look-up per version, not per event
            key = (event.workflow, event.workflow_version)
            definition = definition_for(*key)
        check_event(case, event, definition, gaps=as_of is not None)
        if standing is not None:
            problem = signer_problem(case, event, definition, standing)
            if problem:
                raise InconsistentLog(problem, case_id=event.case_id, seq=event.seq)
        case = apply(case, event, definition)
    return case


SYSTEM_ACTOR = "scheduler"
# Steps the engine records without a region check of the actor: a migration or a recalendar by the committee.
_UNREGIONED = frozenset({"migrate", "recalendar"})


def signer_problem(case: Case | None, event: Event, definition: Definition, standing) -> str | None:
    """Who signed `event` against who the users' log says they were when it was recorded: the scheduler only
    for escalations and the cases it opens; anyone else a user added and not disabled by then, in a role they
    held, in a region that covers the case wherever the step is bound to the actor's region, and, when bound to
    an enterprise then, on a case of that enterprise (every step: the binding holds whatever the workflow says)."""
    if event.actor == SYSTEM_ACTOR or event.role == "system":
        opened = event.trigger == "report" and (event.data.get("case") or {}).get("parent_id")
        # The deliverer records what it told whom (`notify`) as the scheduler does its escalations.
        if event.actor == SYSTEM_ACTOR and event.role == "system" and (event.trigger in ("escalate", "notify")
                                                                        or opened):
            return None
        return f"'{event.trigger}' signed by {event.actor} as {event.role}, which only the scheduler's escalations are"
    who = standing.at(event.actor, event.recorded_at)
    if who is None:
        return f"'{event.trigger}' signed by '{event.actor}', who was not a user then"
    roles, regions, active, enterprise = who
    if not active:
        return f"'{event.trigger}' signed by '{event.actor}', who was disabled then"
    named = (event.data.get("case") or {}).get("enterprise") if case is None else case.enterprise
    fields = (event.data.get("fields") or {}) if case is None else case.fields
    if not acts_for(enterprise, named, fields):
        return f"'{event.trigger}' signed by '{event.actor}', who acted for {enterprise} only then, on a case of " \
               f"{named or 'another enterprise'}"
    if event.role == IMPORT_ROLE:
        return None  # the importing user, in whatever role they held (the import checks which may import)
    if event.role not in roles:
        return f"'{event.trigger}' signed by '{event.actor}' as {event.role}, a role they did not hold then " \
               f"({', '.join(roles) or 'none'})"
    region = (event.data.get("case") or {}).get("region") if case is None else case.region
    if region and event.trigger not in _UNREGIONED and _regioned(case, event, definition) and \
            not region.startswith(tuple(regions)):  # any of them
        return f"'{event.trigger}' signed by '{event.actor}', whose region then ({', '.join(regions)}) did not cover " \
               f"{region}"
    return None


def _regioned(case: Case | None, event: Event, definition: Definition) -> bool:
    """Whether the step binds its signer to the case's region (its definition's `in_region` guard): the
    definition's answer for the trigger from the case's state, worked out once per definition version."""
    key = (event.trigger, case.state if case is not None else None)
    known = definition._index.setdefault("regioned", {})
    found = known.get(key)
    if found is None:
        found = known[key] = _bound_to_region(case, event, definition)
    return found


def _bound_to_region(case: Case | None, event: Event, definition: Definition) -> bool:
    if event.trigger == "decide":
        return True
    if event.trigger == "report":
        command = definition.report
    elif event.trigger == "extend":
        command = definition.extend
    elif event.trigger in ("void", "correct"):
        command = definition.corrections(event.trigger)
    else:
        command = definition.transition(case.state, event.trigger) if case is not None else None
    return command is not None and any(g.kind == "in_region" for g in command.guards)


def check_event(case: Case | None, event: Event, definition: Definition, *, gaps: bool = False) -> None:
    """Raise InconsistentLog unless `event` can follow `case` under `definition` (`gaps`: escalations left out
    of an as-of view may leave holes in the sequence)."""
    def fail(message: str):
        raise InconsistentLog(message, case_id=event.case_id, seq=event.seq)

    if case is None:
        if event.trigger != "report" or event.seq != 1:
            fail(f"the log starts with '{event.trigger}' #{event.seq}, not with the report #1")
        if event.to_state != definition.initial:
            fail(f"reported into '{event.to_state}', but '{definition.name}' v{event.workflow_version} starts in "
                 f"'{definition.initial}'")
        return
    if event.case_id != case.id:
        fail(f"event of case {event.case_id} in the log of {case.id}")
    if event.seq != case.version + 1 and not (gaps and event.seq > case.version):
        fail(f"sequence #{event.seq} follows #{case.version}")
    if event.from_state != case.state:
        fail(f"'{event.trigger}' recorded from '{event.from_state}' but the case was in '{case.state}'")
    if event.workflow != case.workflow:
        fail(f"workflow '{event.workflow}' in a '{case.workflow}' case")
    # The scheduler's escalations do not bind a person's back-filled record of an earlier moment (acted_at);
    # nothing takes effect before a person's event it follows, and no escalation before any event it follows.
    bound = case.updated_at if event.trigger in UNBLOCKING_TRIGGERS else (case.acted_at or case.updated_at)
    if bound is not None and event.at < bound:
        fail(f"takes effect at {iso_seconds(event.at)}, before the event it follows ({iso_seconds(bound)})")
    if case.voided_at is not None:
        fail(f"'{event.trigger}' after the case was voided")
    if event.trigger == "migrate":
        _check_migration(case, event, definition, fail)
        return
    if event.workflow_version != case.workflow_version:
        fail(f"ran under version {event.workflow_version} while the case was on version {case.workflow_version} "
             "with no migrate event between")
    if event.trigger == "report":
        fail("a second report event")
    if event.trigger in STATE_KEEPING_TRIGGERS:
        if event.to_state != case.state:
            fail(f"'{event.trigger}' changed the state to '{event.to_state}'; it keeps the state")
        clock = event.data.get("clock")
        if clock is not None and definition.clock(clock) is None:
            fail(f"'{event.trigger}' on clock '{clock}', which version {event.workflow_version} does not have")
        problem = people_check(case, event, definition)
        if problem:
            fail(problem)
        return
    to_state = _fire(definition, case.state, event.trigger)
    if to_state is None:
        fail(f"'{event.trigger}' is not a transition from '{case.state}' in '{definition.name}' "
             f"v{event.workflow_version}")
    if to_state != event.to_state:
        fail(f"'{event.trigger}' from '{case.state}' leads to '{to_state}', the log says '{event.to_state}'")
    transition = definition.transition(case.state, event.trigger)
    if event.role not in transition.roles and not is_imported(event):
        fail(f"'{event.trigger}' fired in role '{event.role}', which it does not allow ({', '.join(transition.roles)})")


def people_check(case: Case, event: Event, definition: Definition) -> str | None:
    """What is wrong with an escalation, a decision, a voiding or a correction under `definition`, if anything:
    a sanction the definition leaves to people must have been proposed, not fired, and decided by a role it
    names, on a proposal (or an extension application) still awaiting a decision, never by the applicant."""
    data = event.data
    if event.trigger == "escalate":
        rung = definition.rung(data.get("clock"), data.get("rung"))
        if rung is None:
            return f"escalation of rung '{data.get('rung')}', which version {event.workflow_version} does not have"
        status = data.get("status", "fired")
        if rung.decided_by and status == "fired":
            return f"rung '{rung.name}' fired by the scheduler, but it is decided by {', '.join(rung.decided_by)}"
        if not rung.decided_by and status == "proposed":
            return f"rung '{rung.name}' proposed, but the definition leaves it to the scheduler"
        return None
    if event.trigger == "decide":
        if data.get("decision") not in ("approve", "decline"):
            return f"a decision '{data.get('decision')}' (approve or decline)"
        if data.get("rung") == EXTENSION:
            pending = case.decisions.get("extension")
            roles = definition.extend.decided_by if definition.extend else ()
            if pending is None:
                return "an extension decided with no application pending"
            if event.actor == pending.get("applied_by"):
                return f"the extension decided by its applicant {event.actor}"
        else:
            proposal = (case.decisions.get("proposals") or {}).get(
                proposal_key(data.get("clock"), data.get("cycle"), data.get("rung")))
            rung = definition.rung(data.get("clock"), data.get("rung"))
            roles = rung.decided_by if rung else ()
            if proposal is None or proposal["status"] != "proposed":
                return f"rung '{data.get('rung')}' decided with no proposal of it pending"
        if event.role not in roles:
            return f"decided in role '{event.role}', which may not decide it ({', '.join(roles) or 'nobody'})"
        return None
    if event.trigger == "serve_notice":
        from engine.domain.notices import SERVE_ROLES
        if event.role not in SERVE_ROLES:
            return f"a notice served in role '{event.role}', which may not serve ({', '.join(SERVE_ROLES)})"
        return None
    if event.trigger in ("void", "correct"):
        roles = definition.corrections(event.trigger).roles
        if event.role not in roles:
            return f"'{event.trigger}' in role '{event.role}', which may not ({', '.join(roles)})"
    return None


def is_imported(event: Event) -> bool:
    """A back-filled ledger row's event: the import role together with where it came from."""
    return event.role == IMPORT_ROLE and isinstance(event.data.get("import"), dict)


def _fire(definition: Definition, state: str, trigger: str) -> str | None:
    """Where the definition's machine takes `trigger` from `state`, or None when it refuses."""
    return machine_for(definition).follows(state, trigger)


def _check_migration(case: Case, event: Event, definition: Definition, fail) -> None:
    data = event.data
    if data.get("from_version") != case.workflow_version:
        fail(f"migration from version {data.get('from_version')} of a case on version {case.workflow_version}")
    if data.get("to_version") != event.workflow_version:
        fail(f"migration to version {data.get('to_version')} recorded as version {event.workflow_version}")
    mapped = (data.get("map") or {}).get(case.state, case.state)
    if event.to_state != mapped:
        fail(f"migration maps '{case.state}' to '{mapped}', the log says '{event.to_state}'")
    if definition.state(event.to_state) is None:
        fail(f"migrated to '{event.to_state}', which version {event.workflow_version} does not have")


# -- comparing with the stored projection ---------------------------------------------------------------------
_CASE_FIELDS = tuple(spec.name for spec in dataclass_fields(Case))


def compare(stored: Case, replayed: Case) -> list[str]:
    """Every field on which the stored projection and the replay disagree, as `name: stored X, replayed Y`."""
    a, b = stored.__dict__, replayed.__dict__
    if all(a[name] == b[name] for name in _CASE_FIELDS):
        return []  # the common case, without the clocks' instants parsed
    differences = []
    for name in _CASE_FIELDS:
        left, right = a[name], b[name]
        if name == "clocks":
            left, right = _clock_instants(left), _clock_instants(right)
        if left != right:
            differences.append(f"{name}: stored {_show(a[name])}, replayed {_show(b[name])}")
    return differences


def _clock_instants(clocks: dict) -> dict:
    result = {}
    for name, state in clocks.items():
        state = dict(state)
        for key in _CLOCK_INSTANTS:
            if isinstance(state.get(key), str):
                try:
                    state[key] = datetime.fromisoformat(state[key])
                except ValueError:
                    pass  # not an instant: compared as written
        result[name] = state
    return result


def _show(value) -> str:
    return value.isoformat() if isinstance(value, datetime) else repr(value)


# -- escalation rungs as of a moment ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RungView:
    """A rung as an auditor sees it: fired or skipped (with when), or still open with its due time."""

    clock: str
    cycle: int
    rung: str
    action: str
    status: str                 # fired, skipped; or pending, due (pending and past due), paused, cancelled
    due_at: datetime | None
    at: datetime | None = None  # when it was fired or skipped
    provisional: bool = False
    late_seconds: float | None = None
    linked_case: str | None = None


def fired_rungs(events: Iterable[Event], *, as_of: datetime | None = None,
                decisions: dict | None = None) -> list[RungView]:
    """The rungs the escalate events in force at `as_of` fired, proposed or skipped; a proposal shows what became
    of it by then when the case's `decisions` as of that moment are given."""
    outcome = {(p["clock"], p["cycle"], p["rung"]): p for p in ((decisions or {}).get("proposals") or {}).values()}
    result = []
    for event in taken_until(events, as_of):
        if event.trigger != "escalate":
            continue
        data = event.data
        due = data.get("due_at")
        proposal = outcome.get((data["clock"], data["cycle"], data["rung"])) or {}
        result.append(RungView(data["clock"], data["cycle"], data["rung"], data.get("action", ""),
                               proposal.get("status") or data.get("status", "fired"),
                               datetime.fromisoformat(due) if due else None, event.at,
                               late_seconds=data.get("late_seconds"),
                               linked_case=proposal.get("linked_case") or data.get("linked_case")))
    return result


def open_rungs(case: Case, definition: Definition, calendar: WorkCalendar, *, as_of: datetime) -> list[RungView]:
    """The case's rungs not yet fired at `as_of`, with their due times; `due` means past due and unfired."""
    result = []
    for planned in ladder.plan(definition, case.clocks, case.fields, case.fired, calendar):
        status = planned.status
        if status == "pending" and planned.due_at is not None and planned.due_at <= as_of:
            status = "due"
        result.append(RungView(planned.clock, planned.cycle, planned.rung, planned.action, status, planned.due_at,
                               provisional=planned.provisional))
    return result
